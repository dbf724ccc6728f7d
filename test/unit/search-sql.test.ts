import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SearchFilter, SearchQuery } from '../../src/store/search-query.js';
import { prefixUpperBound } from '../../src/store/search-shape.js';
import { compileCount, compileSearch, TOTAL_THRESHOLD, type SqlQuery } from '../../src/store/search-sql.js';

const INJECTION = "'; DROP TABLE resources;--";
const PARTITION = 7;

/** One filter of every kind, every value (and every parameter code) an injection attempt. */
function hostileFilters(): SearchFilter[] {
  const x = INJECTION;
  return [
    { kind: 'token', param: x, negate: false, anyOf: [{ match: 'code', system: x, code: x }, { match: 'text', text: x }] },
    { kind: 'token', param: x, negate: true, anyOf: [{ match: 'code', code: x }] },
    { kind: 'string', param: x, anyOf: [{ mode: 'exact', value: x, raw: x }, { mode: 'prefix', value: x }, { mode: 'contains', value: x }] },
    { kind: 'token', param: x, negate: false, anyOf: [{ match: 'ofType', typeSystem: x, typeCode: x, value: x }] },
    {
      kind: 'reference',
      param: x,
      anyOf: [{ match: 'target', targetType: x, targetId: x }, { match: 'url', reference: x }, { match: 'identifier', system: x, value: x }],
    },
    { kind: 'uri', param: x, anyOf: [{ match: 'equals', values: [x] }, { match: 'equals', values: [x, x] }, { match: 'below', value: x }] },
    { kind: 'date', param: x, anyOf: [{ comparator: 'ge', low: x, high: x }, { comparator: 'gt', low: x, high: x }] },
    { kind: 'number', param: x, anyOf: [{ comparator: 'ap', value: x, low: x, high: x }] },
    { kind: 'quantity', param: x, anyOf: [{ comparator: 'eq', value: x, low: x, high: x, system: x, code: x }] },
    { kind: 'quantity', param: x, anyOf: [{ comparator: 'gt', value: x, low: x, high: x, code: x, canonical: { code: x, value: x, low: x, high: x } }] },
    { kind: 'id', anyOf: [x] },
    { kind: 'lastUpdated', anyOf: [{ comparator: 'eq', low: x, high: x }] },
    { kind: 'missing', param: x, missing: true },
    { kind: 'number', param: x, anyOf: [{ comparator: 'sa', value: x, low: x, high: x }, { comparator: 'eb', value: x, low: x, high: x }] },
    {
      kind: 'composite',
      param: x,
      anyOf: [[{ kind: 'token', param: x, negate: false, anyOf: [{ match: 'code', code: x }] }, { kind: 'quantity', param: x, anyOf: [{ comparator: 'gt', value: x, low: x, high: x }] }]],
    },
    {
      kind: 'chain',
      param: x,
      targets: [
        { targetType: x, filter: { kind: 'chain', param: x, targets: [{ targetType: x, filter: { kind: 'missing', param: x, missing: false } }] } },
        { targetType: x, filter: { kind: 'lastUpdated', anyOf: [{ comparator: 'gt', low: x, high: x }] } },
      ],
    },
    { kind: 'has', sourceType: x, param: x, filter: { kind: 'token', param: x, negate: true, anyOf: [{ match: 'code', code: x }] } },
  ];
}

function hostileQuery(): SearchQuery {
  return {
    resourceType: INJECTION,
    filters: hostileFilters(),
    sort: [
      { by: 'param', param: INJECTION, valueType: 'text', direction: 'desc' },
      { by: 'param', param: INJECTION, valueType: 'date', direction: 'asc' },
      { by: 'lastUpdated', direction: 'asc' },
    ],
    pageSize: 10,
    after: { values: [INJECTION, null, INJECTION], id: INJECTION },
    total: 'bounded',
  };
}

/** Every `FROM table alias` / `JOIN table alias` in the statement. */
function tableReferences(sql: string): Array<{ table: string; alias: string }> {
  return [...sql.matchAll(/\b(?:FROM|JOIN)\s+([a-z_]+)\s+([a-z]\w*)/g)].map(([, table, alias]) => ({ table, alias }));
}

function assertSafe(sql: SqlQuery): void {
  assert.ok(!sql.text.includes(INJECTION), 'a value reached the SQL text');
  assert.ok(!sql.text.includes('DROP'), 'a value reached the SQL text');
  // Keyset pages only; `OFFSET 0` is an optimisation fence that skips nothing.
  assert.doesNotMatch(sql.text, /\bOFFSET\s+(?!0\))/i);
  assert.equal(sql.values[0], PARTITION);
  const references = tableReferences(sql.text);
  assert.ok(references.length > 0);
  for (const { table, alias } of references) {
    assert.match(sql.text, new RegExp(`\\b${alias}\\.partition_id = \\$1::integer`), `${table} ${alias} is not constrained by partition_id`);
    // $2 is the searched type; chains and _has bind the other end's type.
    const type = new RegExp(`\\b${alias}\\.resource_type = \\$(\\d+)::text`).exec(sql.text);
    assert.ok(type && typeof sql.values[Number(type[1]) - 1] === 'string', `${table} ${alias} is not constrained by resource_type`);
  }
  // Each value has a placeholder in the text and each placeholder a value (an unused one fails in PostgreSQL).
  const placeholders = new Set([...sql.text.matchAll(/\$(\d+)::/g)].map(([, n]) => Number(n)));
  assert.deepEqual([...placeholders].sort((a, b) => a - b), sql.values.map((_, i) => i + 1));
}

