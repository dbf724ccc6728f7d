import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { PUBLIC_URL, startTestApp, type Tenant, type TestApp } from '../helpers/app.js';

const FIXTURES = new URL('../../../shared/fixtures/fhir-r4-examples/', import.meta.url);
const TENANT_TAG = 'https://clinikapi.com/tenant';
const FHIR = 'application/fhir+json';

let t: TestApp;
let tenant: Tenant;

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
});
after(() => t.close());

const fhir = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  t.request(method, `/v1/fhir/${path}`, { key: tenant.keys.test, body, contentType: FHIR, headers });

/** A resource without the server-controlled meta, for comparing what went in with what comes out. */
function withoutMeta(resource: Record<string, unknown>): Record<string, unknown> {
  const { meta: _meta, ...rest } = resource;
  return rest;
}

describe('FHIR passthrough CRUD', () => {
  test('POST creates with 201, an absolute Location, ETag and the tenant tag', async () => {
    const res = await fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Chalmers', given: ['Peter'] }] });
    assert.equal(res.status, 201, res.body);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
    const body = res.json;
    assert.equal(body.resourceType, 'Patient');
    assert.equal(res.headers.location, `${PUBLIC_URL}/v1/fhir/Patient/${body.id}/_history/1`);
    assert.equal(res.headers.etag, 'W/"1"');
    assert.equal(body.meta.versionId, '1');
    assert.match(body.meta.lastUpdated, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual(body.meta.tag, [{ system: TENANT_TAG, code: tenant.tenantId }]);
    assert.equal(body.data, undefined, 'not enveloped');
    const read = await fhir('GET', `Patient/${body.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body, res.body, 'a read sends the stored bytes');
  });

  test('PUT creates with the client id, then updates with a new version', async () => {
    const id = `put-${Date.now()}`;
    const created = await fhir('PUT', `Patient/${id}`, { resourceType: 'Patient', id, gender: 'male' });
    assert.equal(created.status, 201, created.body);
    assert.equal(created.json.id, id);
    const updated = await fhir('PUT', `Patient/${id}`, { resourceType: 'Patient', id, gender: 'female' });
    assert.equal(updated.status, 200);
    assert.equal(updated.json.meta.versionId, '2');
    assert.equal(updated.json.gender, 'female');
    const mismatch = await fhir('PUT', `Patient/${id}`, { resourceType: 'Patient', id: 'other', gender: 'female' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.json.resourceType, 'OperationOutcome');
  });

  test('PATCH applies a JSON Patch array or merges an object', async () => {
    const { json: created } = await fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Doe', given: ['Jane'] }], gender: 'female' });
    const patched = await t.request('PATCH', `/v1/fhir/Patient/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: [{ op: 'replace', path: '/name/0/family', value: 'Johnson' }, { op: 'add', path: '/telecom', value: [{ system: 'phone', value: '555' }] }],
    });
    assert.equal(patched.status, 200, patched.body);
    assert.equal(patched.json.name[0].family, 'Johnson');
    assert.equal(patched.json.telecom[0].value, '555');
    assert.equal(patched.json.meta.versionId, '2');

    const merged = await fhir('PATCH', `Patient/${created.id}`, { gender: null, birthDate: '1970-01-01' });
    assert.equal(merged.status, 200);
    assert.equal(merged.json.gender, undefined);
    assert.equal(merged.json.birthDate, '1970-01-01');
    assert.equal(merged.json.name[0].family, 'Johnson');

    const failing = await t.request('PATCH', `/v1/fhir/Patient/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: [{ op: 'replace', path: '/gender', value: 'male' }, { op: 'test', path: '/birthDate', value: '2000-01-01' }],
    });
    assert.equal(failing.status, 400);
    const after = await fhir('GET', `Patient/${created.id}`);
    assert.equal(after.json.gender, undefined, 'a failed patch changes nothing');
    assert.equal(after.json.meta.versionId, '3');

    const invalid = await fhir('PATCH', `Patient/${created.id}`, { gender: 42 });
    assert.equal(invalid.status, 422);
  });

  test('DELETE answers 204, then reads answer 410 Gone and PUT re-creates the id', async () => {
    const { json: created } = await fhir('POST', 'Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
    assert.equal((await fhir('DELETE', `Observation/${created.id}`)).status, 204);
    const gone = await fhir('GET', `Observation/${created.id}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.json.resourceType, 'OperationOutcome');
    assert.equal((await fhir('DELETE', `Observation/${created.id}`)).status, 404);
    const recreated = await fhir('PUT', `Observation/${created.id}`, { resourceType: 'Observation', id: created.id, status: 'final', code: { text: 'y' } });
    assert.equal(recreated.status, 201);
    assert.equal(recreated.json.meta.versionId, '3');
  });

  test('unknown types, malformed ids and invalid resources', async () => {
    assert.equal((await fhir('GET', 'Nonsense/123')).status, 404);
    assert.equal((await fhir('POST', 'Nonsense', { resourceType: 'Nonsense' })).status, 404);
    assert.equal((await fhir('GET', 'Patient/bad_id')).status, 400);
    assert.equal((await fhir('GET', `Patient/${'a'.repeat(65)}`)).status, 400);
    assert.equal((await fhir('GET', 'Patient/does-not-exist')).status, 404);
    const collectionPut = await fhir('PUT', 'Patient', { resourceType: 'Patient' });
    assert.equal(collectionPut.status, 405);
    assert.equal(collectionPut.headers.allow, 'GET, POST, HEAD');
    assert.equal(collectionPut.json.resourceType, 'OperationOutcome');
    const wrongType = await fhir('POST', 'Patient', { resourceType: 'Observation' });
    assert.equal(wrongType.status, 400);
    const invalid = await fhir('POST', 'Patient', { resourceType: 'Patient', birthDate: 'yesterday-secret', foo: 1 });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.json.resourceType, 'OperationOutcome');
    assert.ok(invalid.json.issue.length >= 2);
    assert.ok(!invalid.body.includes('yesterday-secret'));
  });

  test('any R4 type works, including types the simplified API does not cover', async () => {
    const res = await fhir('POST', 'CarePlan', { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/p1' } });
    assert.equal(res.status, 201, res.body);
    const search = await fhir('GET', 'CarePlan?subject=Patient/p1');
    assert.equal(search.status, 200);
    assert.equal(search.json.resourceType, 'Bundle');
    assert.deepEqual(search.json.entry.map((e: { resource: { id: string } }) => e.resource.id), [res.json.id]);
  });

  test('search returns a searchset Bundle with paging links', async () => {
    const pager = await t.createTenant();
    for (let i = 0; i < 3; i++) {
      await t.request('POST', '/v1/fhir/Patient', { key: pager.keys.test, body: { resourceType: 'Patient', name: [{ family: `Pager${i}` }] }, contentType: FHIR });
    }
    const first = await t.request('GET', '/v1/fhir/Patient?_count=2&_total=accurate', { key: pager.keys.test });
    assert.equal(first.status, 200);
    assert.equal(first.json.type, 'searchset');
    assert.equal(first.json.total, 3);
    assert.equal(first.json.entry.length, 2);
    const next = first.json.link.find((link: { relation: string }) => link.relation === 'next');
    assert.ok(next.url.startsWith(`${PUBLIC_URL}/v1/fhir/Patient?`));
    const second = await t.request('GET', next.url.slice(PUBLIC_URL.length), { key: pager.keys.test });
    assert.equal(second.json.entry.length, 1);
    assert.equal(second.json.link.find((link: { relation: string }) => link.relation === 'next'), undefined);
    const ids = [...first.json.entry, ...second.json.entry].map((e: { resource: { id: string } }) => e.resource.id);
    assert.equal(new Set(ids).size, 3);
    const bad = await t.request('GET', '/v1/fhir/Patient?birthdate=not-a-date', { key: pager.keys.test });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.resourceType, 'OperationOutcome');
  });
});

