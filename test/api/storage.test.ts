import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { startTestApp, type Tenant, type TestApp } from '../helpers/app.js';
import { officialR4Examples } from '../helpers/resources.js';

/** Storage design properties, checked through the API and then in the tables themselves. */
let t: TestApp;
let tenant: Tenant;

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
});
after(() => t.close());

const TENANT_TABLES = ['resources', 'resource_history', 'history_counters', 'search_token', 'search_string', 'search_reference', 'search_uri', 'search_date', 'search_number', 'search_quantity', 'search_sort', 'search_coded_reference'];
const INDEX_TABLES = TENANT_TABLES.filter((table) => table.startsWith('search_'));

test('every primary key and index of a tenant table leads with partition_id', async () => {
  const { rows } = await t.database.db.pool.query<{ table: string; index: string; first: string }>(
    `SELECT c.relname AS table, i.relname AS index, a.attname AS first
       FROM pg_index x
       JOIN pg_class c ON c.oid = x.indrelid
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
      WHERE c.relname = ANY($1)`,
    [TENANT_TABLES],
  );
  assert.ok(rows.length >= TENANT_TABLES.length);
  for (const row of rows) assert.equal(row.first, 'partition_id', `${row.table}.${row.index}`);
  for (const table of TENANT_TABLES.filter((name) => !name.startsWith('search_') || name === 'search_sort')) {
    assert.ok(rows.some((row) => row.table === table && row.index.endsWith('_pkey')), `${table} has a primary key`);
  }
});

test('every write appends the full version to the history with sequence, operation, key and request id', async () => {
  const key = tenant.keys.test;
  const keyId = (await t.admin('GET', `/admin/tenants/${tenant.tenantId}/keys`)).json.data.find((k: { environment: string }) => k.environment === 'test').id;
  const created = await t.request('POST', '/v1/patients', { key, body: { firstName: 'His', lastName: 'Tory' } });
  const id = created.json.data.id;
  const patched = await t.request('PATCH', `/v1/patients/${id}`, { key, body: { lastName: 'Story' } });
  const deleted = await t.request('DELETE', `/v1/patients/${id}`, { key });
  const { rows } = await t.database.db.pool.query(
    'SELECT seq, version_id, operation, key_id, request_id, content, partition_id FROM resource_history WHERE resource_type = $1 AND id = $2 ORDER BY seq',
    ['Patient', id],
  );
  assert.deepEqual(rows.map((row) => [row.version_id, row.operation, row.key_id, row.request_id]), [
    [1, 'create', keyId, created.headers['x-request-id']],
    [2, 'update', keyId, patched.headers['x-request-id']],
    [3, 'delete', keyId, deleted.headers['x-request-id']],
  ]);
  assert.ok(Number(rows[0].seq) < Number(rows[1].seq) && Number(rows[1].seq) < Number(rows[2].seq));
  assert.equal(JSON.parse(rows[1].content).name[0].family, 'Story');
  assert.equal(rows[2].content, null);
  for (const table of INDEX_TABLES) {
    const left = await t.database.db.pool.query(`SELECT 1 FROM ${table} WHERE resource_type = 'Patient' AND resource_id = $1`, [id]);
    assert.equal(left.rowCount, 0, `${table} rows removed on delete`);
  }
});

test('history sequence numbers are per partition and gapless under concurrent writes', async () => {
  const own = await t.createTenant();
  await Promise.all(Array.from({ length: 20 }, (_, i) => t.request('POST', '/v1/patients', { key: own.keys.test, body: { firstName: `S${i}`, lastName: 'Seq' } })));
  const { rows } = await t.database.db.pool.query(
    `SELECT h.seq FROM resource_history h JOIN api_keys k ON k.partition_id = h.partition_id
      WHERE k.organisation_id = $1 AND k.environment = 'test' ORDER BY h.seq`,
    [own.tenantId],
  );
  assert.deepEqual(rows.map((row) => Number(row.seq)), Array.from({ length: 20 }, (_, i) => i + 1));
});

test('timestamps are UTC with millisecond precision and match the stored resource', async () => {
  const res = await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: { resourceType: 'Patient', gender: 'male' }, contentType: 'application/fhir+json' });
  assert.match(res.json.meta.lastUpdated, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const { rows } = await t.database.db.pool.query(
    `SELECT to_char(last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated FROM resources WHERE id = $1`,
    [res.json.id],
  );
  assert.equal(rows[0].updated, res.json.meta.lastUpdated);
});

