import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertOutcome, sleep } from '../helpers/assertions.js';
import { PUBLIC_URL, startTestApp, type Response, type Tenant, type TestApp } from '../helpers/app.js';

/**
 * FHIR Bulk Data $export as a client drives it: kick-off (system, Patient and Group levels, GET
 * and POST), polling, the manifest, the signed downloads, `_type`, `_since`, `_typeFilter`,
 * cancel, and tenant isolation. A tenant may start 5 bulk jobs an hour, so the tests spread their
 * exports over several tenants that hold the same seeded data.
 */

const FHIR = 'application/fhir+json';
const ASYNC = { prefer: 'respond-async', accept: FHIR };
const LOINC = 'http://loinc.org';

let t: TestApp;

before(async () => {
  t = await startTestApp();
});
after(() => t.close());

/** A tenant holding: 3 patients, 3 observations (2 of p1), an encounter of p1, a condition of p3, a practitioner, and group g = {p1, p3}. */
async function seededTenant(): Promise<Tenant> {
  const tenant = await t.createTenant({ name: 'export' });
  const put = async (resource: Record<string, unknown>) => {
    const res = await t.request('PUT', `/v1/fhir/${String(resource.resourceType)}/${String(resource.id)}`, { key: tenant.keys.test, body: resource, contentType: FHIR });
    assert.equal(res.status, 201, res.body);
  };
  for (const id of ['p1', 'p2', 'p3']) await put({ resourceType: 'Patient', id, gender: 'female', name: [{ family: `Family-${id}` }] });
  const observation = (id: string, patient: string, code: string) => ({ resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: LOINC, code }] }, subject: { reference: `Patient/${patient}` } });
  await put(observation('o1', 'p1', '8867-4'));
  await put(observation('o2', 'p1', '29463-7'));
  await put(observation('o3', 'p2', '8867-4'));
  await put({ resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } });
  await put({ resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p3' } });
  await put({ resourceType: 'Practitioner', id: 'dr1', name: [{ family: 'Who' }] });
  await put({ resourceType: 'Group', id: 'g', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p1' } }, { entity: { reference: 'Patient/p3' } }, { entity: { reference: 'Patient/p2' }, inactive: true }] });
  return tenant;
}

async function kickOff(tenant: Tenant, path: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<string> {
  const res = await t.request(options.method ?? 'GET', `/v1/fhir/${path}`, { key: tenant.keys.test, body: options.body, contentType: FHIR, headers: options.headers ?? ASYNC });
  assert.equal(res.status, 202, res.body);
  const location = String(res.headers['content-location']);
  assert.match(location, new RegExp(`^${PUBLIC_URL}/v1/fhir/\\$export-status/job_[a-z0-9]+$`));
  return location.slice(PUBLIC_URL.length);
}

/** Polls the status URL until the export completes; checks the 202 answers on the way. */
async function poll(tenant: Tenant, statusPath: string): Promise<Response> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const res = await t.request('GET', statusPath, { key: tenant.keys.test });
    if (res.status !== 202) return res;
    assert.ok(res.headers['x-progress'], 'a running export says how far it is');
    assert.match(String(res.headers['retry-after']), /^\d+$/);
    await sleep(100);
  }
  throw new Error('the export did not finish in time');
}

interface Manifest { transactionTime: string; request: string; requiresAccessToken: boolean; output: Array<{ type: string; url: string; count: number }>; error: unknown[] }

/** Downloads every file of a completed export (no API key: the URLs are signed); type → resources. */
async function exported(tenant: Tenant, statusPath: string): Promise<{ manifest: Manifest; files: Map<string, Array<Record<string, unknown>>> }> {
  const res = await poll(tenant, statusPath);
  assert.equal(res.status, 200, res.body);
  const manifest = res.json as Manifest;
  assert.equal(manifest.requiresAccessToken, false);
  assert.deepEqual(manifest.error, []);
  assert.match(manifest.transactionTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const files = new Map<string, Array<Record<string, unknown>>>();
  for (const entry of manifest.output) {
    assert.ok(entry.url.startsWith(`${PUBLIC_URL}/`), entry.url);
    const download = await t.request('GET', entry.url.slice(PUBLIC_URL.length));
    assert.equal(download.status, 200, download.body);
    assert.match(String(download.headers['content-type']), /^application\/fhir\+ndjson/);
    assert.ok(download.body.endsWith('\n'));
    const resources = download.body.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(resources.length, entry.count, `${entry.type}: count matches the file`);
    for (const resource of resources) assert.equal(resource.resourceType, entry.type);
    assert.ok(!files.has(entry.type), 'one file per type');
    files.set(entry.type, resources);
  }
  return { manifest, files };
}

const ids = (resources: Array<Record<string, unknown>> | undefined) => (resources ?? []).map((resource) => String(resource.id)).sort();

describe('FHIR Bulk Data $export', () => {
  let a: Tenant;
  let b: Tenant;

  before(async () => {
    [a, b] = [await seededTenant(), await seededTenant()];
  });

  test('system level exports every resource of the tenant, one file per type', async () => {
    const other = await t.createTenant({ name: 'other' });
    const stray = await t.request('PUT', '/v1/fhir/Patient/stranger', { key: other.keys.test, body: { resourceType: 'Patient', id: 'stranger' }, contentType: FHIR });
    assert.equal(stray.status, 201);
    const live = await t.request('PUT', '/v1/fhir/Patient/live-one', { key: a.keys.live!, body: { resourceType: 'Patient', id: 'live-one' }, contentType: FHIR });
    assert.equal(live.status, 201);

    const statusPath = await kickOff(a, '$export');
    const { manifest, files } = await exported(a, statusPath);
    assert.equal(manifest.request, `${PUBLIC_URL}/v1/fhir/$export`);
    assert.deepEqual([...files.keys()].sort(), ['Condition', 'Encounter', 'Group', 'Observation', 'Patient', 'Practitioner']);
    assert.deepEqual(ids(files.get('Patient')), ['p1', 'p2', 'p3'], 'neither another tenant nor the live environment');
    assert.deepEqual(ids(files.get('Observation')), ['o1', 'o2', 'o3']);
    const read = await t.request('GET', '/v1/fhir/Observation/o1', { key: a.keys.test });
    assert.deepEqual(files.get('Observation')![0], read.json, 'the stored resource, as a read returns it');
  });

  test('_type limits the types; Patient level follows the Patient compartment', async () => {
    const { files } = await exported(a, await kickOff(a, 'Patient/$export?_type=Patient,Observation'));
    assert.deepEqual([...files.keys()].sort(), ['Observation', 'Patient']);

    const compartment = await exported(a, await kickOff(a, 'Patient/$export'));
    assert.ok(!compartment.files.has('Practitioner'), 'a Practitioner is in no Patient compartment');
    assert.deepEqual(ids(compartment.files.get('Observation')), ['o1', 'o2', 'o3']);
    assert.deepEqual(ids(compartment.files.get('Encounter')), ['e1']);
    assert.deepEqual(ids(compartment.files.get('Group')), ['g'], 'Group.member puts a group in its members\' compartments');
  });

  test('Group level exports the compartments of its active Patient members', async () => {
    const { manifest, files } = await exported(a, await kickOff(a, 'Group/g/$export'));
    assert.equal(manifest.request, `${PUBLIC_URL}/v1/fhir/Group/g/$export`);
    assert.deepEqual(ids(files.get('Patient')), ['p1', 'p3'], 'p2 is an inactive member');
    assert.deepEqual(ids(files.get('Observation')), ['o1', 'o2']);
    assert.deepEqual(ids(files.get('Condition')), ['c1']);
    assert.ok(!files.has('Practitioner'));
  });

  test('POST with a Parameters body: _type, _since and _typeFilter (ORed, each resource once)', async () => {
    await sleep(5);
    const late = await t.request('PUT', '/v1/fhir/Patient/p4', { key: b.keys.test, body: { resourceType: 'Patient', id: 'p4' }, contentType: FHIR });
    assert.equal(late.status, 201);
    const since = late.json.meta.lastUpdated as string;
    const body = {
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Patient,Observation' },
        { name: '_since', valueInstant: since },
        { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
      ],
    };
    const recent = await exported(b, await kickOff(b, '$export', { method: 'POST', body }));
    assert.deepEqual([...recent.files.keys()], ['Patient']);
    assert.deepEqual(ids(recent.files.get('Patient')), ['p4'], 'only what changed since _since');

    // o1 and o3 have the code, o3 belongs to p2: o3 matches both queries and is exported once.
    const query = `_type=Observation&_typeFilter=${encodeURIComponent(`Observation?code=${LOINC}|8867-4,Observation?subject=Patient/p2`)}`;
    const filtered = await exported(b, await kickOff(b, `$export?${query}`));
    assert.deepEqual(ids(filtered.files.get('Observation')), ['o1', 'o3']);
  });

  test('DELETE on the status URL cancels the export; the status URL then answers 404', async () => {
    const statusPath = await kickOff(b, 'Group/g/$export');
    const cancelled = await t.request('DELETE', statusPath, { key: b.keys.test });
    assert.equal(cancelled.status, 202, cancelled.body);
    assertOutcome(await t.request('GET', statusPath, { key: b.keys.test }), 404, 'not-found', 'after cancel');
    assertOutcome(await t.request('DELETE', statusPath, { key: b.keys.test }), 404, 'not-found', 'cancel twice');

    // A completed export can be deleted too: its files go with it.
    const donePath = await kickOff(b, 'Patient/$export?_type=Patient');
    const { manifest } = await exported(b, donePath);
    assert.equal((await t.request('DELETE', donePath, { key: b.keys.test })).status, 202);
    assertOutcome(await t.request('GET', donePath, { key: b.keys.test }), 404, 'not-found', 'after delete');
    assert.equal((await t.request('GET', manifest.output[0].url.slice(PUBLIC_URL.length))).status, 404, 'the file is gone');
  });

  test('a failed export answers its status poll with a 500 OperationOutcome giving the reason', async () => {
    const statusPath = await kickOff(b, '$export?_type=Patient');
    assert.equal((await poll(b, statusPath)).status, 200);
    // Jobs fail by deadline or repeated internal errors (runner tests); here the row says so directly.
    await t.database.db.pool.query("UPDATE bulk_jobs SET status = 'failed', failure = 'The job exceeded its deadline of 60 minutes' WHERE id = $1", [statusPath.split('/').pop()]);
    const res = await t.request('GET', statusPath, { key: b.keys.test });
    assertOutcome(res, 500, 'exception');
    assert.equal(res.json.issue[0].diagnostics, 'The job exceeded its deadline of 60 minutes');
  });

  test('another tenant (or environment) cannot see, poll or cancel the export', async () => {
    const statusPath = await kickOff(a, 'Patient/$export?_type=Patient');
    for (const key of [b.keys.test, a.keys.live!]) {
      assertOutcome(await t.request('GET', statusPath, { key }), 404, 'not-found', 'poll');
      assertOutcome(await t.request('DELETE', statusPath, { key }), 404, 'not-found', 'cancel');
    }
    assert.equal((await poll(a, statusPath)).status, 200, 'still there for its owner');
  });

  test('the sixth kick-off of the hour answers 429 with Retry-After', async () => {
    const res = await t.request('GET', '/v1/fhir/$export', { key: a.keys.test, headers: ASYNC });
    assertOutcome(res, 429, 'throttled');
    assert.match(String(res.headers['retry-after']), /^\d+$/);
  });

  test('bad kick-offs answer 400 or 404 OperationOutcomes and start no job', async () => {
    const fresh = await t.createTenant({ name: 'bad-input' });
    const ask = (path: string, headers: Record<string, string> = ASYNC, body?: unknown) =>
      t.request(body === undefined ? 'GET' : 'POST', `/v1/fhir/${path}`, { key: fresh.keys.test, headers, body, contentType: FHIR });
    assertOutcome(await ask('$export', { accept: FHIR }), 400, 'invalid', 'no Prefer: respond-async');
    assertOutcome(await ask('$export?_outputFormat=text/csv'), 400, 'invalid', '_outputFormat');
    assertOutcome(await ask('$export?_type=Nonsense'), 400, 'invalid', '_type');
    assertOutcome(await ask('Patient/$export?_type=Practitioner'), 400, 'invalid', '_type outside the compartment');
    assertOutcome(await ask('$export?_since=yesterday'), 400, 'invalid', '_since');
    assertOutcome(await ask(`$export?_typeFilter=${encodeURIComponent('Observation?nonsense=1')}`), 400, 'invalid', 'unknown _typeFilter parameter');
    assertOutcome(await ask(`$export?_typeFilter=${encodeURIComponent('Observation?_count=5')}`), 400, 'invalid', 'result parameter in _typeFilter');
    assertOutcome(await ask('$export?includeAssociatedData=x'), 400, 'invalid', 'unsupported parameter');
    assertOutcome(await ask('$export', ASYNC, { resourceType: 'Patient' }), 400, 'invalid', 'POST without Parameters');
    assertOutcome(await ask('Group/missing/$export'), 404, 'not-found', 'unknown group');
    assertOutcome(await t.request('GET', '/v1/fhir/$export-status/job_doesnotexist', { key: fresh.keys.test }), 404, 'not-found', 'unknown job');
    const put = await t.request('PUT', '/v1/fhir/Patient/$export', { key: fresh.keys.test, body: {}, contentType: FHIR });
    assertOutcome(put, 405, 'not-supported', 'PUT on a kick-off URL');
    assert.equal(put.headers.allow, 'GET, POST');
    assert.equal((await t.request('HEAD', '/v1/fhir/$export', { key: fresh.keys.test, headers: ASYNC })).status, 405, 'HEAD starts no export');
    // None of these counted against the quota: five exports still start.
    for (let i = 0; i < 5; i++) await kickOff(fresh, '$export?_type=Patient');
  });

  test('the CapabilityStatement lists $export; Group reads still route normally', async () => {
    const res = await t.request('GET', '/v1/fhir/metadata');
    const statement = res.json;
    assert.deepEqual(statement.rest[0].operation.map((operation: { name: string }) => operation.name), ['export']);
    const group = statement.rest[0].resource.find((resource: { type: string }) => resource.type === 'Group');
    assert.equal(group.operation[0].definition, 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export');
    const read = await t.request('GET', '/v1/fhir/Group/g', { key: a.keys.test });
    assert.equal(read.status, 200, read.body);
  });
});
