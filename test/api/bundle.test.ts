import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { PUBLIC_URL, startTestApp, type Tenant, type TestApp } from '../helpers/app.js';

/** POST /v1/fhir with batch and transaction Bundles, through HTTP. */
const SYNTHEA = new URL('../../../shared/fixtures/synthea-r4/', import.meta.url);
const FHIR = 'application/fhir+json';
const TENANT_TAG = 'https://clinikapi.com/tenant';

let t: TestApp;
let tenant: Tenant;

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
});
after(() => t.close());

const fhir = (method: string, path: string, body?: unknown, key = tenant.keys.test) => t.request(method, `/v1/fhir/${path}`, { key, body, contentType: FHIR });
const countIn = async (tenantId: string) =>
  Number((await t.database.db.pool.query("SELECT count(*) FROM resources r JOIN partitions p ON p.id = r.partition_id WHERE p.organisation_id = $1", [tenantId])).rows[0].count);

describe('transaction Bundles', () => {
  test('a Synthea bundle loads with fresh ids, resolved references, and searchable resources', async () => {
    const bundle = JSON.parse(await readFile(new URL('Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json', SYNTHEA), 'utf8'));
    const res = await fhir('POST', '', bundle);
    assert.equal(res.status, 200, res.body.slice(0, 500));
    assert.equal(res.json.type, 'transaction-response');
    assert.equal(res.json.entry.length, bundle.entry.length);
    const locations: Record<string, string> = {};
    for (const [i, entry] of res.json.entry.entries()) {
      const type = bundle.entry[i].resource.resourceType;
      assert.equal(entry.response.status, '201 Created');
      assert.match(entry.response.location, new RegExp(`^${type}/[0-9a-f-]{36}/_history/1$`));
      assert.equal(entry.response.etag, 'W/"1"');
      assert.match(entry.response.lastModified, /^\d{4}-\d{2}-\d{2}T/);
      assert.notEqual(entry.response.location.split('/')[1], bundle.entry[i].resource.id, 'the server assigns its own id');
      locations[bundle.entry[i].fullUrl] = entry.response.location.replace(/\/_history\/1$/, '');
    }
    assert.equal(await countIn(tenant.tenantId), bundle.entry.length);

    const patientEntry = bundle.entry.findIndex((entry: { resource: { resourceType: string } }) => entry.resource.resourceType === 'Patient');
    const patientRef = locations[bundle.entry[patientEntry].fullUrl];
    const observationIndex = bundle.entry.findIndex((entry: { resource: { resourceType: string } }) => entry.resource.resourceType === 'Observation');
    const observation = (await fhir('GET', locations[bundle.entry[observationIndex].fullUrl])).json;
    assert.equal(observation.subject.reference, patientRef);
    assert.equal(observation.encounter.reference, locations[bundle.entry[observationIndex].resource.encounter.reference]);
    assert.deepEqual(observation.meta.tag.filter((tag: { system: string }) => tag.system === TENANT_TAG), [{ system: TENANT_TAG, code: tenant.tenantId }]);
    assert.doesNotMatch(JSON.stringify(observation), /urn:uuid:/);

    const expected = bundle.entry.filter((entry: { resource: { resourceType: string } }) => entry.resource.resourceType === 'Observation').length;
    const found = new Set<string>();
    let url: string | undefined = `Observation?subject=${patientRef}&_count=100`;
    while (url) {
      const page = await fhir('GET', url);
      assert.equal(page.status, 200, page.body.slice(0, 300));
      for (const entry of page.json.entry ?? []) found.add(entry.resource.id);
      const next: string | undefined = page.json.link?.find((link: { relation: string }) => link.relation === 'next')?.url;
      url = next?.slice(`${PUBLIC_URL}/v1/fhir/`.length);
    }
    assert.equal(found.size, expected, 'every Observation of the patient is found by subject');
    const family = bundle.entry[patientEntry].resource.name[0].family;
    const patients = await fhir('GET', `Patient?family=${encodeURIComponent(family)}`);
    assert.deepEqual(patients.json.entry.map((entry: { resource: { id: string } }) => `Patient/${entry.resource.id}`), [patientRef]);
  });

  test('PUT, DELETE and GET entries: writes first, then reads; statuses per entry', async () => {
    const { json: existing } = await fhir('POST', 'Patient', { resourceType: 'Patient', gender: 'male' });
    const { json: doomed } = await fhir('POST', 'Patient', { resourceType: 'Patient' });
    const res = await fhir('POST', '', {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { request: { method: 'GET', url: `Patient/${existing.id}` } },
        { fullUrl: 'urn:uuid:new-patient', resource: { resourceType: 'Patient', id: 'client-id', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', id: existing.id, gender: 'other', link: [{ other: { reference: 'urn:uuid:new-patient' }, type: 'seealso' }] }, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: 'W/"1"' } },
        { request: { method: 'DELETE', url: `Patient/${doomed.id}` } },
        { fullUrl: 'urn:uuid:put-one', resource: { resourceType: 'Patient', id: 'chosen-id' }, request: { method: 'PUT', url: 'Patient/chosen-id' } },
        { request: { method: 'GET', url: 'Patient/no-such-patient' } },
      ],
    });
    assert.equal(res.status, 200, res.body);
    const [read, created, updated, deleted, put, missing] = res.json.entry;
    assert.equal(missing.response.status, '404 Not Found', 'a failing read is answered in its entry, after the commit');
    assert.equal(missing.response.outcome.resourceType, 'OperationOutcome');
    assert.equal(read.response.status, '200 OK');
    assert.equal(read.resource.gender, 'other', 'reads see the transaction\'s writes');
    assert.equal(created.response.status, '201 Created');
    const newId = created.response.location.split('/')[1];
    assert.notEqual(newId, 'client-id');
    assert.equal(updated.response.status, '200 OK');
    assert.equal(updated.response.location, `Patient/${existing.id}/_history/2`);
    assert.equal(deleted.response.status, '204 No Content');
    assert.equal(put.response.location, 'Patient/chosen-id/_history/1');
    const stored = (await fhir('GET', `Patient/${existing.id}`)).json;
    assert.equal(stored.link[0].other.reference, `Patient/${newId}`);
    assert.equal((await fhir('GET', `Patient/${doomed.id}`)).status, 410);
  });

  test('is all or nothing: an invalid entry answers 422 naming it, and nothing is written', async () => {
    const other = await t.createTenant();
    const res = await fhir('POST', '', {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: 'urn:uuid:a', resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', status: 'bogus', code: { text: 'x' }, subject: { reference: 'urn:uuid:a' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    }, other.keys.test);
    assert.equal(res.status, 422, res.body);
    assert.equal(res.json.resourceType, 'OperationOutcome');
    assert.ok(res.json.issue.some((issue: { diagnostics: string; expression?: string[] }) => issue.diagnostics.startsWith('Bundle.entry[1]') && issue.expression?.[0]?.startsWith('Bundle.entry[1].')), res.body);
    assert.equal(await countIn(other.tenantId), 0);
  });

  test('bad Bundles and unsupported requests answer 400 with the entry index', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ resourceType: 'Bundle', type: 'collection', entry: [] }, /batch or transaction/],
      [{ resourceType: 'Patient' }, /must be a Bundle/],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient?identifier=a|1' } }, request: { method: 'POST', url: 'Observation' } }] }, /Bundle\.entry\[0\].*Conditional references/],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: 'Patient/a' } }, { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=x' } }] }, /Bundle\.entry\[1\].*Conditional create/],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }, { resource: { resourceType: 'Observation', subject: { reference: 'urn:uuid:nowhere' } }, request: { method: 'POST', url: 'Observation' } }] }, /Bundle\.entry\[1\].*urn/],
    ];
    for (const [body, message] of cases) {
      const res = await fhir('POST', '', body);
      assert.equal(res.status, 400, res.body);
      assert.match(res.json.issue[0].diagnostics, message);
    }
  });
});

describe('batch Bundles', () => {
  test('each entry succeeds or fails on its own', async () => {
    const other = await t.createTenant();
    const res = await fhir('POST', '', {
      resourceType: 'Bundle', type: 'batch', entry: [
        { resource: { resourceType: 'Patient', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', gender: 'not-a-gender' }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
        { request: { method: 'PATCH', url: 'Patient/x' } },
        { request: { method: 'GET', url: 'Patient?gender=female' } },
      ],
    }, other.keys.test);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.type, 'batch-response');
    const statuses = res.json.entry.map((entry: { response: { status: string } }) => entry.response.status);
    assert.deepEqual(statuses, ['201 Created', '422 Validation Error', '404 Not Found', '400 Bad Request', '200 OK']);
    assert.equal(res.json.entry[1].response.outcome.resourceType, 'OperationOutcome');
    assert.equal(res.json.entry[4].resource.type, 'searchset');
    assert.equal(res.json.entry[4].resource.entry.length, 1);
    assert.equal(await countIn(other.tenantId), 1);
  });
});