test('the reindex job rebuilds index rows written by an older indexer version', async () => {
  const own = await t.createTenant();
  const created = (await t.request('POST', '/v1/patients', { key: own.keys.test, body: { firstName: 'Reindexed', lastName: 'Person' } })).json.data;
  const find = async () => (await t.request('GET', '/v1/patients?name=reindexed', { key: own.keys.test })).json.data.data.map((p: { id: string }) => p.id);
  assert.deepEqual(await find(), [created.id]);
  // Simulate rows from an older indexer: stale version, string rows lost.
  await t.database.db.pool.query("UPDATE resources SET index_version = 0 WHERE resource_type = 'Patient' AND id = $1", [created.id]);
  await t.database.db.pool.query("DELETE FROM search_string WHERE resource_type = 'Patient' AND resource_id = $1", [created.id]);
  assert.deepEqual(await find(), []);
  const reindex = await t.admin('POST', '/admin/reindex');
  assert.equal(reindex.status, 200);
  assert.ok(reindex.json.data.reindexed >= 1);
  assert.deepEqual(await find(), [created.id]);
  const { rows } = await t.database.db.pool.query("SELECT count(*)::int AS stale FROM resources WHERE index_version = 0 AND NOT deleted");
  assert.equal(rows[0].stale, 0);
});