describe('compileSearch', () => {
  it('binds every value, parameter code and resource type', () => {
    const sql = compileSearch(hostileQuery(), PARTITION);
    assertSafe(sql);
    assert.ok(sql.values.includes(INJECTION));
    assert.ok(sql.values.some((value) => Array.isArray(value) && value.includes(INJECTION)), 'the _id list is bound as an array');
  });

  it('escapes LIKE wildcards in the bound pattern, not in the SQL', () => {
    const sql = compileSearch(
      { resourceType: 'Patient', filters: [{ kind: 'string', param: 'name', anyOf: [{ mode: 'contains', value: '50%_a\\b' }] }], sort: [{ by: 'id', direction: 'asc' }], pageSize: 1, total: 'none' },
      PARTITION,
    );
    assert.ok(sql.values.includes('%50\\%\\_a\\\\b%'));
    assert.match(sql.text, /value COLLATE "C" LIKE \$\d+::text/);
  });

  it('bounds a string prefix as a range of the C-ordered values, for the lookup index', () => {
    const sql = compileSearch(
      { resourceType: 'Patient', filters: [{ kind: 'string', param: 'name', anyOf: [{ mode: 'prefix', value: 'smi' }] }], sort: [{ by: 'id', direction: 'asc' }], pageSize: 1, total: 'none' },
      PARTITION,
    );
    assert.match(sql.text, /value COLLATE "C" >= \$\d+::text AND i\d+\.value COLLATE "C" < \$\d+::text AND i\d+\.value COLLATE "C" LIKE \$\d+::text/);
    assert.ok(sql.values.includes('smi') && sql.values.includes('smj') && sql.values.includes('smi%'));
    assert.equal(prefixUpperBound('smi'), 'smj');
    assert.equal(prefixUpperBound('a\u{10FFFF}'), 'b', 'carries past the last code point');
    assert.equal(prefixUpperBound('\u{10FFFF}\u{10FFFF}'), undefined);
    assert.equal(prefixUpperBound('x\uD7FF'), 'x\uE000', 'skips the surrogates');
    assert.equal(prefixUpperBound('zoë'), 'zoì');
    // Every string that starts with the prefix sorts between it and the bound, in code point order.
    const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    for (const [prefix, value] of [['smi', 'smith'], ['smi', 'smi\u{10FFFF}\u{10FFFF}x'], ['a\u{10FFFF}', 'a\u{10FFFF}zz'], ['zo', 'zoë']]) {
      assert.ok(byCodePoint(prefix, value) <= 0 && byCodePoint(value, prefixUpperBound(prefix)!) < 0, `${prefix} < ${value} < bound`);
    }
  });

  it('constrains the resources row and every EXISTS subquery by partition and type', () => {
    const sql = compileSearch(hostileQuery(), PARTITION);
    const subqueries = sql.text.match(/EXISTS \(SELECT 1 FROM/g) ?? [];
    // one per single-table filter; composites, chains and _has nest several
    const nesting = ['composite', 'chain', 'has'];
    const simple = hostileFilters().filter((filter) => !['id', 'lastUpdated', 'missing', ...nesting].includes(filter.kind)).length;
    assert.ok(subqueries.length > simple);
    const single = compileSearch({ ...hostileQuery(), filters: hostileFilters().filter((filter) => !nesting.includes(filter.kind)) }, PARTITION);
    assert.equal((single.text.match(/EXISTS \(SELECT 1 FROM/g) ?? []).length, simple);
    assert.match(sql.text, /r\.partition_id = \$1::integer AND r\.resource_type = \$2::text AND NOT r\.deleted/);
    assert.match(sql.text, /NOT EXISTS \(SELECT 1 FROM search_token/);
  });

  it('fetches one row more than the page, after the cursor, ordered by the keys then the id', () => {
    const after = { values: ['2024-01-01T00:00:00.000000Z'], id: 'p1' };
    const sort = [{ by: 'lastUpdated', direction: 'asc' }] as const;
    const filtered = compileSearch(
      { resourceType: 'Patient', filters: [{ kind: 'token', param: 'gender', negate: false, anyOf: [{ match: 'code', code: 'female' }] }], sort: [...sort], pageSize: 20, after, total: 'none' },
      PARTITION,
    );
    assertSafe(filtered);
    // The page's ids are found and limited first; only then are their rows read whole. The limit
    // is part of the text, so that a statement planned once for all values still knows it.
    assert.match(filtered.text, /LIMIT \(SELECT 21 - count\(\*\) FROM walk\)\)\n\) AS page\nJOIN resources r ON .* r\.id = page\.o1\nORDER BY page\.o0 ASC, page\.o1 ASC$/);
    assert.ok(!filtered.values.includes(21));
    assert.match(filtered.text, /ORDER BY r\.last_updated ASC, r\.id ASC LIMIT 21\)/);
    assert.doesNotMatch(filtered.text.slice(filtered.text.indexOf('\nFROM (\n')), /content/);
    assert.match(filtered.text, /\(r\.last_updated, r\.id\) > \(\$\d+::timestamptz, \$\d+::text\)/);
    assert.ok(filtered.values.includes('2024-01-01T00:00:00.000000Z') && filtered.values.includes('p1'));

    // Without filters every row read is a page row, and a filter naming resources matches few
    // more than a page: such pages are read whole at once, with no join back.
    const unfiltered = compileSearch({ resourceType: 'Patient', filters: [], sort: [...sort], pageSize: 20, after, total: 'none' }, PARTITION);
    assertSafe(unfiltered);
    assert.match(unfiltered.text, /^SELECT page\.id, page\.content, .*\nFROM \(\nSELECT r\.id, r\.content, .* FROM resources r WHERE .*\(r\.last_updated, r\.id\) > .* ORDER BY r\.last_updated ASC, r\.id ASC LIMIT 21\n\) AS page\nORDER BY page\.o0 ASC, page\.o1 ASC$/);
    assert.doesNotMatch(unfiltered.text, /JOIN/);
    const named = compileSearch({ resourceType: 'Patient', filters: [{ kind: 'id', anyOf: ['p2', 'p3'] }], sort: [...sort], pageSize: 20, after, total: 'none' }, PARTITION);
    assertSafe(named);
    assert.match(named.text, /^SELECT page\.id, page\.content, .*\nFROM \(\nSELECT r\.id, r\.content, .* FROM resources r WHERE .* AND r\.id = ANY\(\$\d+::text\[\]\) AND \(r\.last_updated, r\.id\) > .* ORDER BY r\.last_updated ASC, r\.id ASC LIMIT 21\n\) AS page\nORDER BY page\.o0 ASC, page\.o1 ASC$/);
    assert.doesNotMatch(named.text, /JOIN/);
  });

  it('orders missing sort values last and expands the keyset for them', () => {
    // Two keys, so the sort index does not serve it (a sort on one parameter reads that, below).
    const sql = compileSearch(
      {
        resourceType: 'Patient',
        filters: [],
        sort: [{ by: 'param', param: 'family', valueType: 'text', direction: 'desc' }, { by: 'lastUpdated', direction: 'desc' }],
        pageSize: 5,
        after: { values: [null, '2024-01-01T00:00:00.000000Z'], id: 'p3' },
        total: 'none',
      },
      PARTITION,
    );
    assertSafe(sql);
    assert.match(sql.text, /LEFT JOIN search_sort s1 ON s1\.partition_id = \$1::integer AND s1\.resource_type = \$2::text/);
    // The matches are found before their sort rows are joined; the keyset applies after the join,
    // and past a missing value only the keys after it order.
    assert.match(sql.text, / OFFSET 0\) AS r\nLEFT JOIN search_sort s1 .*\nWHERE \(s1\.desc_text IS NULL AND \(r\.last_updated < \$4::timestamptz OR \(r\.last_updated = \$4::timestamptz AND r\.id < \$5::text\)\)\)\n/);
    assert.match(sql.text, /ORDER BY s1\.desc_text DESC NULLS LAST, r\.last_updated DESC, r\.id DESC LIMIT 6\n/);
  });

  it('reads a filterless parameter sort from the sort index, the resources without a value after', () => {
    const query = (after?: SearchQuery['after']): SearchQuery => ({
      resourceType: 'Patient', filters: [], sort: [{ by: 'param', param: 'birthdate', valueType: 'date', direction: 'desc' }], pageSize: 5, total: 'none', ...(after ? { after } : {}),
    });
    const first = compileSearch(query(), PARTITION);
    assertSafe(first);
    // In index order (migrations 012, 013), each row kept if its resource is live, up to the page.
    assert.match(first.text, /^WITH valued AS MATERIALIZED \(\nSELECT sort_value AS o0, resource_id AS o1 FROM \(SELECT s2\.desc_date AS sort_value, s2\.resource_id FROM search_sort s2\nWHERE [^\n]*s2\.param = \$3::text AND s2\.desc_date IS NOT NULL AND EXISTS \(/);
    assert.match(first.text, /ORDER BY s2\.desc_date DESC, s2\.resource_id DESC LIMIT 6\)/);
    // Then those without a value, by id, for what the first part left of the page.
    assert.match(first.text, /ORDER BY r\.id DESC LIMIT \(SELECT 6 - count\(\*\) FROM valued\)\)/);
    assert.match(first.text, /ORDER BY page\.o0 DESC NULLS LAST, page\.o1 DESC$/);
    // A cursor on a value resumes in the index; one on a missing value, among the missing only.
    const onValue = compileSearch(query({ values: ['2000-01-01T00:00:00.000000Z'], id: 'p3' }), PARTITION);
    assert.match(onValue.text, /AND \(s2\.desc_date, s2\.resource_id\) < \(\$4::timestamptz, \$5::text\)/);
    assert.doesNotMatch(onValue.text, /r\.id < /);
    const onMissing = compileSearch(query({ values: [null], id: 'p3' }), PARTITION);
    assert.match(onMissing.text, /s2\.desc_date IS NOT NULL AND FALSE AND EXISTS /);
    assert.match(onMissing.text, /NOT r\.deleted AND r\.id < \$4::text\n/);
    // A text sort reads its own column's index, whose cursor values are text.
    const byFamily = compileSearch({ ...query({ values: ['smith'], id: 'p3' }), sort: [{ by: 'param', param: 'family', valueType: 'text', direction: 'asc' }] }, PARTITION);
    assertSafe(byFamily);
    assert.match(byFamily.text, /^WITH valued AS MATERIALIZED \(\nSELECT sort_value AS o0, resource_id AS o1 FROM \(SELECT s2\.asc_text AS sort_value, s2\.resource_id FROM search_sort s2\nWHERE [^\n]*s2\.asc_text IS NOT NULL AND \(s2\.asc_text, s2\.resource_id\) > \(\$4::text, \$5::text\) AND EXISTS \(/);
    assert.match(byFamily.text, /SELECT NULL::text AS o0, r\.id AS o1 FROM resources r\n/);
    // A filter or a second sort key keep the scanned shape.
    const male: SearchFilter = { kind: 'token', param: 'gender', negate: false, anyOf: [{ match: 'code', code: 'male' }] };
    for (const other of [
      { ...query(), filters: [male] } satisfies SearchQuery,
      { ...query(), sort: [...query().sort, { by: 'lastUpdated', direction: 'desc' }] } satisfies SearchQuery,
    ]) assert.doesNotMatch(compileSearch(other, PARTITION).text, /valued/);
    // With a filter, a parameter sort is walked in the index's order, each row tested.
    const walked = compileSearch({ ...query(), filters: [male] }, PARTITION);
    assertSafe(walked);
    assert.match(walked.text, /\nwalk AS MATERIALIZED \(\nSELECT r\.sort_value AS o0, r\.id AS o1 FROM \(SELECT w\.sort_value, w\.resource_id AS id FROM \(SELECT s\d+\.desc_date AS sort_value, s\d+\.resource_id FROM search_sort s\d+\n/);
    assert.match(walked.text, /ORDER BY r\.sort_value DESC, r\.id DESC LIMIT 6\)/);
    // The walk has ids in hand: a hashed filter is tested on the id alone, and no row of
    // resources is read for a walked row unless a filter reads its columns.
    assert.match(walked.text, /LIMIT \(CASE WHEN \(SELECT few FROM h0\) THEN \(CASE WHEN \(SELECT matches FROM h0\) <= 6 THEN 0 ELSE 50 \* \(SELECT matches FROM h0\) END\) ELSE 1200 END\)\) AS w\) AS r\nWHERE \(\(NOT \(SELECT few FROM h0\) OR r\.id IN /);
    assert.doesNotMatch(walked.text.slice(0, walked.text.indexOf('\nUNION ALL\n')), /FROM resources/);
    const byNumber = compileSearch({ ...query(), filters: [male, { kind: 'lastUpdated', anyOf: [{ comparator: 'ge', low: '2024-01-01T00:00:00.000Z', high: '2024-01-02T00:00:00.000Z' }] }], sort: [{ by: 'param', param: 'length', valueType: 'number', direction: 'asc' }] }, PARTITION);
    assertSafe(byNumber);
    assert.match(byNumber.text, /\(SELECT s\d+\.asc_number AS sort_value, s\d+\.resource_id FROM search_sort s\d+\n[^\n]*\nORDER BY s\d+\.asc_number ASC, s\d+\.resource_id ASC LIMIT /);
    assert.match(byNumber.text, /AND EXISTS \(SELECT 1 FROM resources (t\d+) WHERE [^\n]* AND \1\.id = r\.id AND NOT \1\.deleted AND [^\n]*\1\.last_updated[^\n]* OFFSET 0\)\)?\nORDER BY r\.sort_value ASC, r\.id ASC LIMIT 6\)/);
  });

  it('walks first when the filters may match many, and not when they name resources', () => {
    const code: SearchFilter = { kind: 'token', param: 'code', negate: false, anyOf: [{ match: 'code', code: 'x' }] };
    const patient: SearchFilter = { kind: 'reference', param: 'patient', anyOf: [{ match: 'target', targetType: 'Patient', targetId: 'p1' }] };
    const query = (filters: SearchFilter[], sort: SearchQuery['sort']): SearchQuery => ({ resourceType: 'Observation', filters, sort, pageSize: 20, total: 'none' });
    const walked = compileSearch(query([code], [{ by: 'lastUpdated', direction: 'desc' }]), PARTITION);
    assertSafe(walked);
    // The walk reads index rows in sort order, testing the filters on each row, then a search
    // supplies what it did not find. A code first lists its matches up to 10,000 (h0_ids) and
    // counts them (h0): below that it is hashed from the list and the walk reads up to ten rows per
    // match (at most 1,500 × 21), or none when the matches would not fill the page; above it the
    // code is probed (fenced, a per-row subplan) and the walk reads up to 200 × 21.
    assert.match(walked.text, /^WITH h0_ids AS MATERIALIZED \(SELECT i\d+\.resource_id FROM search_token i\d+ WHERE [^\n]* LIMIT 10000\),\nh0 AS MATERIALIZED \(SELECT count\(\*\) < 10000 AS few, count\(\*\) AS matches FROM h0_ids\),\nwalk AS MATERIALIZED \(\n/);
    assert.match(
      walked.text,
      /\nSELECT r\.last_updated AS o0, r\.id AS o1 FROM \(SELECT r\.id, r\.last_updated, r\.created_at FROM resources r WHERE [^\n]* ORDER BY r\.last_updated DESC, r\.id DESC LIMIT \(CASE WHEN \(SELECT few FROM h0\) THEN \(CASE WHEN \(SELECT matches FROM h0\) <= 21 THEN 0 ELSE LEAST\(31500, 10 \* \(SELECT matches FROM h0\)\) END\) ELSE 4200 END\)\) AS r\n/,
    );
    assert.match(walked.text, /\nWHERE \(\(NOT \(SELECT few FROM h0\) OR r\.id IN \(SELECT resource_id FROM h0_ids\)\) AND \(\(SELECT few FROM h0\) OR EXISTS \(SELECT 1 FROM search_token [^\n]* OFFSET 0\)\)\)\nORDER BY r\.last_updated DESC, r\.id DESC LIMIT 21\)\n/);
    // Then one of two searches, by the count: planned when the code matches many, neither fenced
    // nor adaptive; driven by the code's listed matches when it matches few.
    const [, planned, driven] = walked.text.split('\nUNION ALL\n');
    assert.match(planned, /^\(SELECT .* AND r\.id NOT IN \(SELECT o1 FROM walk\) AND NOT \(SELECT few FROM h0\)\nORDER BY r\.last_updated DESC, r\.id DESC LIMIT \(SELECT 21 - count\(\*\) FROM walk\)\)$/s);
    assert.doesNotMatch(planned.replace('NOT (SELECT few FROM h0)', ''), /OFFSET 0|h0/);
    assert.match(driven, /^\(SELECT r\.last_updated AS o0, r\.id AS o1 FROM \(SELECT m\.id FROM \(SELECT DISTINCT d\.resource_id AS id FROM \(SELECT resource_id FROM h0_ids\) AS d\) AS m WHERE TRUE OFFSET 0\) AS m\nCROSS JOIN LATERAL \(SELECT r\.id, r\.last_updated, r\.created_at FROM resources r WHERE [^\n]* AND r\.id = m\.id OFFSET 0\) AS r WHERE r\.id NOT IN \(SELECT o1 FROM walk\) AND \(SELECT few FROM h0\)\nORDER BY r\.last_updated DESC, r\.id DESC LIMIT \(SELECT 21 - count\(\*\) FROM walk\)\)\n\) AS page\n/);
    // The driven search probes the other filters on each of the driver's matches, before it looks
    // the match up in resources; with two hashable filters the first that matches few drives.
    const status: SearchFilter = { kind: 'token', param: 'status', negate: false, anyOf: [{ match: 'code', code: 'final' }] };
    const quantity: SearchFilter = { kind: 'quantity', param: 'value-quantity', anyOf: [{ comparator: 'gt', value: '5', low: '4.5', high: '5.5' }] };
    const [, plannedTwo, byStatus, byCode] = compileSearch(query([status, code, quantity], [{ by: 'lastUpdated', direction: 'asc' }]), PARTITION).text.split('\nUNION ALL\n');
    assert.match(plannedTwo, / AND NOT \(\(SELECT few FROM h0\) OR \(SELECT few FROM h1\)\)\n/);
    assert.match(byStatus, /AS m WHERE \(EXISTS \(SELECT 1 FROM search_token i\d+ WHERE [^\n]*resource_id = m\.id AND [^\n]* OFFSET 0\) AND EXISTS \(SELECT 1 FROM search_quantity i\d+ WHERE [^\n]*resource_id = m\.id [^\n]* OFFSET 0\)\) OFFSET 0\) AS m\n[^\n]* AND \(SELECT few FROM h0\)\n/);
    assert.match(byCode, / AND \(SELECT few FROM h1\) AND NOT \(SELECT few FROM h0\)\n/);
    // A value range is never hashed: counting it could read the whole parameter.
    const ranged = compileSearch(query([quantity], [{ by: 'lastUpdated', direction: 'asc' }]), PARTITION);
    assert.doesNotMatch(ranged.text, /h0|few/);
    assert.match(ranged.text, /LIMIT 4200\) AS r\nWHERE EXISTS \(SELECT 1 FROM search_quantity [^\n]* OFFSET 0\)\n/);
    // A chain to one type whose filter is one range is listed like a code (h0): the references to
    // that range's matches, listed only when those targets number under 100. Below 3,000 the walk
    // hashes them and they drive the search after it; above, each walked row follows its own
    // reference, probed, to the target's filter, itself adaptive (h1). (Sorted by _lastUpdated,
    // such a chain is merged first: see the next test.)
    const name: SearchFilter = { kind: 'string', param: 'name', anyOf: [{ mode: 'prefix', value: 'x' }] };
    const chain: SearchFilter = { kind: 'chain', param: 'subject', targets: [{ targetType: 'Patient', filter: name }] };
    const chained = compileSearch(query([chain], [{ by: 'created', direction: 'asc' }]), PARTITION);
    assertSafe(chained);
    const targetsFew = String.raw`\(SELECT count\(\*\) FROM \(SELECT i\d+\.resource_id FROM search_string i\d+ WHERE [^\n]*? LIMIT 100\) AS t\) < 100`;
    assert.match(chained.text, new RegExp(String.raw`^WITH h0_ids AS MATERIALIZED \(SELECT (i\d+)\.resource_id FROM search_reference \1 WHERE [^\n]*\1\.target_id IN \(SELECT i\d+\.resource_id FROM search_string [^\n]*\) AND ${targetsFew} LIMIT 3000\),\nh0 AS MATERIALIZED \(SELECT \(count\(\*\) < 3000 AND ${targetsFew}\) AS few, count\(\*\) AS matches FROM h0_ids\),\nh1_ids `));
    const [chainWalk, chainPlanned, chainDriven] = chained.text.split('\nUNION ALL\n');
    assert.match(chainWalk, /LIMIT \(CASE WHEN \(SELECT few FROM h0\) THEN \(CASE WHEN \(SELECT matches FROM h0\) <= 21 THEN 0 ELSE LEAST\(31500, 10 \* \(SELECT matches FROM h0\)\) END\) ELSE 4200 END\)\) AS r\n/);
    assert.match(chainWalk, /\nWHERE \(\(NOT \(SELECT few FROM h0\) OR r\.id IN \(SELECT resource_id FROM h0_ids\)\) AND \(\(SELECT few FROM h0\) OR EXISTS \(SELECT 1 FROM search_reference (i\d+) WHERE [^\n]*\1\.resource_id = r\.id AND [^\n]*\(SELECT few FROM h1\)[^\n]*OFFSET 0\)\)\)\n/);
    assert.equal((chainWalk.match(/OFFSET 0/g) ?? []).length, 2);
    assert.doesNotMatch(chainPlanned.replace('NOT (SELECT few FROM h0)', ''), /OFFSET 0|h0|h1/);
    assert.match(chainDriven, /FROM \(SELECT DISTINCT d\.resource_id AS id FROM \(SELECT resource_id FROM h0_ids\) AS d\) AS m WHERE TRUE OFFSET 0\) AS m\n[^\n]* AND \(SELECT few FROM h0\)\n/);
    // A chain that may reach several types, or two links deep, is probed from the walked row; the
    // filter at its far end is adaptive (the names, or the last link, a listed chain), but the walk's
    // budget stays the probed one. The planned search is not fenced.
    const probedChains: Array<[SearchFilter, string]> = [
      [{ ...chain, targets: [{ targetType: 'Patient', filter: name }, { targetType: 'Group', filter: name }] }, 'search_string'],
      [{ ...chain, targets: [{ targetType: 'Patient', filter: { kind: 'chain', param: 'organization', targets: [{ targetType: 'Organization', filter: name }] } }] }, 'search_reference'],
    ];
    for (const [filter, farEnd] of probedChains) {
      const probed = compileSearch(query([filter], [{ by: 'lastUpdated', direction: 'asc' }]), PARTITION);
      assertSafe(probed);
      const walk = probed.text.slice(0, probed.text.indexOf('UNION ALL'));
      assert.match(walk, new RegExp(`^WITH h0_ids AS MATERIALIZED \\(SELECT i\\d+\\.resource_id FROM ${farEnd} `));
      assert.match(walk, /\nWHERE EXISTS \(SELECT 1 FROM search_reference (i\d+) WHERE [^\n]*\1\.resource_id = r\.id [^\n]*\1\.target_id IN \(SELECT resource_id FROM h0_ids\)/);
      assert.match(walk, / LIMIT 4200\) AS r\n/);
      assert.doesNotMatch(probed.text.slice(probed.text.indexOf('UNION ALL')), /OFFSET 0|h0/);
    }
    // A _has first lists and counts its inner matches up to 200 (h0): below that the walk hashes their
    // targets, and its budget is the hashed one; above it each row is tested, the inner token
    // adaptive (h1, up to 10,000) as anywhere else.
    const category: SearchFilter = { kind: 'token', param: 'category', negate: false, anyOf: [{ match: 'code', code: 'x' }] };
    const has: SearchFilter = { kind: 'has', sourceType: 'Observation', param: 'patient', filter: category };
    const hased = compileSearch({ ...query([has], [{ by: 'lastUpdated', direction: 'asc' }]), resourceType: 'Patient' }, PARTITION);
    const hasWalk = hased.text.slice(0, hased.text.indexOf('UNION ALL'));
    assert.match(hasWalk, /^WITH h0_ids AS MATERIALIZED \(SELECT i\d+\.resource_id FROM search_token [^\n]* LIMIT 200\),\nh0 AS MATERIALIZED \(SELECT count\(\*\) < 200 AS few, count\(\*\) AS matches FROM h0_ids\),\nh1_ids AS MATERIALIZED \([^\n]* LIMIT 10000\),\nh1 AS MATERIALIZED \(SELECT count\(\*\) < 10000 AS few, /);
    assert.match(hasWalk, /LIMIT \(CASE WHEN \(SELECT few FROM h0\) THEN 31500 ELSE 4200 END\)\) AS r\n/);
    assert.match(hasWalk, /\(NOT \(SELECT few FROM h0\) OR r\.id IN \(SELECT i\d+\.target_id FROM search_reference i\d+ WHERE [^\n]*\.resource_id IN \(SELECT resource_id FROM h0_ids\)\)\)/);
    assert.match(hasWalk, /\(\(SELECT few FROM h0\) OR EXISTS \(SELECT 1 FROM search_reference i\d+ WHERE [^\n]*\(SELECT few FROM h1\)[^\n]* OFFSET 0\)\)/);
    assert.doesNotMatch(hased.text.slice(hased.text.indexOf('UNION ALL')), /OFFSET 0|h0|h1/);
    // On one code of the `code` parameter the _has reads the code's coded references instead: the
    // walk lists their targets up to 200 (h0) and hashes them below that; above, it probes each
    // row's id in the code's range. Nothing else is listed, and the planned search probes unfenced.
    const coded = compileSearch({ ...query([{ ...has, filter: code }], [{ by: 'lastUpdated', direction: 'asc' }]), resourceType: 'Patient' }, PARTITION);
    assertSafe(coded);
    const [codedWalk, codedPlanned] = coded.text.split('\nUNION ALL\n');
    const range = (x: string) => String.raw`FROM search_coded_reference ${x} WHERE ${x}\.partition_id = \$1::integer AND ${x}\.resource_type = \$\d+::text AND ${x}\.param = \$\d+::text AND ${x}\.code = \$\d+::text AND ${x}\.target_type = \$2::text`;
    assert.match(codedWalk, new RegExp(String.raw`^WITH h0_ids AS MATERIALIZED \(SELECT (i\d+)\.target_id AS resource_id ${range(String.raw`\1`)} LIMIT 200\),\nh0 AS MATERIALIZED \(SELECT count\(\*\) < 200 AS few, count\(\*\) AS matches FROM h0_ids\),\nwalk AS`));
    assert.match(codedWalk, /LIMIT \(CASE WHEN \(SELECT few FROM h0\) THEN 31500 ELSE 4200 END\)\) AS r\n/);
    assert.match(codedWalk, new RegExp(String.raw`\nWHERE \(\(NOT \(SELECT few FROM h0\) OR r\.id IN \(SELECT resource_id FROM h0_ids\)\) AND \(\(SELECT few FROM h0\) OR EXISTS \(SELECT 1 ${range(String.raw`(i\d+)`)} AND \1\.target_id = r\.id OFFSET 0\)\)\)\n`));
    assert.doesNotMatch(coded.text, /search_token|search_reference /);
    assert.match(codedPlanned, new RegExp(String.raw`EXISTS \(SELECT 1 ${range(String.raw`(i\d+)`)} AND \1\.target_id = r\.id\)`));
    // With the code's system, or on another parameter, negated, or several codes, it does not.
    const loinc: SearchFilter = { kind: 'token', param: 'code', negate: false, anyOf: [{ match: 'code', code: 'x', system: 'http://loinc.org' }] };
    assert.match(compileSearch({ ...query([{ ...has, filter: loinc }], [{ by: 'id', direction: 'asc' }]), resourceType: 'Patient' }, PARTITION).text, /search_coded_reference [^\n]* AND \(i\d+\.code = \$\d+::text AND i\d+\.system = \$\d+::text\) AND i\d+\.target_type = /);
    for (const inner of [
      { ...code, negate: true },
      { ...code, anyOf: [{ match: 'code', code: 'x' }, { match: 'code', code: 'y' }] },
      { ...code, anyOf: [{ match: 'code', system: 'http://loinc.org' }] },
    ] as SearchFilter[]) {
      assert.doesNotMatch(compileSearch({ ...query([{ ...has, filter: inner }], [{ by: 'id', direction: 'asc' }]), resourceType: 'Patient' }, PARTITION).text, /search_coded_reference/);
    }
    // A text sort walks its own column's index.
    const textWalk = compileSearch(query([code], [{ by: 'param', param: 'code', valueType: 'text', direction: 'desc' }]), PARTITION);
    assertSafe(textWalk);
    assert.match(textWalk.text, /\nwalk AS MATERIALIZED \(\nSELECT r\.sort_value AS o0, r\.id AS o1 FROM \(SELECT w\.sort_value, w\.resource_id AS id FROM \(SELECT s\d+\.desc_text AS sort_value, s\d+\.resource_id FROM search_sort s\d+\n[^\n]*\nORDER BY s\d+\.desc_text DESC, s\d+\.resource_id DESC LIMIT /);
    for (const notWalked of [
      query([code, patient], [{ by: 'created', direction: 'desc' }]),
      query([code, patient], [{ by: 'param', param: 'code', valueType: 'text', direction: 'desc' }]),
      query([code], [{ by: 'lastUpdated', direction: 'desc' }, { by: 'id', direction: 'asc' }]),
      query([], [{ by: 'lastUpdated', direction: 'desc' }]),
    ]) {
      assert.doesNotMatch(compileSearch(notWalked, PARTITION).text, /walk/);
    }
  });

  it('merges the ordered references to named targets when sorted by _lastUpdated alone', () => {
    const query = (filters: SearchFilter[], sort: SearchQuery['sort'], extra: Partial<SearchQuery> = {}): SearchQuery =>
      ({ resourceType: 'Observation', filters, sort, pageSize: 20, total: 'none', ...extra });
    const byUpdated: SearchQuery['sort'] = [{ by: 'lastUpdated', direction: 'asc' }];
    const patients: SearchFilter = { kind: 'reference', param: 'patient', anyOf: [{ match: 'target', targetType: 'Patient', targetId: 'p1' }, { match: 'target', targetId: 'p2' }] };
    const code: SearchFilter = { kind: 'token', param: 'code', negate: false, anyOf: [{ match: 'code', code: 'x' }] };
    const merged = compileSearch(query([code, patients], byUpdated), PARTITION);
    assertSafe(merged);
    // One ordered stream per target (param, type or any type, id; bound as arrays): at most a page
    // each, distinct, the other filters probed on each reference's resource; then the first page of them all.
    const targets = String.raw`\(SELECT \* FROM unnest\(\$(\d+)::text\[\], \$(\d+)::text\[\], \$(\d+)::text\[\]\) AS s\(param, target_type, target_id\)\) AS s`;
    const stream = String.raw`SELECT DISTINCT (i\d+)\.last_updated, \4\.resource_id FROM search_reference \4\nWHERE \4\.partition_id = \$1::integer AND \4\.resource_type = \$2::text AND \4\.param = s\.param AND \4\.target_id = s\.target_id AND \(s\.target_type IS NULL OR \4\.target_type = s\.target_type\) AND EXISTS \(SELECT 1 FROM search_token i\d+ WHERE [^\n]*\.resource_id = \4\.resource_id AND [^\n]* OFFSET 0\)\nORDER BY \4\.last_updated ASC, \4\.resource_id ASC LIMIT 21`;
    const match = new RegExp(String.raw`FROM \(\nSELECT DISTINCT m\.last_updated AS o0, m\.resource_id AS o1 FROM ${targets} CROSS JOIN LATERAL \(\n${stream}\) AS m\nORDER BY o0 ASC, o1 ASC LIMIT 21\n\) AS page\nJOIN resources r `).exec(merged.text);
    assert.ok(match, merged.text);
    assert.deepEqual([match[1], match[2], match[3]].map((n) => merged.values[Number(n) - 1]), [['patient', 'patient'], ['Patient', null], ['p1', 'p2']]);
    assert.doesNotMatch(merged.text, /walk|resources_by|OFFSET 0\) AS r/);
    // One target: one row of values, no arrays.
    const one = compileSearch(query([{ ...patients, anyOf: [patients.anyOf[0]] } as SearchFilter], byUpdated), PARTITION);
    assertSafe(one);
    assert.match(one.text, /FROM \(SELECT \$(\d+)::text AS param, \$(\d+)::text AS target_type, \$(\d+)::text AS target_id\) AS s CROSS JOIN LATERAL \(\n/);
    assert.doesNotMatch(one.text, /unnest/);

    // Resuming, descending: each stream starts after the cursor, read backwards.
    const after = { values: ['2024-01-01T00:00:00.000000Z'], id: 'o9' };
    const resumed = compileSearch(query([patients], [{ by: 'lastUpdated', direction: 'desc' }], { after }), PARTITION);
    assertSafe(resumed);
    assert.match(resumed.text, /AND \((i\d+)\.last_updated, \1\.resource_id\) < \(\$\d+::timestamptz, \$\d+::text\)\nORDER BY \1\.last_updated DESC, \1\.resource_id DESC LIMIT 21\) AS m\nORDER BY o0 DESC, o1 DESC LIMIT 21/);

    // A compartment's streams are its params times its owners.
    const compartment: SearchFilter = { kind: 'compartment', params: ['subject', 'performer'], targetType: 'Patient', targetIds: ['p1'] };
    const inCompartment = compileSearch(query([compartment], byUpdated), PARTITION);
    assertSafe(inCompartment);
    assert.ok(inCompartment.values.some((value) => Array.isArray(value) && value.join() === 'subject,performer'));
    assert.ok(inCompartment.values.some((value) => Array.isArray(value) && value.join() === 'p1,p1'));

    // A chain listed by one range merges the references to its targets when they are under 100
    // (chain_targets, listed once); with more, the page is scanned as before (walk).
    const name: SearchFilter = { kind: 'string', param: 'name', anyOf: [{ mode: 'prefix', value: 'x' }] };
    const chain: SearchFilter = { kind: 'chain', param: 'subject', targets: [{ targetType: 'Patient', filter: name }] };
    const chained = compileSearch(query([chain], byUpdated), PARTITION);
    assertSafe(chained);
    assert.match(chained.text, /^WITH chain_targets AS MATERIALIZED \(SELECT (i\d+)\.resource_id FROM search_string \1 WHERE [^\n]* LIMIT 100\),\nh0_ids /);
    const [mergedChain, scannedChain] = chained.text.split('\nUNION ALL\nSELECT * FROM (');
    // Each target's first reference, and the last of the page of the target whose first comes
    // first (when it fills one): only targets whose first comes by then are read, up to it.
    assert.match(chained.text, /\nchain_firsts AS MATERIALIZED \(SELECT s\.param, s\.target_type, s\.target_id, f\.last_updated FROM \(SELECT DISTINCT \$\d+::text AS param, \$\d+::text AS target_type, resource_id AS target_id FROM chain_targets\) AS s CROSS JOIN LATERAL \(\n[^\n]*\n[^\n]*\nORDER BY (i\d+)\.last_updated ASC, \1\.resource_id ASC LIMIT 1\) AS f\),\n/);
    assert.match(chained.text, /\nchain_bound AS MATERIALIZED \(SELECT CASE WHEN count\(\*\) > 20 THEN max\(b\.last_updated\) END AS last_updated FROM \(SELECT \* FROM chain_firsts ORDER BY last_updated ASC LIMIT 1\) AS s CROSS JOIN LATERAL \(\n[^\n]*\n[^\n]*\nORDER BY [^\n]* LIMIT 21\) AS b\)\n/);
    const bound = String.raw`<= COALESCE\(\(SELECT last_updated FROM chain_bound\), 'infinity'::timestamptz\)`;
    assert.match(mergedChain, new RegExp(String.raw`FROM \(SELECT param, target_type, target_id FROM chain_firsts WHERE last_updated ${bound}\) AS s CROSS JOIN LATERAL \(\n`));
    assert.match(mergedChain, new RegExp(String.raw`AND i\d+\.last_updated ${bound}\nORDER BY `));
    assert.match(mergedChain, /\) AS merged WHERE \(SELECT count\(\*\) FROM chain_targets\) < 100$/);
    assert.match(scannedChain, /^SELECT \* FROM walk\n/);
    assert.match(scannedChain, /\) AS scanned WHERE NOT \(SELECT count\(\*\) FROM chain_targets\) < 100\n\) AS page\n/);

    // Not merged: another sort, a second sort key, a reference by URL or identifier, a count only,
    // a chain beside a filter that names resources (that filter alone decides), several target types.
    const url: SearchFilter = { kind: 'reference', param: 'patient', anyOf: [{ match: 'target', targetId: 'p1' }, { match: 'url', reference: 'http://x/Patient/p1' }] };
    for (const unmerged of [
      query([patients], [{ by: 'created', direction: 'asc' }]),
      query([patients], [{ by: 'param', param: 'date', valueType: 'date', direction: 'desc' }]),
      query([patients], [...byUpdated, { by: 'id', direction: 'asc' }]),
      query([url], byUpdated),
      query([patients], byUpdated, { pageSize: 0 }),
      query([chain, { kind: 'id', anyOf: ['o1'] }], byUpdated),
      query([{ ...chain, targets: [{ targetType: 'Patient', filter: name }, { targetType: 'Group', filter: name }] }], byUpdated),
    ]) {
      assert.doesNotMatch(compileSearch(unmerged, PARTITION).text, /CROSS JOIN LATERAL \(\nSELECT DISTINCT/);
    }
  });

  it('drives a search sorted on a parameter from the resources referencing the named targets', () => {
    const query = (filters: SearchFilter[], sort: SearchQuery['sort']): SearchQuery => ({ resourceType: 'Observation', filters, sort, pageSize: 20, total: 'none' });
    const byDate: SearchQuery['sort'] = [{ by: 'param', param: 'date', valueType: 'date', direction: 'desc' }];
    const patient: SearchFilter = { kind: 'reference', param: 'patient', anyOf: [{ match: 'target', targetType: 'Patient', targetId: 'p1' }] };
    const code: SearchFilter = { kind: 'token', param: 'code', negate: false, anyOf: [{ match: 'code', code: 'x' }] };
    const driven = compileSearch(query([code, patient], byDate), PARTITION);
    assertSafe(driven);
    // The referencing resources, distinct; each probed for the code (fenced) before its one lookup
    // in resources; then its sort row, and the page.
    // One target is one row of values (several: unnest, as in the merge above).
    const candidates = String.raw`SELECT DISTINCT (i\d+)\.resource_id AS id FROM \(SELECT \$\d+::text AS param, \$\d+::text AS target_type, \$\d+::text AS target_id\) AS s JOIN search_reference \1 ON \1\.partition_id = \$1::integer AND \1\.resource_type = \$2::text AND \1\.param = s\.param AND \1\.target_id = s\.target_id AND \(s\.target_type IS NULL OR \1\.target_type = s\.target_type\)`;
    const probe = String.raw`EXISTS \(SELECT 1 FROM search_token i\d+ WHERE [^\n]*\.resource_id = m\.id AND [^\n]* OFFSET 0\)`;
    assert.match(driven.text, new RegExp(String.raw`FROM \(SELECT m\.id FROM \(${candidates}\) AS m WHERE ${probe} OFFSET 0\) AS m\nCROSS JOIN LATERAL \(SELECT r\.id, r\.last_updated, r\.created_at FROM resources r WHERE [^\n]* AND NOT r\.deleted AND r\.id = m\.id OFFSET 0\) AS r\nLEFT JOIN search_sort s1 `));
    assert.doesNotMatch(driven.text, /walk|EXISTS \(SELECT 1 FROM search_reference/);
    // A compartment of named owners drives the same way; a reference by URL, or no named target, does not.
    const compartment: SearchFilter = { kind: 'compartment', params: ['subject', 'performer'], targetType: 'Patient', targetIds: ['p1'] };
    assert.match(compileSearch(query([compartment], byDate), PARTITION).text, /AS m WHERE TRUE OFFSET 0\) AS m\nCROSS JOIN LATERAL /);
    const url: SearchFilter = { kind: 'reference', param: 'patient', anyOf: [{ match: 'url', reference: 'http://x/Patient/p1' }] };
    for (const undriven of [query([url], byDate), query([patient], [{ by: 'created', direction: 'desc' }])]) {
      assert.doesNotMatch(compileSearch(undriven, PARTITION).text, /CROSS JOIN LATERAL \(SELECT r\.id/);
    }
    // A code alone is walked in date order (search_sort's index), and driven by its own matches when few.
    const byCode = compileSearch(query([code], byDate), PARTITION).text;
    assert.doesNotMatch(byCode, /AS s JOIN search_reference/);
    assert.match(byCode, /\nwalk AS MATERIALIZED \(\nSELECT r\.sort_value AS o0/);
  });

  it('lists a composite of one code and one quantity from the lead index: it counts, hashes and drives like a code', () => {
    const code: SearchFilter = { kind: 'token', param: 'code-value-quantity#0', negate: false, anyOf: [{ match: 'code', system: 's', code: 'x' }] };
    const value: SearchFilter = { kind: 'quantity', param: 'code-value-quantity#1', anyOf: [{ comparator: 'gt', value: '5', low: '4.5', high: '5.5' }] };
    const pair: SearchFilter = { kind: 'composite', param: 'code-value-quantity', anyOf: [[code, value]] };
    const status: SearchFilter = { kind: 'token', param: 'status', negate: false, anyOf: [{ match: 'code', code: 'final' }] };
    const sql = compileSearch({ resourceType: 'Observation', filters: [pair, status], sort: [{ by: 'lastUpdated', direction: 'asc' }], pageSize: 20, total: 'none' }, PARTITION);
    assertSafe(sql);
    // Its list (h0_ids) reads the lead index: quantity part rows by the code and system of their group.
    assert.match(sql.text, /^WITH h0_ids AS MATERIALIZED \(SELECT (i\d+)\.resource_id FROM search_quantity \1 WHERE [^\n]*\1\.param = \$\d+::text AND \1\.lead_code = \$\d+::text AND \1\.lead_system = \$\d+::text AND \1\.value > \$\d+::numeric LIMIT 10000\),\nh0 AS MATERIALIZED \(SELECT count\(\*\) < 10000 AS few, count\(\*\) AS matches FROM h0_ids\)/);
    assert.ok(sql.values.includes('code-value-quantity#1'));
    const [walk, planned, byPair, byStatus] = sql.text.split('\nUNION ALL\n');
    // The walk hashes its matches where they are few, and otherwise tests the group (grp) per row.
    assert.match(walk, /WHERE \(\(NOT \(SELECT few FROM h0\) OR r\.id IN \(SELECT resource_id FROM h0_ids\)\) AND \(\(SELECT few FROM h0\) OR EXISTS \(SELECT 1 FROM search_token [^\n]*grp > 0[^\n]*OFFSET 0\)\)\)/);
    // Its matches, exact, drive the first search after the walk, which tests only the status on each.
    assert.match(byPair, /FROM \(SELECT DISTINCT d\.resource_id AS id FROM \(SELECT resource_id FROM h0_ids\) AS d\) AS m WHERE EXISTS \(SELECT 1 FROM search_token [^\n]* OFFSET 0\) OFFSET 0\) AS m\n[^\n]* AND \(SELECT few FROM h0\)\n/);
    assert.doesNotMatch(byPair.slice(byPair.indexOf(') AS d)')), /search_quantity|grp/);
    assert.match(byStatus, / AND \(SELECT few FROM h1\) AND NOT \(SELECT few FROM h0\)\n/);
    // The planned search tests the group like any composite, without the lead index.
    assert.match(planned, /grp > 0/);
    assert.doesNotMatch(planned, /lead_code/);
    // Two alternatives are not one range: tested per row, never counted.
    const two = compileSearch({ resourceType: 'Observation', filters: [{ ...pair, anyOf: [[code, value], [code, value]] }], sort: [{ by: 'lastUpdated', direction: 'asc' }], pageSize: 20, total: 'none' }, PARTITION);
    assert.doesNotMatch(two.text, /lead_code|h0/);
  });

  it('reads a code and a quantity comparison, the only filter, in _lastUpdated order when they match many', () => {
    const code: SearchFilter = { kind: 'token', param: 'code-value-quantity#0', negate: false, anyOf: [{ match: 'code', system: 's', code: 'x' }] };
    const value: SearchFilter = { kind: 'quantity', param: 'code-value-quantity#1', anyOf: [{ comparator: 'gt', value: '5', low: '4.5', high: '5.5' }] };
    const pair: SearchFilter = { kind: 'composite', param: 'code-value-quantity', anyOf: [[code, value]] };
    const query = (filters: SearchFilter[], extra: Partial<SearchQuery> = {}): SearchQuery =>
      ({ resourceType: 'Observation', filters, sort: [{ by: 'lastUpdated', direction: 'asc' }], pageSize: 20, total: 'none', ...extra });
    const sql = compileSearch(query([pair]), PARTITION);
    assertSafe(sql);
    // The pair's matches are counted up to 200 from the lead index (its own count, after the walk's).
    assert.match(sql.text, /\nh1_ids AS MATERIALIZED \(SELECT (i\d+)\.resource_id FROM search_quantity \1 WHERE [^\n]*\1\.lead_code = \$\d+::text AND \1\.lead_system = \$\d+::text AND \1\.value > \$\d+::numeric LIMIT 200\),\nh1 AS MATERIALIZED \(SELECT count\(\*\) < 200 AS few/);
    // Many: the code's quantities in order, at most 50 entries per page row, each compared in its
    // entry; the passing ones distinct, a page of them.
    assert.match(sql.text, /\nordered_quantities AS MATERIALIZED \(SELECT DISTINCT o0, o1 FROM \(SELECT (i\d+)\.last_updated AS o0, \1\.resource_id AS o1, \1\.value > \$\d+::numeric AS passes FROM search_quantity \1 WHERE \1\.partition_id = \$1::integer AND \1\.resource_type = \$2::text AND \1\.param = \$\d+::text AND \1\.lead_code = \$\d+::text AND \1\.lead_system = \$\d+::text ORDER BY \1\.last_updated ASC, \1\.resource_id ASC LIMIT 1050\) AS e WHERE passes ORDER BY o0 ASC, o1 ASC LIMIT 21\)/);
    // It is the page when the pair matches 200 or more and the read filled the page or read all the code's entries.
    assert.match(sql.text, /\nordered_choice AS MATERIALIZED \(SELECT CASE WHEN \(SELECT few FROM h1\) THEN FALSE ELSE \(SELECT count\(\*\) FROM ordered_quantities\) > 20 OR \(SELECT count\(\*\) FROM \(SELECT 1 FROM search_quantity (i\d+) WHERE [^\n]*\1\.lead_system = \$\d+::text LIMIT 1050\) AS e\) < 1050 END AS chosen\)\n/);
    const [ordered, scanned] = sql.text.split('\nUNION ALL\nSELECT * FROM (');
    assert.match(ordered, /FROM \(\nSELECT \* FROM ordered_quantities WHERE \(SELECT chosen FROM ordered_choice\)$/);
    // Otherwise the scanned page (walk, then the search its matches drive).
    assert.match(scanned, /^SELECT \* FROM walk\n/);
    assert.match(sql.text, /\) AS scanned WHERE NOT \(SELECT chosen FROM ordered_choice\)\n\) AS page\nJOIN resources r /);

    // Resuming, descending: from the cursor, backwards.
    const after = { values: ['2024-01-01T00:00:00.000000Z'], id: 'o9' };
    const resumed = compileSearch(query([pair], { sort: [{ by: 'lastUpdated', direction: 'desc' }], after }), PARTITION);
    assertSafe(resumed);
    assert.match(resumed.text, /AND \((i\d+)\.last_updated, \1\.resource_id\) < \(\$\d+::timestamptz, \$\d+::text\) ORDER BY \1\.last_updated DESC, \1\.resource_id DESC LIMIT 1050\) AS e WHERE passes ORDER BY o0 DESC, o1 DESC LIMIT 21\)/);

    // Not read in order: beside another filter, sorted otherwise, two alternatives, a count only.
    const status: SearchFilter = { kind: 'token', param: 'status', negate: false, anyOf: [{ match: 'code', code: 'final' }] };
    for (const unordered of [
      query([pair, status]),
      query([pair], { sort: [{ by: 'created', direction: 'asc' }] }),
      query([pair], { sort: [{ by: 'lastUpdated', direction: 'asc' }, { by: 'id', direction: 'asc' }] }),
      query([{ ...pair, anyOf: [[code, value], [code, value]] }]),
      query([pair], { pageSize: 0 }),
    ]) {
      assert.doesNotMatch(compileSearch(unordered, PARTITION).text, /ordered_quantities/);
    }
  });

  it('rejects a cursor that does not fit the sort', () => {
    assert.throws(() => compileSearch({ ...hostileQuery(), after: { values: [], id: 'x' } }, PARTITION), RangeError);
  });
});

describe('compileCount', () => {
  it('counts the filtered rows up to the threshold, without paging', () => {
    const sql = compileCount(hostileQuery(), PARTITION);
    assertSafe(sql);
    assert.match(sql.text, new RegExp(`LIMIT ${TOTAL_THRESHOLD + 1}\\n\\) AS matches$`));
    assert.equal(TOTAL_THRESHOLD, 10000);
    assert.doesNotMatch(sql.text, /ORDER BY|search_sort/);
  });
});

