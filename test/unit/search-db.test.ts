import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeCursor, encodeCursor } from '../../src/fhir/search/cursor.js';
import { parseSearch, type SearchQueryString } from '../../src/fhir/search/parse.js';
import { planSearch, SIMPLIFIED_DEFAULT_SORT, type PlanOptions } from '../../src/fhir/search/plan.js';
import type { Tx } from '../../src/store/database.js';
import { readReferenced, readReferencing } from '../../src/store/include.js';
import type { StoredResource } from '../../src/store/resources.js';
import type { SearchQuery } from '../../src/store/search-query.js';
import { compileSearch, type PageForm } from '../../src/store/search-sql.js';
import { runSearch, type SearchResult, type SearchRow } from '../../src/store/search.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// ---------------------------------------------------------------------------------------------
// Fixtures: patients with hand-written index rows, as the indexer would write them

interface PatientFixture {
  id: string;
  created: string;
  updated: string;
  deleted?: boolean;
  names?: string[];
  gender?: string;
  birth?: [low: string, high: string];
  gp?: string;
}

const GENDER_SYSTEM = 'http://hl7.org/fhir/administrative-gender';

const PARTITION_1: PatientFixture[] = [
  { id: 'p1', created: '2024-01-01T00:00:00Z', updated: '2024-01-05T10:00:00.123456Z', names: ['smith', 'john'], gender: 'male', birth: ['1980-05-10T00:00:00.000Z', '1980-05-10T23:59:59.999Z'], gp: 'dr1' },
  { id: 'p2', created: '2024-01-02T00:00:00Z', updated: '2024-01-03T00:00:00Z', names: ['smithson', 'ann'], gender: 'female', birth: ['1990-03-01T00:00:00.000Z', '1990-03-31T23:59:59.999Z'], gp: 'dr2' },
  { id: 'p3', created: '2024-01-03T00:00:00Z', updated: '2024-01-03T00:00:00Z', names: ['angstrom', 'zoe'], gender: 'female', gp: 'dr1' },
  { id: 'p4', created: '2024-01-04T00:00:00Z', updated: '2024-01-02T00:00:00Z', names: ['blacksmith'], gender: 'male', birth: ['2000-12-31T00:00:00.000Z', '2000-12-31T23:59:59.999Z'] },
  { id: 'p5', created: '2024-01-05T00:00:00Z', updated: '2024-01-05T00:00:00Z', deleted: true, names: ['smith'], gender: 'male' },
  { id: 'p6', created: '2024-01-06T00:00:00Z', updated: '2024-01-06T00:00:00Z', names: ['o%_x'] },
];

const PARTITION_2: PatientFixture[] = [
  { id: 'p1', created: '2024-01-01T00:00:00Z', updated: '2024-01-01T00:00:00Z', names: ['smith'], gender: 'female' },
  { id: 'q1', created: '2024-01-02T00:00:00Z', updated: '2024-01-02T00:00:00Z', names: ['smithers'], gender: 'male' },
];

/** A row's fields, read through its accessors (rows format their instants when read). */
function rowFields(row: SearchRow) {
  return { resourceType: row.resourceType, id: row.id, versionId: row.versionId, createdAt: row.createdAt, lastUpdated: row.lastUpdated, content: row.content };
}

async function insertResource(tx: Tx, partition: number, type: string, id: string, fields: { created: string; updated: string; deleted?: boolean; params: string[] }): Promise<void> {
  await tx.query(
    `INSERT INTO resources (partition_id, resource_type, id, version_id, created_at, last_updated, deleted, index_version, index_params, content)
     VALUES ($1, $2, $3, 1, $4, $5, $6, 1, $7, $8)`,
    [partition, type, id, fields.created, fields.updated, fields.deleted ?? false, fields.params, fields.deleted ? null : JSON.stringify({ resourceType: type, id })],
  );
}