/** Puts the store back as it was before migrations `files` (the `revert` statements), then runs them again in order, in one transaction. */
async function rerunMigrations(files: string[], revert: string[]): Promise<void> {
  const client = await t.database.db.pool.connect();
  try {
    await client.query('BEGIN');
    for (const statement of revert) await client.query(statement);
    for (const file of files) await client.query(await readFile(new URL(`../../src/store/migrations/${file}`, import.meta.url), 'utf8'));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

test('migration 008 gives stored composite quantities exactly the lead codes the indexer now writes', async () => {
  const own = await t.createTenant();
  for (const { file, id, resource } of await officialR4Examples('Observation')) {
    const put = await t.request('PUT', `/v1/fhir/Observation/${id}`, { key: own.keys.test, body: resource, contentType: 'application/fhir+json' });
    assert.equal(put.status, 201, `${file}: ${put.body}`);
  }
  const pool = t.database.db.pool;
  const columns = 'partition_id, resource_type, resource_id, param, grp, value, low, high, system, code, unit, canonical_value, canonical_code';
  const snapshot = async () => (await pool.query(`SELECT ${columns}, lead_system, lead_code FROM search_quantity ORDER BY ${columns}, lead_system, lead_code`)).rows;
  const indexed = await snapshot();
  const led = indexed.filter((row) => row.lead_code !== null);
  assert.ok(led.length > 0);
  // Some component is coded in several systems: its value is written once per coding.
  assert.ok(led.length > new Set(led.map((row) => `${row.resource_id} ${row.grp}`)).size);
  // Back to what the indexer wrote before: no lead columns, each quantity once per group (and,
  // as migration 010 came later, no last_updated either).
  await rerunMigrations(['008_composite_lead_code.sql', '010_quantity_last_updated.sql'], [
    `CREATE TEMPORARY TABLE before_008 ON COMMIT DROP AS SELECT DISTINCT ${columns} FROM search_quantity`,
    'ALTER TABLE search_quantity DROP COLUMN lead_system, DROP COLUMN lead_code, DROP COLUMN last_updated',
    'DELETE FROM search_quantity',
    `INSERT INTO search_quantity (${columns}) SELECT ${columns} FROM before_008`,
  ]);
  assert.deepEqual(await snapshot(), indexed);
  // And the lead index serves the search again.
  const found = await t.request('GET', '/v1/fhir/Observation?component-code-value-quantity=http://acme.org/devices/clinical-codes|bp-s$gt100', { key: own.keys.test });
  assert.equal(found.status, 200, found.body);
  assert.deepEqual(found.json.entry?.map((entry: { resource: { id: string } }) => entry.resource.id).sort(), ['blood-pressure', 'blood-pressure-dar']);
});

test('migrations 009 and 010 and the reindex job give reference and quantity rows their resource\'s last_updated', async () => {
  const own = await t.createTenant();
  for (const { file, id, resource } of await officialR4Examples('Observation')) {
    const put = await t.request('PUT', `/v1/fhir/Observation/${id}`, { key: own.keys.test, body: resource, contentType: 'application/fhir+json' });
    assert.equal(put.status, 201, `${file}: ${put.body}`);
  }
  // A later version: its rows must carry the new instant, not the first one's.
  const example = (await t.request('GET', '/v1/fhir/Observation/example', { key: own.keys.test })).json;
  assert.equal((await t.request('PUT', '/v1/fhir/Observation/example', { key: own.keys.test, body: { ...example, status: 'amended' }, contentType: 'application/fhir+json' })).status, 200);
  const pool = t.database.db.pool;
  const snapshot = async () => Promise.all([
    ['search_reference', 'x.target_type, x.target_id, x.reference'],
    ['search_quantity', 'x.grp, x.value::text, x.code, x.lead_code'],
  ].map(async ([table, columns]) => (await pool.query(
    `SELECT x.resource_id, x.param, ${columns}, x.last_updated = r.last_updated AS current FROM ${table} x
      JOIN resources r ON r.partition_id = x.partition_id AND r.resource_type = x.resource_type AND r.id = x.resource_id
      WHERE x.resource_type = 'Observation' ORDER BY 1, 2, 3, 4, 5, 6`,
  )).rows));
  const indexed = await snapshot();
  const [references, quantities] = indexed;
  assert.ok(references.length > 50 && references.every((row) => row.current), 'every reference row written carries its resource\'s instant');
  assert.ok(quantities.length > 20 && quantities.every((row) => row.current), 'every quantity row written carries its resource\'s instant');
  assert.ok(quantities.some((row) => row.resource_id === 'example'));
  // Back to the rows before migrations 009 and 010, then the migrations again.
  await rerunMigrations(['009_reference_last_updated.sql', '010_quantity_last_updated.sql'], [
    'ALTER TABLE search_reference DROP COLUMN last_updated',
    'CREATE INDEX search_reference_lookup ON search_reference (partition_id, resource_type, param, target_id, target_type, resource_id)',
    'ALTER TABLE search_quantity DROP COLUMN last_updated',
  ]);
  assert.deepEqual(await snapshot(), indexed);
  // The reindex job rewrites the rows of the current version with that version's instant.
  await pool.query("UPDATE resources SET index_version = 0 WHERE resource_type = 'Observation'");
  await pool.query("UPDATE search_reference SET last_updated = '2001-01-01T00:00:00Z' WHERE resource_type = 'Observation'");
  await pool.query("UPDATE search_quantity SET last_updated = '2001-01-01T00:00:00Z' WHERE resource_type = 'Observation'");
  assert.equal((await t.admin('POST', '/admin/reindex')).status, 200);
  assert.deepEqual(await snapshot(), indexed);
  // And the merged page reads them: the updated example comes last.
  const page = await t.request('GET', '/v1/fhir/Observation?subject=Patient/example&_count=100', { key: own.keys.test });
  assert.equal(page.status, 200, page.body);
  const ids = page.json.entry.map((entry: { resource: { id: string } }) => entry.resource.id);
  assert.ok(ids.length > 3);
  assert.equal(ids[ids.length - 1], 'example');
});

test('migration 011 derives exactly the coded references every write path stores, and the reindex job rewrites them', async () => {
  const own = await t.createTenant();
  const types = ['Observation', 'MedicationRequest', 'DiagnosticReport', 'Medication', 'Encounter', 'Patient'];
  for (const type of types) {
    for (const { file, id, resource } of await officialR4Examples(type)) {
      const put = await t.request('PUT', `/v1/fhir/${type}/${id}`, { key: own.keys.test, body: resource, contentType: 'application/fhir+json' });
      assert.equal(put.status, 201, `${file}: ${put.body}`);
    }
  }
  // A later version and a deleted resource: the rows follow the current version only.
  const example = (await t.request('GET', '/v1/fhir/Observation/example', { key: own.keys.test })).json;
  const recoded = { ...example, code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] } };
  assert.equal((await t.request('PUT', '/v1/fhir/Observation/example', { key: own.keys.test, body: recoded, contentType: 'application/fhir+json' })).status, 200);
  const deleted = (await officialR4Examples('MedicationRequest'))[0].id;
  assert.equal((await t.request('DELETE', `/v1/fhir/MedicationRequest/${deleted}`, { key: own.keys.test })).status, 204);
  const pool = t.database.db.pool;
  const snapshot = async () => (await pool.query(
    'SELECT partition_id, resource_type, resource_id, param, target_type, target_id, system, code FROM search_coded_reference ORDER BY 1, 2, 3, 4, 5, 6, 7, 8',
  )).rows;
  const everyTenant = await snapshot();
  const [{ id: partition }] = (await pool.query("SELECT id FROM partitions WHERE organisation_id = $1 AND environment = 'test'", [own.tenantId])).rows;
  const stored = everyTenant.filter((row) => row.partition_id === partition);
  const example29463 = (row: { resource_id: string; code: string }) => row.resource_id === 'example' && row.code === '29463-7';
  assert.ok(stored.length > 100, `${stored.length} rows`);
  // Those with a code parameter (Medication's references none of its own here), none without.
  assert.deepEqual(new Set(stored.map((row) => row.resource_type)), new Set(['Observation', 'MedicationRequest', 'DiagnosticReport']));
  assert.deepEqual(
    stored.filter((row) => row.resource_type === 'Observation' && row.resource_id === 'example').map((row) => [row.param, row.target_type, row.target_id, row.system, row.code]),
    [['encounter', 'Encounter', 'example', 'http://loinc.org', '8867-4'], ['patient', 'Patient', 'example', 'http://loinc.org', '8867-4'], ['subject', 'Patient', 'example', 'http://loinc.org', '8867-4']],
  );
  assert.ok(!stored.some(example29463), 'the old version\'s code is gone');
  assert.ok(!stored.some((row) => row.resource_type === 'MedicationRequest' && row.resource_id === deleted), 'a deleted resource has none');
  // A resource with a code in two systems pairs each reference with both.
  assert.ok(stored.some((row) => stored.some((other) => other !== row && other.resource_id === row.resource_id && other.resource_type === row.resource_type && other.param === row.param && other.system !== row.system)));
  await rerunMigrations(['011_coded_references.sql'], ['DROP TABLE search_coded_reference']);
  assert.deepEqual(await snapshot(), everyTenant);
  await pool.query('UPDATE resources SET index_version = 0');
  await pool.query('DELETE FROM search_coded_reference');
  assert.equal((await t.admin('POST', '/admin/reindex')).status, 200);
  assert.deepEqual(await snapshot(), everyTenant);
  // The reverse chain reads them: the patient of the new code, not of the old one.
  const patients = async (code: string) =>
    (await t.request('GET', `/v1/fhir/Patient?_has:Observation:patient:code=${encodeURIComponent(code)}`, { key: own.keys.test })).json.entry?.map((entry: { resource: { id: string } }) => entry.resource.id) ?? [];
  assert.deepEqual(await patients('http://loinc.org|8867-4'), ['example']);
  assert.deepEqual(await patients('29463-7'), []);
});

