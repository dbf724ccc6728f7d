import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertIsolated, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant } from '../helpers/resources.js';

/** The contract's example practitioner (§3.2). */
const SARAH = {
  firstName: 'Sarah', lastName: 'Chen', prefix: ['Dr.'], suffix: ['MD', 'FACC'], email: 'sarah.chen@example.com', phone: '+1-555-0100', gender: 'female',
  npi: '1234567890', specialty: 'Cardiology',
  qualifications: [
    { name: 'Doctor of Medicine', issuer: 'Johns Hopkins University', period: { start: '2010-05-15' } },
    { name: 'Board Certified - Cardiovascular Disease', issuer: 'American Board of Internal Medicine', identifier: 'ABIM-12345', period: { start: '2015-06-01', end: '2025-06-01' } },
  ],
  languages: ['en', 'zh'],
  address: { line: ['100 Medical Center Blvd'], city: 'Austin', state: 'TX', postalCode: '78701' },
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

describe('practitioners', () => {
  test('the contract example is accepted, read back as sent, and stored as valid FHIR with the NPI identifier', async () => {
    const res = await t.request('POST', '/v1/practitioners', { key: tenant.keys.test, body: SARAH });
    assert.equal(res.status, 201, res.body);
    const { id, fullName, active, createdAt, updatedAt, ...fields } = res.json.data;
    assert.deepEqual(fields, SARAH);
    assert.equal(fullName, 'Dr. Sarah Chen MD FACC');
    assert.equal(active, true);
    assert.ok(createdAt && updatedAt);
    const fhir = await readValidFhir(t, tenant.keys.test, 'Practitioner', id);
    assert.deepEqual(fhir.identifier, [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567890' }]);
    assert.deepEqual(fhir.qualification[1], { identifier: [{ value: 'ABIM-12345' }], code: { text: 'Board Certified - Cardiovascular Disease' }, period: { start: '2015-06-01', end: '2025-06-01' }, issuer: { display: 'American Board of Internal Medicine' } });
    assert.deepEqual((await t.request('GET', `/v1/practitioners/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
  });

  test('validation: required names, NPI of 10 digits, qualification names, list sizes', async () => {
    const res = await t.request('POST', '/v1/practitioners', {
      key: tenant.keys.test,
      body: { firstName: 'A', npi: '12345', qualifications: [{ issuer: 'x' }], languages: Array.from({ length: 21 }, () => 'en'), prefix: 'Dr.' },
    });
    assert.equal(res.status, 422);
    const diagnostics: string[] = res.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics);
    for (const expected of ['lastName: Required', 'npi: Invalid format', 'qualifications.0.name: Required', 'languages: Array must contain at most 20 element(s)', 'prefix: Expected array']) {
      assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);
    }
    assert.ok(!res.body.includes('12345'));
  });

  test('PATCH replaces qualifications whole and deactivation hides the practitioner from default search', async () => {
    const own = await t.createTenant();
    const created = (await t.request('POST', '/v1/practitioners', { key: own.keys.test, body: SARAH })).json.data;
    const other = (await t.request('POST', '/v1/practitioners', { key: own.keys.test, body: { firstName: 'Omar', lastName: 'Haddad', specialty: 'Dermatology', npi: '9876543210' } })).json.data;
    const patched = await t.request('PATCH', `/v1/practitioners/${created.id}`, {
      key: own.keys.test, contentType: 'application/json-patch+json', body: { qualifications: [{ name: 'PhD' }], active: false },
    });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(patched.json.data.qualifications, [{ name: 'PhD' }]);
    assert.equal(patched.json.data.active, false);
    assert.equal(patched.json.data.npi, SARAH.npi);

    const ids = async (query: string) => (await t.request('GET', `/v1/practitioners?${query}`, { key: own.keys.test })).json.data.data.map((p: { id: string }) => p.id);
    assert.deepEqual(await ids(''), [other.id], 'inactive practitioners are left out by default');
    assert.deepEqual(await ids('active=false'), [created.id]);
    assert.deepEqual(await ids('name=chen&active=false'), [created.id]);
    assert.deepEqual(await ids('specialty=derma'), [other.id]);
    assert.deepEqual(await ids('specialty=cardio'), [], 'the inactive cardiologist stays hidden');
    assert.deepEqual(await ids('npi=9876543210'), [other.id]);
    assert.deepEqual(await ids('npi=1234567890'), []);
    assert.deepEqual(await ids('npi=1234567890&active=false'), [created.id]);
  });

  test('sort by a field, ascending or descending; an unknown sort field is a 400', async () => {
    const own = await t.createTenant();
    for (const lastName of ['Baker', 'Adams', 'Clark']) {
      await t.request('POST', '/v1/practitioners', { key: own.keys.test, body: { firstName: 'X', lastName } });
    }
    const names = async (sort: string) => (await t.request('GET', `/v1/practitioners?sort=${sort}`, { key: own.keys.test })).json.data.data.map((p: { lastName: string }) => p.lastName);
    assert.deepEqual(await names('lastName'), ['Adams', 'Baker', 'Clark']);
    assert.deepEqual(await names('-lastName'), ['Clark', 'Baker', 'Adams']);
    const bad = await t.request('GET', '/v1/practitioners?sort=shoeSize', { key: own.keys.test });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'INVALID_REQUEST');
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await t.request('POST', '/v1/practitioners', { key: tenant.keys.test, body: { firstName: 'Iso', lastName: 'Lated' } })).json.data;
    await assertIsolated(t, { owner: tenant, path: '/v1/practitioners', id: created.id, patch: { lastName: 'X' }, lists: ['/v1/practitioners?name=lated'] });
    assert.equal((await t.request('DELETE', `/v1/practitioners/${created.id}`, { key: tenant.keys.test })).status, 204);
    assert.equal((await t.request('GET', `/v1/practitioners/${created.id}`, { key: tenant.keys.test })).status, 404);
  });

  test('every official R4 Practitioner example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('Practitioner');
    assert.equal(examples.length, 14);
    await loadR4Examples(t, own.keys.test, { fhirType: 'Practitioner', path: '/v1/practitioners' }, examples, ({ resource: example }, read) => {
      if (example.name?.[0]?.family) assert.equal(read.json.data.lastName, example.name.find((n: { use?: string }) => n.use === 'official')?.family ?? example.name[0].family);
    });
    const list = await t.request('GET', '/v1/practitioners?active=true&count=100', { key: own.keys.test });
    assert.equal(list.status, 200);
    const all = await t.request('GET', '/v1/practitioners?active=false&count=100', { key: own.keys.test });
    assert.equal(all.status, 200);
  });
});