async function insertPatient(tx: Tx, partition: number, patient: PatientFixture): Promise<void> {
  const key = [partition, 'Patient', patient.id];
  const params: string[] = [];
  if (patient.names) {
    params.push('name');
    for (const name of patient.names) await tx.query(`INSERT INTO search_string (partition_id, resource_type, resource_id, param, value, raw) VALUES ($1, $2, $3, 'name', $4, $4)`, [...key, name]);
    const sorted = [...patient.names].sort();
    await insertSort(tx, key, 'name', { asc_text: sorted[0], desc_text: sorted[sorted.length - 1] });
  }
  if (patient.gender) {
    params.push('gender');
    await tx.query(`INSERT INTO search_token (partition_id, resource_type, resource_id, param, system, code) VALUES ($1, $2, $3, 'gender', $4, $5)`, [...key, GENDER_SYSTEM, patient.gender]);
  }
  if (patient.birth) {
    params.push('birthdate');
    await tx.query(`INSERT INTO search_date (partition_id, resource_type, resource_id, param, low, high) VALUES ($1, $2, $3, 'birthdate', $4, $5)`, [...key, ...patient.birth]);
    await insertSort(tx, key, 'birthdate', { asc_date: patient.birth[0], desc_date: patient.birth[1] });
  }
  if (patient.gp) {
    params.push('general-practitioner');
    await tx.query(
      `INSERT INTO search_reference (partition_id, resource_type, resource_id, param, target_type, target_id, last_updated) VALUES ($1, $2, $3, 'general-practitioner', 'Practitioner', $4, $5)`,
      [...key, patient.gp, patient.updated],
    );
  }
  await insertResource(tx, partition, 'Patient', patient.id, { created: patient.created, updated: patient.updated, deleted: patient.deleted, params });
}

async function insertSort(tx: Tx, key: unknown[], param: string, columns: Record<string, string>): Promise<void> {
  const names = Object.keys(columns);
  await tx.query(
    `INSERT INTO search_sort (partition_id, resource_type, resource_id, param, ${names.join(', ')}) VALUES ($1, $2, $3, $4, ${names.map((_, i) => `$${i + 5}`).join(', ')})`,
    [...key, param, ...Object.values(columns)],
  );
}

async function insertObservation(tx: Tx, partition: number, id: string, subject: string): Promise<void> {
  const updated = '2024-02-01T00:00:00Z';
  await tx.query(
    `INSERT INTO search_reference (partition_id, resource_type, resource_id, param, target_type, target_id, last_updated) VALUES ($1, 'Observation', $2, 'subject', 'Patient', $3, $4)`,
    [partition, id, subject, updated],
  );
  await insertResource(tx, partition, 'Observation', id, { created: updated, updated, params: ['subject'] });
}

/**
 * More patients than TOTAL_THRESHOLD (and than a walk hashes), in a partition of their own, updated
 * one second apart from 2024-01-01 in the order of n; every one is female, and every tenth male too.
 */
async function insertManyPatients(tx: Tx, partition: number, count: number): Promise<void> {
  await tx.query(
    `INSERT INTO resources (partition_id, resource_type, id, version_id, created_at, last_updated, index_version, content)
     SELECT $1, 'Patient', 'm' || n, 1, now(), timestamptz '2024-01-01T00:00:00Z' + n * interval '1 second', 1, '{}' FROM generate_series(1, $2::integer) AS n`,
    [partition, count],
  );
  await tx.query(
    `INSERT INTO search_token (partition_id, resource_type, resource_id, param, system, code)
     SELECT $1::integer, 'Patient', 'm' || n, 'gender', $3::text, 'female' FROM generate_series(1, $2::integer) AS n
     UNION ALL SELECT $1::integer, 'Patient', 'm' || n, 'gender', $3::text, 'male' FROM generate_series(10, $2::integer, 10) AS n`,
    [partition, count, GENDER_SYSTEM],
  );
  // Birth dates in patient order, but none for every 1000th patient: a sort read from the index.
  await tx.query(
    `INSERT INTO search_sort (partition_id, resource_type, resource_id, param, asc_date, desc_date)
     SELECT $1, 'Patient', 'm' || n, 'birthdate', d, d + interval '1 day' - interval '1 millisecond'
     FROM generate_series(1, $2::integer) AS n, LATERAL (SELECT timestamptz '1950-01-01T00:00:00Z' + n * interval '1 day' AS d) AS day WHERE n % 1000 <> 0`,
    [partition, count],
  );
  // A death date for every patient: a sort whose values never run out.
  await tx.query(
    `INSERT INTO search_sort (partition_id, resource_type, resource_id, param, asc_date, desc_date)
     SELECT $1, 'Patient', 'm' || n, 'death-date', d, d FROM generate_series(1, $2::integer) AS n, LATERAL (SELECT timestamptz '2000-01-01T00:00:00Z' + n * interval '1 hour' AS d) AS day`,
    [partition, count],
  );
  // An Observation per patient: code 'common' on each (more than a walk hashes), 'medium' on every
  // 20th, 'rare' on every 200th; the same values under category, a token a _has lists from
  // search_token (the code's coded references are listed from search_coded_reference, migration 011).
  await tx.query(
    `INSERT INTO search_reference (partition_id, resource_type, resource_id, param, target_type, target_id, last_updated)
     SELECT $1::integer, 'Observation', 'x' || n, 'subject', 'Patient', 'm' || n, timestamptz '2024-02-01T00:00:00Z' + n * interval '1 second' FROM generate_series(1, $2::integer) AS n`,
    [partition, count],
  );
  const codes = `SELECT n, 'common' AS code FROM generate_series(1, $2::integer) AS n
     UNION ALL SELECT n, 'medium' FROM generate_series(20, $2::integer, 20) AS n
     UNION ALL SELECT n, 'rare' FROM generate_series(200, $2::integer, 200) AS n`;
  await tx.query(
    `INSERT INTO search_token (partition_id, resource_type, resource_id, param, system, code)
     SELECT $1::integer, 'Observation', 'x' || c.n, p.param, 'http://loinc.org', c.code FROM (${codes}) AS c CROSS JOIN (VALUES ('code'), ('category')) AS p(param)`,
    [partition, count],
  );
  await tx.query(
    `INSERT INTO search_coded_reference (partition_id, resource_type, resource_id, param, target_type, target_id, system, code)
     SELECT $1::integer, 'Observation', 'x' || c.n, 'subject', 'Patient', 'm' || c.n, 'http://loinc.org', c.code FROM (${codes}) AS c`,
    [partition, count],
  );
}