test('migrations are idempotent', async () => {
  const { migrate } = await import('../../src/store/migrate.js');
  assert.deepEqual(await migrate(t.database.db), []);
  assert.deepEqual(await migrate(t.database.db), []);
});

test('API keys are stored only as SHA-256 hashes, and the planner has the token statistics', async () => {
  const own = await t.createTenant();
  const { rows } = await t.database.db.pool.query(
    "SELECT k.key_hash, row_to_json(k)::text AS whole FROM api_keys k WHERE k.organisation_id = $1 AND k.environment = 'test'",
    [own.tenantId],
  );
  const { createHash } = await import('node:crypto');
  assert.deepEqual(rows[0].key_hash, createHash('sha256').update(own.keys.test).digest());
  const secret = own.keys.test.slice('clk_test_'.length);
  const everything = await t.database.db.pool.query('SELECT string_agg(row_to_json(k)::text, \'\') AS dump FROM api_keys k');
  assert.ok(!everything.rows[0].dump.includes(secret), 'no table column holds the key itself');
  assert.ok(!rows[0].whole.includes(secret.slice(0, 12)));
  const stats = await t.database.db.pool.query("SELECT 1 FROM pg_statistic_ext WHERE stxname = 'search_token_stats'");
  assert.equal(stats.rowCount, 1);
});

test('a fresh store gets planner statistics from its first writes, before they answer, and again each time it doubles', async () => {
  const fresh = await startTestApp();
  try {
    const pool = fresh.database.db.pool;
    // What is checked is the app's own refresh (src/store/statistics.ts): autovacuum, which could
    // analyze these tables on its own schedule, is kept out of this database.
    for (const table of ['resources', ...INDEX_TABLES]) await pool.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    const own = await fresh.createTenant();
    const stored = async () => Number((await pool.query("SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'resources'::regclass")).rows[0].rows);
    const namesAnalyzed = async () => (await pool.query("SELECT 1 FROM pg_stats WHERE tablename = 'search_string' AND attname = 'value'")).rowCount;
    const write = async (first: number, count: number) => {
      const entry = Array.from({ length: count }, (_, k) => ({
        resource: { resourceType: 'Patient', name: [{ family: `Stat${first + k}` }] },
        request: { method: 'POST', url: 'Patient' },
      }));
      const res = await fresh.request('POST', '/v1/fhir', { key: own.keys.test, body: { resourceType: 'Bundle', type: 'transaction', entry }, contentType: 'application/fhir+json' });
      assert.equal(res.status, 200, res.body.slice(0, 300));
    };
    assert.ok((await stored()) <= 0, 'the new store starts without statistics');
    await write(0, 150);
    assert.ok((await stored()) <= 0, 'fewer than 200 writes do not analyze');
    assert.equal(await namesAnalyzed(), 0);
    // The write that reaches 200 returns once the tables are analyzed.
    await write(150, 100);
    assert.equal(await stored(), 250);
    assert.equal(await namesAnalyzed(), 1);
    // The next analysis comes once as many resources again (250) are written.
    await write(250, 200);
    assert.equal(await stored(), 250);
    await write(450, 60);
    assert.equal(await stored(), 510);
  } finally {
    await fresh.close();
  }
});