describe('simplified and FHIR views of one patient', () => {
  test('a patient created through /v1/patients is a proper FHIR Patient', async () => {
    const created = (await t.request('POST', '/v1/patients', {
      key: tenant.keys.test,
      body: { firstName: 'Jane', lastName: 'Doe', email: 'jane@example.com', gender: 'female', birthDate: '1990-03-15', generalPractitionerId: 'prac-1', languages: [{ language: 'en', preferred: true }] },
    })).json.data;
    const res = await fhir('GET', `Patient/${created.id}`);
    assert.equal(res.status, 200);
    const patient = res.json;
    assert.deepEqual(patient.name, [{ given: ['Jane'], family: 'Doe' }]);
    assert.deepEqual(patient.telecom, [{ system: 'email', value: 'jane@example.com' }]);
    assert.equal(patient.gender, 'female');
    assert.equal(patient.birthDate, '1990-03-15');
    assert.deepEqual(patient.generalPractitioner, [{ reference: 'Practitioner/prac-1' }]);
    assert.deepEqual(patient.communication, [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] }, preferred: true }]);
    assert.equal(patient.active, true);
  });

  test('a Patient created through FHIR is readable (and patchable) on /v1/patients', async () => {
    const { json: created } = await fhir('POST', 'Patient', {
      resourceType: 'Patient', name: [{ use: 'official', family: 'Chalmers', given: ['Peter', 'James'], prefix: ['Mr.'] }],
      telecom: [{ system: 'phone', value: '(03) 5555 6473' }], gender: 'male', birthDate: '1974-12-25', deceasedBoolean: false,
    });
    const read = await t.request('GET', `/v1/patients/${created.id}`, { key: tenant.keys.test });
    assert.equal(read.status, 200);
    assert.equal(read.json.data.firstName, 'Peter');
    assert.equal(read.json.data.middleName, 'James');
    assert.equal(read.json.data.lastName, 'Chalmers');
    assert.equal(read.json.data.fullName, 'Mr. Peter James Chalmers');
    assert.equal(read.json.data.phone, '(03) 5555 6473');
    const patched = await t.request('PATCH', `/v1/patients/${created.id}`, { key: tenant.keys.test, body: { email: 'peter@example.com' } });
    assert.equal(patched.status, 200);
    const after = (await fhir('GET', `Patient/${created.id}`)).json;
    assert.equal(after.deceasedBoolean, false, 'fields outside the simplified shape survive a simplified PATCH');
    assert.deepEqual(after.name[0].given, ['Peter', 'James']);
  });
});

describe('official R4 examples', () => {
  test('all 22 Patient examples load through PUT and read back unchanged apart from meta', async () => {
    const index = JSON.parse(await readFile(new URL('index.json', FIXTURES), 'utf8'));
    const patients: Array<{ file: string; id: string }> = index.resources.Patient;
    assert.equal(patients.length, 22);
    for (const { file } of patients) {
      const example = JSON.parse(await readFile(new URL(`resources/${file}`, FIXTURES), 'utf8'));
      const put = await fhir('PUT', `Patient/${example.id}`, example);
      assert.equal(put.status, 201, `${file}: ${put.body}`);
      const read = await fhir('GET', `Patient/${example.id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(withoutMeta(read.json), withoutMeta(example), file);
      const tags = read.json.meta.tag.filter((tag: { system: string }) => tag.system === TENANT_TAG);
      assert.deepEqual(tags, [{ system: TENANT_TAG, code: tenant.tenantId }]);
    }
  });
});