// ---------------------------------------------------------------------------------------------
// Tests

interface PlanNode { 'Actual Rows': number; 'Actual Loops': number; Plans?: PlanNode[] }

describe('search against PostgreSQL', () => {
  let testDb: TestDatabase;

  before(async () => {
    testDb = await createTestDatabase();
    await testDb.db.transaction(async (tx) => {
      for (const patient of PARTITION_1) await insertPatient(tx, 1, patient);
      for (const patient of PARTITION_2) await insertPatient(tx, 2, patient);
      await insertObservation(tx, 1, 'o1', 'p1');
      await insertObservation(tx, 1, 'o2', 'p2');
      await insertObservation(tx, 1, 'o3', 'p3');
      await insertObservation(tx, 1, 'o4', 'p5');
      await insertObservation(tx, 1, 'o5', 'p404');
      await insertObservation(tx, 2, 'o1', 'p1');
      await insertManyPatients(tx, 3, 10_001);
    });
    // Statistics, as after any real load (a bulk load ends with VACUUM ANALYZE): without them the
    // planner takes the index tables for empty and joins 10,001 rows to 10,001 in nested loops.
    await testDb.db.pool.query('ANALYZE');
  });

  after(async () => {
    await testDb?.drop();
  });

  /** One page, the way the FHIR service runs it: parse, plan, resume from the cursor, run. */
  async function search(partition: number, query: SearchQueryString, options?: PlanOptions & { cursor?: string }): Promise<SearchResult & { cursor?: string }> {
    const plan = planSearch(parseSearch('Patient', query), options);
    plan.after = decodeCursor(options?.cursor, plan);
    const result = await testDb.db.read((tx) => runSearch(tx, partition, plan));
    return { ...result, cursor: result.next && encodeCursor(result.next, plan) };
  }

  async function ids(query: SearchQueryString, partition = 1, options?: PlanOptions): Promise<string[]> {
    return (await search(partition, query, options)).rows.map((row) => row.id);
  }

  /** Every page of a search, following cursors until hasMore is false. */
  async function allPages(query: SearchQueryString, options?: PlanOptions): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await search(1, query, { ...options, cursor });
      pages.push(page.rows.map((row) => row.id));
      assert.equal(page.hasMore, page.cursor !== undefined);
      cursor = page.cursor;
    } while (cursor && pages.length < 20);
    return pages;
  }

  it('returns the row shape with ISO instants', async () => {
    const [row] = (await search(1, { _id: 'p1' })).rows;
    assert.deepEqual(rowFields(row), {
      resourceType: 'Patient',
      id: 'p1',
      content: '{"resourceType":"Patient","id":"p1"}',
      createdAt: '2024-01-01T00:00:00.000Z',
      lastUpdated: '2024-01-05T10:00:00.123Z',
      versionId: 1,
    });
  });

  it('reads the id and content only when asked to, and its rows refuse what was not read', async () => {
    const plan = { ...planSearch(parseSearch('Patient', { _id: 'p1,p2' })), columns: 'content' as const, include: [{ params: null, targetType: null }] };
    const { rows, next } = await testDb.db.read((tx) => runSearch(tx, 1, { ...plan, pageSize: 1 }));
    assert.deepEqual(rows.map((row) => [row.resourceType, row.id, row.content]), [['Patient', 'p2', '{"resourceType":"Patient","id":"p2"}']], 'p2 was updated first');
    assert.ok(next, 'the cursor still has its sort key');
    assert.throws(() => rows[0].lastUpdated, /read the content only/);
    assert.throws(() => rows[0].versionId, /read the content only/);
  });

  it('matches tokens by code, system|code, |code and :not', async () => {
    assert.deepEqual(await ids({ gender: 'male' }), ['p4', 'p1']);
    assert.deepEqual(await ids({ gender: `${GENDER_SYSTEM}|female` }), ['p2', 'p3']);
    assert.deepEqual(await ids({ gender: '|female' }), []);
    assert.deepEqual(await ids({ gender: 'male,female' }), ['p4', 'p2', 'p3', 'p1']);
    assert.deepEqual(await ids({ 'gender:not': 'female' }), ['p4', 'p1', 'p6']);
  });

  it('matches strings by normalised prefix, :contains and :exact', async () => {
    assert.deepEqual(await ids({ name: 'SMITH' }), ['p2', 'p1']);
    assert.deepEqual(await ids({ 'name:contains': 'smith' }), ['p4', 'p2', 'p1']);
    assert.deepEqual(await ids({ 'name:exact': 'smith' }), ['p1']);
    assert.deepEqual(await ids({ 'name:exact': 'Smith' }), [], ':exact is case sensitive');
    assert.deepEqual(await ids({ name: 'Zoë' }), ['p3']);
    assert.deepEqual(await ids({ name: ['smith', 'john'] }), ['p1']);
  });

  it('treats % and _ in string values literally', async () => {
    assert.deepEqual(await ids({ name: 'o%' }), ['p6']);
    assert.deepEqual(await ids({ 'name:contains': '_' }), ['p6']);
    assert.deepEqual(await ids({ name: 'o_' }), []);
  });

  it('keeps injection attempts as plain values', async () => {
    assert.deepEqual(await ids({ name: "'; DROP TABLE resources;--" }), []);
    assert.deepEqual(await ids({ _id: 'p1' }), ['p1']);
  });

  it('matches date ranges with every prefix', async () => {
    assert.deepEqual(await ids({ birthdate: '1980' }), ['p1']);
    assert.deepEqual(await ids({ birthdate: '1990-03' }), ['p2']);
    assert.deepEqual(await ids({ birthdate: '1990-03-15' }), [], 'eq: the indexed month is not inside the searched day');
    assert.deepEqual(await ids({ birthdate: 'ne1980-05-10' }), ['p4', 'p2']);
    assert.deepEqual(await ids({ birthdate: 'gt1990' }), ['p4']);
    assert.deepEqual(await ids({ birthdate: 'ge1990-01-01' }), ['p4', 'p2']);
    assert.deepEqual(await ids({ birthdate: 'lt1990-03-10' }), ['p2', 'p1'], 'lt: p2’s March starts before the 10th');
    assert.deepEqual(await ids({ birthdate: 'le1980-05-10' }), ['p1']);
    assert.deepEqual(await ids({ birthdate: 'sa1980-05-10' }), ['p4', 'p2']);
    assert.deepEqual(await ids({ birthdate: 'eb1990-03-01' }), ['p1']);
    assert.deepEqual(await ids({ birthdate: 'ap2000-12-31' }), ['p4']);
    assert.deepEqual(await ids({ birthdate: ['ge1980', 'lt1995'] }), ['p2', 'p1']);
  });

  it('matches _lastUpdated and _id on the resource row', async () => {
    assert.deepEqual(await ids({ _lastUpdated: 'ge2024-01-03' }), ['p2', 'p3', 'p1', 'p6']);
    assert.deepEqual(await ids({ _lastUpdated: '2024-01-05' }), ['p1']);
    assert.deepEqual(await ids({ _lastUpdated: 'lt2024-01-05T10:00:00.124Z' }), ['p4', 'p2', 'p3', 'p1']);
    assert.deepEqual(await ids({ _id: 'p3,p1,p5' }), ['p3', 'p1']);
  });

  it('matches references by Type/id, id and :Type', async () => {
    assert.deepEqual(await ids({ 'general-practitioner': 'Practitioner/dr1' }), ['p3', 'p1']);
    assert.deepEqual(await ids({ 'general-practitioner': 'dr2' }), ['p2']);
    assert.deepEqual(await ids({ 'general-practitioner:Practitioner': 'dr1' }), ['p3', 'p1']);
    assert.deepEqual(await ids({ 'general-practitioner': 'Organization/dr1' }), []);
  });

  it('matches :missing on index_params', async () => {
    assert.deepEqual(await ids({ 'birthdate:missing': 'true' }), ['p3', 'p6']);
    assert.deepEqual(await ids({ 'birthdate:missing': 'false' }), ['p4', 'p2', 'p1']);
  });

  it('sorts by parameters, missing values last in both directions', async () => {
    assert.deepEqual(await ids({ _sort: 'birthdate' }), ['p1', 'p2', 'p4', 'p3', 'p6']);
    assert.deepEqual(await ids({ _sort: '-birthdate' }), ['p4', 'p2', 'p1', 'p6', 'p3']);
    assert.deepEqual(await ids({ _sort: 'name' }), ['p3', 'p2', 'p4', 'p1', 'p6']);
    assert.deepEqual(await ids({ _sort: '-name' }), ['p3', 'p2', 'p1', 'p6', 'p4']);
  });

  it('reads a filterless date sort from the sort index: page-size rows, not every resource of the type', async () => {
    const plan = planSearch(parseSearch('Patient', { _sort: '-birthdate', _count: '5' }));
    const { text, values } = compileSearch(plan, 3);
    const [{ 'QUERY PLAN': [explained] }] = await testDb.db.read((tx) => tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values));
    const rowsRead = (node: PlanNode): number => Math.max(node['Actual Rows'] * node['Actual Loops'], ...(node.Plans ?? []).map(rowsRead));
    assert.ok(rowsRead(explained.Plan) <= 6, `a node of the plan read ${rowsRead(explained.Plan)} rows`);
    assert.deepEqual(await ids({ _sort: '-birthdate', _count: '5' }, 3), ['m10001', 'm9999', 'm9998', 'm9997', 'm9996']);
    assert.deepEqual(await ids({ _sort: 'birthdate,_id', _count: '3' }, 3), ['m1', 'm2', 'm3']);
  });

  it('pages a filterless sort read from the index through to the resources without a value', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await search(3, { _sort: 'birthdate', _count: '400' }, { cursor });
      assert.ok(page.rows.length > 0, 'no empty page');
      seen.push(...page.rows.map((row) => row.id));
      cursor = page.cursor;
    } while (cursor && seen.length <= 10_001);
    assert.equal(seen.length, 10_001);
    assert.equal(new Set(seen).size, 10_001, 'no row twice');
    assert.deepEqual(seen.slice(0, 2), ['m1', 'm2']);
    // Missing values last, by id: the ten patients without a birth date.
    assert.deepEqual(seen.slice(-10), ['m1000', 'm10000', 'm2000', 'm3000', 'm4000', 'm5000', 'm6000', 'm7000', 'm8000', 'm9000']);
    assert.equal(seen[seen.length - 11], 'm10001');
  });

  it('on the page where a filterless sort\'s values run out, learns that none is missing without walking every resource', async () => {
    const query = { _sort: '-death-date', _count: '400' };
    let cursor: string | undefined;
    let page: SearchResult & { cursor?: string };
    let pages = 0;
    for (;;) {
      page = await search(3, query, { cursor });
      pages++;
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    assert.equal(pages, 26);
    assert.equal(page.rows.at(-1)?.id, 'm1');
    // The last page, read again under EXPLAIN: the walk through the resources for one without a
    // value read three buffers per resource (30,000 here); the counts that tell none is missing read
    // the two index-only scans.
    const plan = planSearch(parseSearch('Patient', query));
    plan.after = decodeCursor(cursor, plan);
    const { text, values } = compileSearch(plan, 3);
    const [{ 'QUERY PLAN': [explained] }] = await testDb.db.read((tx) => tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode & { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, values));
    const buffers = explained.Plan['Shared Hit Blocks'] + explained.Plan['Shared Read Blocks'];
    assert.ok(buffers < 2_000, `the last page read ${buffers} buffers`);
  });

  it('sorts by _id, _lastUpdated and the simplified API default (created, newest first)', async () => {
    assert.deepEqual(await ids({ _sort: '-_id' }), ['p6', 'p4', 'p3', 'p2', 'p1']);
    assert.deepEqual(await ids({}), ['p4', 'p2', 'p3', 'p1', 'p6']);
    assert.deepEqual(await ids({ _sort: '-_lastUpdated' }), ['p6', 'p1', 'p3', 'p2', 'p4']);
    assert.deepEqual(await ids({}, 1, { defaultSort: SIMPLIFIED_DEFAULT_SORT }), ['p6', 'p4', 'p3', 'p2', 'p1']);
  });

  const pagedSearches: Array<[string, SearchQueryString, PlanOptions?]> = [
    ['_lastUpdated (ties on p2/p3, microseconds on p1)', {}],
    ['created descending', {}, { defaultSort: SIMPLIFIED_DEFAULT_SORT }],
    ['-birthdate (missing values)', { _sort: '-birthdate' }],
    ['birthdate,-name (mixed directions)', { _sort: 'birthdate,-name' }],
    ['a filtered search', { 'gender:not': 'female', _sort: 'name' }],
  ];
  for (const [what, query, options] of pagedSearches) {
    it(`pages by keyset without skipping or repeating: ${what}`, async () => {
      const expected = await ids(query, 1, options);
      for (const count of ['1', '2', '3']) {
        const pages = await allPages({ ...query, _count: count }, options);
        assert.ok(pages.every((page) => page.length <= Number(count)));
        assert.deepEqual(pages.flat(), expected, `_count=${count}`);
      }
    });
  }

  it('starts from the first page when the cursor belongs to other filters or is garbage', async () => {
    const first = await search(1, { _count: '2' });
    assert.ok(first.cursor);
    const second = await search(1, { _count: '2' }, { cursor: first.cursor });
    assert.deepEqual(second.rows.map((row) => row.id), ['p3', 'p1']);
    const otherFilters = await search(1, { _count: '2', gender: 'male' }, { cursor: first.cursor });
    assert.deepEqual(otherFilters.rows.map((row) => row.id), ['p4', 'p1']);
    const garbage = await search(1, { _count: '2' }, { cursor: 'bm90IGEgY3Vyc29y' });
    assert.deepEqual(garbage.rows.map((row) => row.id), ['p4', 'p2']);
  });

  it('counts the total when asked: bounded, estimated above the threshold, or exact', async () => {
    const page = await search(1, { gender: 'female', _count: '1', _total: 'accurate' });
    assert.equal(page.total, 2);
    assert.equal(page.rows.length, 1);
    assert.equal(page.hasMore, true);
    assert.equal((await search(1, { gender: 'female' })).total, undefined);
    const countOnly = await search(1, { _count: '0', _total: 'accurate' });
    assert.deepEqual(countOnly.rows, []);
    assert.equal(countOnly.total, 5);
    const many = await search(3, { _count: '1' }, { defaultTotal: 'bounded' });
    assert.equal(many.total, undefined, 'bounded: above TOTAL_THRESHOLD the total is left out');
    assert.equal(many.hasMore, true);
    assert.equal((await search(3, { _count: '1', _total: 'accurate' })).total, 10_001, 'exact');
    const estimate = (await search(3, { _count: '1', _total: 'estimate' })).total;
    assert.ok(estimate !== undefined && estimate > 10_000, 'estimate: the planner\'s, never below the threshold');
    assert.equal((await search(1, { gender: 'female', _total: 'estimate' })).total, 2, 'estimate: exact below the threshold');
    assert.equal((await search(3, { _id: 'm1,m2,m10001', _total: 'accurate' })).total, 3);
  });

  it('walks with a filter hashed or probed alike, whether it matches fewer or more than the walk hashes', async () => {
    // 10,001 females: the walk probes gender=female row by row; about 1,000 males: it hashes them.
    assert.deepEqual(await ids({ gender: 'female', _count: '3' }, 3), ['m1', 'm2', 'm3']);
    assert.deepEqual(await ids({ gender: 'female', _count: '3', _sort: '-_lastUpdated' }, 3), ['m10001', 'm10000', 'm9999']);
    assert.deepEqual(await ids({ gender: 'male', _count: '3' }, 3), ['m10', 'm20', 'm30']);
    assert.deepEqual(await ids({ 'gender:not': 'male', _count: '3', _sort: '-_lastUpdated' }, 3), ['m10001', 'm9999', 'm9998']);
    assert.deepEqual(await ids({ 'gender:not': 'female', _count: '3' }, 3), []);
    assert.deepEqual(await ids({ gender: 'female', 'gender:not': 'male', _count: '2', _lastUpdated: 'gt2024-01-01T00:00:15Z' }, 3), ['m16', 'm17']);
    const second = await search(3, { gender: 'male', _count: '2' });
    assert.deepEqual((await search(3, { gender: 'male', _count: '2' }, { cursor: second.cursor })).rows.map((row) => row.id), ['m30', 'm40']);
  });

  it('tries a short statement driven by a filter with few matches first, which finds the pages the complete one finds', async () => {
    /** The ids one form of the page statement returns, the extra row included; null marks the short statement's "too many". */
    const page = async (form: PageForm, partition: number, query: SearchQueryString, cursor?: string, include?: SearchQuery['include']) => {
      const plan = planSearch(parseSearch('Patient', query));
      plan.after = decodeCursor(cursor, plan);
      if (include) plan.include = include;
      const sql = compileSearch(plan, partition, form);
      return (await testDb.db.read((tx) => tx.query<{ id: string | null }>(sql.text, sql.values))).map((row) => row.id);
    };
    const cases: Array<[number, SearchQueryString]> = [
      [1, { name: 'smith' }],
      [1, { name: 'smith', _count: '1' }],
      [1, { name: 'smith', _count: '1', _sort: '-_lastUpdated' }],
      [1, { name: 'smith', gender: 'male' }],
      [1, { gender: 'female', birthdate: 'ge1985', _sort: '_id' }],
      [1, { 'gender:not': 'male', name: 's', _count: '1' }],
      [1, { name: 'nobody' }],
      [2, { name: 'smith' }],
    ];
    for (const [partition, query] of cases) {
      const complete = await page('complete', partition, query);
      assert.deepEqual(await page('driven first', partition, query), complete, JSON.stringify(query));
      const { cursor } = await search(partition, query);
      if (cursor) assert.deepEqual(await page('driven first', partition, query, cursor), await page('complete', partition, query, cursor), `${JSON.stringify(query)}, second page`);
    }
    assert.deepEqual(await page('complete', 1, { name: 'smith', _count: '1' }), ['p2', 'p1']);
    // Over 100 listed matches (about 1,000 males): one row of nulls, and the search runs the complete statement.
    assert.deepEqual(await page('driven first', 3, { gender: 'male', _count: '3' }), [null]);
    assert.deepEqual(await ids({ gender: 'male', _count: '3' }, 3), ['m10', 'm20', 'm30']);
    // With _include the page's rows carry the include's columns, and so does the row of nulls.
    const include = [{ params: ['general-practitioner'], targetType: null }];
    assert.deepEqual(await page('driven first', 1, { name: 'smith' }, undefined, include), await page('complete', 1, { name: 'smith' }, undefined, include));
    assert.deepEqual(await page('driven first', 3, { gender: 'male' }, undefined, include), [null]);
    // No filter to drive it (a date range), or filters that name resources: there is no short statement.
    for (const query of [{ birthdate: 'ge1985' }, { name: 'smith', _id: 'p1' }]) {
      assert.throws(() => compileSearch(planSearch(parseSearch('Patient', query)), 1, 'driven first'), RangeError);
    }
  });

  it('walks a _has whose inner filter matches fewer or more than the walk hashes', async () => {
    // 10,001 Observations with 'common': each patient is probed. By code (coded references): each
    // patient is probed for the 500 with 'medium' too, and the 50 with 'rare' are listed and their
    // targets hashed. By category (search_token): 'medium' is hashed within the walk's test of a
    // row, 'rare' has its subjects hashed.
    for (const param of ['code', 'category']) {
      const has = (code: string) => ({ [`_has:Observation:subject:${param}`]: code });
      assert.deepEqual(await ids({ ...has('common'), _count: '3' }, 3), ['m1', 'm2', 'm3'], param);
      assert.deepEqual(await ids({ ...has('common'), _count: '3', _sort: '-_lastUpdated' }, 3), ['m10001', 'm10000', 'm9999'], param);
      assert.deepEqual(await ids({ ...has('medium'), _count: '3' }, 3), ['m20', 'm40', 'm60'], param);
      assert.deepEqual(await ids({ ...has('medium'), _count: '3', _sort: '-_lastUpdated' }, 3), ['m10000', 'm9980', 'm9960'], param);
      assert.deepEqual(await ids({ ...has('rare'), _count: '3' }, 3), ['m200', 'm400', 'm600'], param);
      assert.deepEqual(await ids({ ...has('rare'), _count: '3', _sort: '-_lastUpdated' }, 3), ['m10000', 'm9800', 'm9600'], param);
      assert.deepEqual(await ids({ ...has('http://loinc.org|rare'), gender: 'male', _count: '2', _lastUpdated: 'gt2024-01-01T00:10:00Z' }, 3), ['m800', 'm1000'], param);
      assert.deepEqual(await ids({ ...has('http://snomed.info/sct|rare'), _count: '3' }, 3), [], param);
      assert.deepEqual(await ids({ ...has('absent'), _count: '3' }, 3), [], param);
      const first = await search(3, { ...has('rare'), _count: '2' });
      assert.deepEqual((await search(3, { ...has('rare'), _count: '2' }, { cursor: first.cursor })).rows.map((row) => row.id), ['m600', 'm800'], param);
    }
  });

  it('reads what the page references with the page (_include), for the rows of the page only', async () => {
    const included = async (query: SearchQueryString, include: SearchQuery['include']) => {
      const plan = planSearch(parseSearch('Observation', query));
      plan.include = include;
      const result = await testDb.db.read((tx) => runSearch(tx, 1, plan));
      return { ids: result.rows.map((row) => row.id), included: result.included.map((row) => `${row.resourceType}/${row.id}`) };
    };
    // o3, the row that tells there is a next page, is not on the page: p3 is not included.
    assert.deepEqual(await included({ _count: '2' }, [{ params: ['subject'], targetType: null }]), { ids: ['o1', 'o2'], included: ['Patient/p1', 'Patient/p2'] });
    assert.deepEqual(await included({ _count: '2' }, [{ params: null, targetType: 'Patient' }]), { ids: ['o1', 'o2'], included: ['Patient/p1', 'Patient/p2'] });
    assert.deepEqual(await included({ _count: '2' }, [{ params: ['performer'], targetType: null }, { params: null, targetType: 'Practitioner' }]), { ids: ['o1', 'o2'], included: [] });
    assert.deepEqual(await included({ _id: 'o4,o5' }, [{ params: null, targetType: null }]), { ids: ['o4', 'o5'], included: [] }, 'a deleted or missing target is not read');
    const [p1] = (await testDb.db.read((tx) => runSearch(tx, 1, { ...planSearch(parseSearch('Observation', { _id: 'o1' })), include: [{ params: null, targetType: null }] }))).included;
    assert.deepEqual({ ...rowFields(p1), content: JSON.parse(p1.content) }, { resourceType: 'Patient', id: 'p1', versionId: 1, createdAt: '2024-01-01T00:00:00.000Z', lastUpdated: '2024-01-05T10:00:00.123Z', content: { resourceType: 'Patient', id: 'p1' } });
  });

  it('never crosses partitions', async () => {
    assert.deepEqual(await ids({ name: 'smith' }, 2), ['p1', 'q1']);
    assert.deepEqual(await ids({ gender: 'female' }, 2), ['p1']);
    assert.deepEqual(await ids({ _id: 'q1' }, 1), []);
    assert.deepEqual(await ids({ name: 'smithers' }, 1), []);
    assert.deepEqual(await ids({}, 4), []);
  });

  it('reads the resources that reference targets, and the live targets of resources (for _revinclude and _include)', async () => {
    const keysOf = (resources: StoredResource[]) => resources.map((resource) => `${resource.resourceType}/${resource.id}`);
    const referencing = async (partition: number, targets: string[], limit = 10, params: string[] | null = ['subject']) =>
      keysOf(await testDb.db.read((tx) => readReferencing(tx, partition, 'Patient', targets, 'Observation', params, limit)));
    assert.deepEqual(await referencing(1, ['p1', 'p2']), ['Observation/o1', 'Observation/o2']);
    assert.deepEqual(await referencing(1, ['p1', 'p2', 'p3'], 2), ['Observation/o1', 'Observation/o2']);
    assert.deepEqual(await referencing(1, ['p1', 'p2'], 10, null), ['Observation/o1', 'Observation/o2'], 'any parameter');
    assert.deepEqual(await referencing(1, ['p1', 'p2'], 10, ['performer']), []);
    assert.deepEqual(await referencing(2, ['p1', 'p2']), ['Observation/o1']);
    assert.deepEqual(await referencing(1, []), []);
    const referenced = async (partition: number, sources: string[]) =>
      keysOf(await testDb.db.read((tx) => readReferenced(tx, partition, 'Observation', sources, ['subject'], null)));
    assert.deepEqual(await referenced(1, ['o1', 'o2', 'o3']), ['Patient/p1', 'Patient/p2', 'Patient/p3']);
    assert.deepEqual(await referenced(1, ['o4', 'o5']), [], 'a deleted or missing target is not read');
    assert.deepEqual(await referenced(2, ['o2']), []);
    const [p1] = await testDb.db.read((tx) => readReferenced(tx, 1, 'Observation', ['o1'], ['subject'], 'Patient'));
    assert.equal(p1.versionId, 1);
    assert.equal(p1.deleted, false);
    assert.equal(typeof p1.content, 'string', 'the whole resource is read');
  });
});
