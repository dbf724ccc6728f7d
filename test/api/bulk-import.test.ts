import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type Tenant, type TestApp } from '../helpers/app.js';
import { download, lines, ndjson, waitForJob } from '../helpers/bulk.js';

/** POST /v1/bulk/import and /v1/bulk/export through HTTP, as a client drives them (contract §7). */

let t: TestApp;
let tenant: Tenant;
let other: Tenant;

before(async () => {
  t = await startTestApp({ bulk: { pollMs: 50 } });
  tenant = await t.createTenant();
  other = await t.createTenant();
});
after(() => t.close());

const patients = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({ firstName: `Given${from + i}`, lastName: 'Bulk', gender: i % 2 ? 'female' : 'male', birthDate: '1980-02-03' }));

async function importJob(key: string, body: unknown) {
  const response = await t.request('POST', '/v1/bulk/import', { key, body });
  assert.equal(response.status, 202, response.body);
  assert.match(response.json.data.jobId, /^job_[a-z0-9]{20}$/);
  assert.equal(response.json.data.status, 'pending');
  return waitForJob(t, key, response.json.data.jobId);
}

describe('bulk import and export', () => {
  test('round trip: imported records are stored once, searchable, and exported exactly (tenant and environment only)', async () => {
    const job = await importJob(tenant.keys.test, { resourceType: 'patients', data: ndjson(patients(1200)) });
    assert.equal(job.status, 'completed');
    assert.equal(job.type, 'import');
    assert.deepEqual([job.totalRecords, job.processedRecords, job.errors, job.errorCount], [1200, 1200, [], 0]);

    const found = await t.request('GET', '/v1/patients?name=Given1199', { key: tenant.keys.test });
    assert.equal(found.status, 200, found.body);
    assert.deepEqual(found.json.data.data.map((patient: { lastName: string }) => patient.lastName), ['Bulk'], 'searchable like any patient');
    // Something of the other tenant and of the live environment, which the export must leave out.
    await t.request('POST', '/v1/patients', { key: other.keys.test, body: { firstName: 'Other', lastName: 'Tenant' } });
    await t.request('POST', '/v1/patients', { key: tenant.keys.live!, body: { firstName: 'Live', lastName: 'Env' } });
    await t.request('POST', '/v1/practitioners', { key: tenant.keys.test, body: { firstName: 'Not', lastName: 'Exported' } });

    const kickOff = await t.request('POST', '/v1/bulk/export', { key: tenant.keys.test, body: { resourceTypes: ['Patient'] } });
    assert.equal(kickOff.status, 202, kickOff.body);
    assert.equal(kickOff.json.data.message, 'Export job started');
    const exported = await waitForJob(t, tenant.keys.test, kickOff.json.data.jobId);
    assert.equal(exported.status, 'completed');
    assert.equal(exported.type, 'export');
    assert.equal(exported.totalRecords, 1200);
    assert.equal(exported.processedRecords, 1200);
    assert.match(exported.downloadUrl, /^https:\/\/api\.test\.example\/v1\/bulk\/files\/job_\w+\/export\.ndjson\?expires=\d+&signature=[\w-]+$/);

    const file = await download(t, exported.downloadUrl);
    assert.equal(file.status, 200);
    assert.match(String(file.headers['content-type']), /^application\/fhir\+ndjson/);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const resources = lines(file.body) as any[];
    assert.equal(resources.length, 1200);
    assert.ok(resources.every((resource) => resource.resourceType === 'Patient' && resource.name[0].family === 'Bulk'));
    assert.equal(new Set(resources.map((resource) => resource.id)).size, 1200);
    assert.deepEqual(resources.map((resource) => resource.name[0].given[0]).sort(), patients(1200).map((p) => p.firstName).sort());
    assert.ok(resources.every((resource) => resource.meta.tag.some((tag: { code: string }) => tag.code === tenant.tenantId)));
  });

  test('export honours since and several types, and an export of nothing is an empty file', async () => {
    const key = other.keys.live!;
    const empty = await t.request('POST', '/v1/bulk/export', { key, body: { resourceTypes: ['Observation'] } });
    const emptyJob = await waitForJob(t, key, empty.json.data.jobId);
    assert.deepEqual([emptyJob.status, emptyJob.totalRecords, emptyJob.processedRecords], ['completed', 0, 0]);
    const emptyFile = await download(t, emptyJob.downloadUrl);
    assert.deepEqual([emptyFile.status, emptyFile.body], [200, '']);

    await t.request('POST', '/v1/patients', { key, body: { firstName: 'Old', lastName: 'One' } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const since = new Date().toISOString();
    await t.request('POST', '/v1/patients', { key, body: { firstName: 'New', lastName: 'One' } });
    await t.request('POST', '/v1/practitioners', { key, body: { firstName: 'New', lastName: 'Doc' } });
    const response = await t.request('POST', '/v1/bulk/export', { key, body: { resourceTypes: ['Patient', 'practitioners'], since } });
    const job = await waitForJob(t, key, response.json.data.jobId);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const resources = lines((await download(t, job.downloadUrl)).body) as any[];
    assert.deepEqual(resources.map((resource) => `${resource.resourceType}:${resource.name[0].family}`), ['Patient:One', 'Practitioner:Doc']);
    assert.equal(resources[0].name[0].given[0], 'New');
  });

  test('raw FHIR NDJSON of any R4 type keeps its ids and references; a mismatched or invalid record is that record\'s error', async () => {
    const key = tenant.keys.live!;
    const data = ndjson([
      { resourceType: 'Patient', id: 'mig-p1', name: [{ family: 'Migrated' }] },
      { resourceType: 'Condition', id: 'mig-c1', subject: { reference: 'Patient/mig-p1' }, code: { text: 'x' } },
      { resourceType: 'Patient', birthDate: 'not-a-date' },
      { resourceType: 'NotAType' },
      { resourceType: 'Patient', id: 'bad id!' },
    ]);
    const job = await importJob(key, { format: 'fhir', data });
    assert.equal(job.status, 'completed');
    assert.deepEqual([job.totalRecords, job.processedRecords, job.errorCount], [5, 5, 3]);
    assert.deepEqual(job.errors.map((error: { index: number }) => error.index), [2, 3, 4]);
    assert.match(job.errors[1].message, /^resourceType: /);
    assert.match(job.errors[2].message, /^id: /);
    const condition = await t.request('GET', '/v1/fhir/Condition?subject=Patient/mig-p1', { key });
    assert.equal(condition.json.entry.length, 1);
    assert.equal(condition.json.entry[0].resource.id, 'mig-c1');

    const typed = await importJob(key, { resourceType: 'Patient', format: 'fhir', data: ndjson([{ resourceType: 'Observation', status: 'final', code: { text: 'x' } }]) });
    assert.deepEqual(typed.errors, [{ index: 0, message: 'resourceType: Expected Patient' }]);
  });

  test('invalid records are skipped and reported by index, with the same messages as a single create, and no PHI', async () => {
    const key = other.keys.test;
    const secret = 'Zebediah-Quux-PHI';
    const records = [
      JSON.stringify({ firstName: 'Ok', lastName: 'One' }),
      '{"firstName": "broken json',
      JSON.stringify({ firstName: secret, lastName: 'Two', birthDate: `${secret}-not-a-date` }),
      JSON.stringify([secret]),
      '',
      JSON.stringify({ firstName: 'Ok', lastName: 'Three', unknownField: secret }),
      `{"firstName":"${'x'.repeat(1024 * 1024)}","lastName":"Huge"}`,
      JSON.stringify({ firstName: 'Ok', lastName: 'Four' }),
    ];
    const job = await importJob(key, { resourceType: 'Patient', data: records.join('\n') });
    assert.equal(job.status, 'completed');
    // The blank line is not a record: indexes count records, from 0.
    assert.deepEqual([job.totalRecords, job.processedRecords, job.errorCount], [7, 7, 5]);
    assert.deepEqual(job.errors.map((error: { index: number }) => error.index), [1, 2, 3, 4, 5]);
    assert.equal(job.errors[0].message, 'record: not valid JSON');
    assert.equal(job.errors[4].message, 'record: longer than the 1 MiB a record may have');
    const single = await t.request('POST', '/v1/patients', { key, body: JSON.parse(records[2]) });
    assert.equal(single.status, 422);
    assert.equal(job.errors[1].message, single.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics).join('; '));
    assert.ok(!JSON.stringify(job).includes(secret), 'no PHI in job errors');
    assert.ok(!t.logs.join('').includes(secret), 'no PHI in logs');
    const stored = await t.request('GET', '/v1/patients?name=Four', { key });
    assert.equal(stored.json.data.data.length, 1, stored.body);
  });
});

describe('bulk request validation', () => {
  const cases: Array<[string, string | undefined, number, string, RegExp?]> = [
    ['not JSON', '{"resourceType": "Patient", "data": "x"', 400, 'INVALID_JSON'],
    ['an empty body', '', 400, 'INVALID_JSON'],
    ['a JSON array', '[]', 422, 'VALIDATION_ERROR', /body: Expected object/],
    ['an empty payload', JSON.stringify({ resourceType: 'Patient', data: '' }), 422, 'VALIDATION_ERROR', /data: Must contain at least one record/],
    ['only blank lines', JSON.stringify({ resourceType: 'Patient', data: '\n\n  \n' }), 422, 'VALIDATION_ERROR', /data: Must contain at least one record/],
    ['no data', JSON.stringify({ resourceType: 'Patient' }), 422, 'VALIDATION_ERROR', /data: Required/],
    ['no resourceType', JSON.stringify({ data: '{}' }), 422, 'VALIDATION_ERROR', /resourceType: Required/],
    ['an unknown resourceType', JSON.stringify({ resourceType: 'Spaceship', data: '{}' }), 422, 'VALIDATION_ERROR', /resourceType: Unknown resource type/],
    ['a FHIR type the simplified API lacks', JSON.stringify({ resourceType: 'Condition', data: '{}' }), 422, 'VALIDATION_ERROR', /resourceType: Unknown resource type/],
    ['an unknown format', JSON.stringify({ resourceType: 'Patient', format: 'csv', data: '{}' }), 422, 'VALIDATION_ERROR', /format: Expected simplified or fhir/],
    ['an unknown field', JSON.stringify({ resourceType: 'Patient', data: '{}', extra: 1 }), 422, 'VALIDATION_ERROR', /extra: Unrecognized field/],
    ['data that is not a string', JSON.stringify({ resourceType: 'Patient', data: [{}] }), 422, 'VALIDATION_ERROR', /data: Expected string/],
    ['a NUL character', '{"resourceType":"Patient","data":"{\\"firstName\\":\\"a\\u0000\\"}"}', 400, 'INVALID_JSON'],
    ['more than 10,000 records', JSON.stringify({ resourceType: 'Patient', data: '{}\n'.repeat(10_001) }), 422, 'VALIDATION_ERROR', /data: At most 10000 records per request/],
  ];
  for (const [name, raw, status, code, message] of cases) {
    test(`${name} → ${status} ${code}, and no job`, async () => {
      const before = await t.database.db.pool.query('SELECT count(*)::int AS n FROM bulk_jobs');
      const response = await t.request('POST', '/v1/bulk/import', { key: tenant.keys.test, raw: raw ?? '' });
      assert.equal(response.status, status, response.body);
      assert.equal(response.json.code, code);
      assert.ok(Array.isArray(response.json.issues));
      assert.match(response.json.requestId, /^req_/);
      if (message) assert.match(response.body, message);
      const afterCount = await t.database.db.pool.query('SELECT count(*)::int AS n FROM bulk_jobs');
      assert.equal(afterCount.rows[0].n, before.rows[0].n);
      const input = await t.database.db.pool.query('SELECT count(*)::int AS n FROM bulk_job_input i WHERE NOT EXISTS (SELECT 1 FROM bulk_jobs j WHERE j.id = i.job_id)');
      assert.equal(input.rows[0].n, 0, 'no orphaned input');
    });
  }

  test('a body over the size limit → 413, and a non-JSON media type → 415', async () => {
    const tooBig = await t.request('POST', '/v1/bulk/import', { key: tenant.keys.test, raw: `{"resourceType":"Patient","data":"${'a'.repeat(100 * 1024 * 1024 + 1)}"}` });
    assert.equal(tooBig.status, 413, tooBig.body);
    assert.equal(tooBig.json.code, 'PAYLOAD_TOO_LARGE');
    const text = await t.request('POST', '/v1/bulk/import', { key: tenant.keys.test, raw: 'x', contentType: 'text/plain' });
    assert.equal(text.status, 415);
  });

  test('export parameters are validated', async () => {
    for (const body of [{}, { resourceTypes: [] }, { resourceTypes: ['Nope'] }, { resourceTypes: ['Patient'], since: 'yesterday' }, { resourceTypes: ['Patient'], x: 1 }]) {
      const response = await t.request('POST', '/v1/bulk/export', { key: tenant.keys.test, body });
      assert.equal(response.status, 422, JSON.stringify(body));
      assert.equal(response.json.code, 'VALIDATION_ERROR');
    }
  });
});
