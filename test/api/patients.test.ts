import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type Tenant, type TestApp } from '../helpers/app.js';

const JANE = {
  firstName: 'Jane', lastName: 'Doe', email: 'jane@example.com', phone: '+1-555-0100', gender: 'female', birthDate: '1990-03-15',
  maritalStatus: 'married',
  address: { line: ['123 Main St', 'Apt 4B'], city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
  languages: [{ language: 'en', preferred: true }, { language: 'es' }],
  contact: [{ relationship: 'spouse', firstName: 'John', lastName: 'Doe', phone: '+1-555-0101', email: 'john@example.com' }],
  generalPractitionerId: 'prac_abc123',
  photo: { url: 'https://cdn.example.com/patients/jane.jpg', contentType: 'image/jpeg' },
};

let t: TestApp;
let tenant: Tenant;

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
});
after(() => t.close());

describe('patients CRUD', () => {
  test('create returns 201 with the PatientSummary projection and the envelope', async () => {
    const res = await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: JANE, contentType: 'application/fhir+json' });
    assert.equal(res.status, 201);
    const { data, meta } = res.json;
    assert.match(data.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(data.fullName, 'Jane Doe');
    const { id, fullName, createdAt, updatedAt, active, ...fields } = data;
    assert.deepEqual(fields, JANE);
    assert.equal(active, true);
    assert.ok(id && fullName && createdAt && updatedAt);
    assert.equal(meta.status, 201);
    assert.match(meta.requestId, /^req_[a-z0-9]+$/);
    assert.equal(res.headers['x-request-id'], meta.requestId);
    assert.equal(res.headers['x-timestamp'], meta.timestamp);
  });

  test('read, PATCH (partial merge, objects replaced whole) and DELETE', async () => {
    const created = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: JANE })).json.data;
    const read = await t.request('GET', `/v1/patients/${created.id}`, { key: tenant.keys.test });
    assert.equal(read.status, 200);
    assert.deepEqual(read.json.data, created);

    const patched = await t.request('PATCH', `/v1/patients/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: { lastName: 'Smith', address: { city: 'Dallas' }, active: false },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.data.lastName, 'Smith');
    assert.equal(patched.json.data.firstName, 'Jane');
    assert.equal(patched.json.data.email, JANE.email);
    assert.deepEqual(patched.json.data.address, { city: 'Dallas' });
    assert.equal(patched.json.data.active, false);
    assert.equal(patched.json.data.createdAt, created.createdAt);

    const deleted = await t.request('DELETE', `/v1/patients/${created.id}`, { key: tenant.keys.test });
    assert.equal(deleted.status, 204);
    assert.equal(deleted.body, '');
    assert.equal((await t.request('GET', `/v1/patients/${created.id}`, { key: tenant.keys.test })).status, 404);
    assert.equal((await t.request('DELETE', `/v1/patients/${created.id}`, { key: tenant.keys.test })).status, 404);
    assert.equal((await t.request('PATCH', `/v1/patients/${created.id}`, { key: tenant.keys.test, body: { lastName: 'X' } })).status, 404);
  });

  test('validation errors are 422 with Zod-style issues that never echo values', async () => {
    const res = await t.request('POST', '/v1/patients', {
      key: tenant.keys.test,
      body: { firstName: 'x'.repeat(101), email: 'not-an-email-secret', gender: 'zz-gender', birthDate: '1990-02-30', unknownField: 'secret-value' },
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'VALIDATION_ERROR');
    const diagnostics = res.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics);
    assert.ok(diagnostics.includes('lastName: Required'), diagnostics.join('; '));
    assert.ok(diagnostics.includes('firstName: String must contain at most 100 character(s)'));
    assert.ok(diagnostics.some((d: string) => d.startsWith('email:')));
    assert.ok(diagnostics.some((d: string) => d.startsWith('gender:')));
    assert.ok(diagnostics.some((d: string) => d.startsWith('birthDate:')));
    assert.ok(diagnostics.some((d: string) => d.startsWith('unknownField:')));
    assert.deepEqual(res.json.issue, res.json.issues);
    for (const secret of ['not-an-email-secret', 'zz-gender', '1990-02-30', 'secret-value', 'xxxxxxxxxx']) assert.ok(!res.body.includes(secret), secret);
  });

  test('values that name Object.prototype members are plain values', async () => {
    for (const maritalStatus of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const res = await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'Proto', lastName: 'Type', maritalStatus } });
      assert.equal(res.status, 201, `${maritalStatus}: ${res.body}`);
      assert.equal(res.json.data.maritalStatus, maritalStatus);
      const fhir = (await t.request('GET', `/v1/fhir/Patient/${res.json.data.id}`, { key: tenant.keys.test })).json;
      assert.deepEqual(fhir.maritalStatus, { text: maritalStatus });
    }
  });

  test('a malformed id answers 404', async () => {
    for (const id of ['bad_id', 'x'.repeat(65), "1'%20OR%20'1'='1"]) {
      const res = await t.request('GET', `/v1/patients/${id}`, { key: tenant.keys.test });
      assert.equal(res.status, 404, id);
      assert.equal(res.json.code, 'NOT_FOUND');
    }
  });
});

describe('patients search', () => {
  let searchTenant: Tenant;
  before(async () => {
    searchTenant = await t.createTenant();
    const people = [
      { firstName: 'José', lastName: 'Álvarez', gender: 'male', birthDate: '1980-01-01', email: 'jose@example.com', phone: '555-1' },
      { firstName: 'Joséphine', lastName: 'Baker', gender: 'female', birthDate: '1990-06-03', email: 'jb@example.com' },
      { firstName: 'Ann', lastName: 'Josephs', gender: 'female', birthDate: '1990-06-03' },
      { firstName: 'Bob', lastName: 'Stone', gender: 'male', birthDate: '1975-12-31' },
    ];
    for (const person of people) assert.equal((await t.request('POST', '/v1/patients', { key: searchTenant.keys.test, body: person })).status, 201);
  });

  const names = async (query: string) => {
    const res = await t.request('GET', `/v1/patients?${query}`, { key: searchTenant.keys.test });
    assert.equal(res.status, 200, res.body);
    return res.json.data.data.map((p: { firstName: string }) => p.firstName).sort();
  };

  test('name is partial, case- and accent-insensitive', async () => {
    assert.deepEqual(await names('name=jose'), ['Ann', 'José', 'Joséphine']);
    assert.deepEqual(await names('name=ALVA'), ['José']);
    assert.deepEqual(await names('name=zzz'), []);
  });

  test('exact filters: email, phone, gender, birthDate, active', async () => {
    assert.deepEqual(await names('email=jb@example.com'), ['Joséphine']);
    assert.deepEqual(await names('phone=555-1'), ['José']);
    assert.deepEqual(await names('gender=female'), ['Ann', 'Joséphine']);
    assert.deepEqual(await names('birthDate=1990-06-03'), ['Ann', 'Joséphine']);
    assert.deepEqual(await names('gender=female&name=baker'), ['Joséphine']);
    assert.deepEqual(await names('active=true'), ['Ann', 'Bob', 'José', 'Joséphine']);
    assert.deepEqual(await names('active=false'), []);
  });

  test('list shape, newest first, total and count clamping', async () => {
    const res = await t.request('GET', '/v1/patients', { key: searchTenant.keys.test });
    const page = res.json.data;
    assert.equal(page.total, 4);
    assert.equal(page.hasMore, false);
    assert.equal(page.cursor, null);
    assert.deepEqual(page.data.map((p: { firstName: string }) => p.firstName), ['Bob', 'Ann', 'Joséphine', 'José']);
    for (const count of ['0', '-5', 'abc', '1.5']) {
      assert.equal((await t.request('GET', `/v1/patients?count=${count}`, { key: searchTenant.keys.test })).json.data.data.length, 4, count);
    }
    const two = (await t.request('GET', '/v1/patients?count=2', { key: searchTenant.keys.test })).json.data;
    assert.equal(two.data.length, 2);
    assert.equal(two.hasMore, true);
    assert.equal(typeof two.cursor, 'string');
    const next = (await t.request('GET', `/v1/patients?count=2&cursor=${two.cursor}`, { key: searchTenant.keys.test })).json.data;
    assert.deepEqual(next.data.map((p: { firstName: string }) => p.firstName), ['Joséphine', 'José']);
    assert.equal(next.hasMore, false);
    const garbage = (await t.request('GET', '/v1/patients?count=2&cursor=20', { key: searchTenant.keys.test })).json.data;
    assert.deepEqual(garbage.data.map((p: { firstName: string }) => p.firstName), ['Bob', 'Ann']);
  });

  test('count above 100 is clamped to 100', async () => {
    const bulk = await t.createTenant();
    await Promise.all(Array.from({ length: 105 }, (_, i) => t.request('POST', '/v1/patients', { key: bulk.keys.test, body: { firstName: `P${i}`, lastName: 'Many' } })));
    const res = await t.request('GET', '/v1/patients?count=500', { key: bulk.keys.test });
    assert.equal(res.json.data.data.length, 100);
    assert.equal(res.json.data.total, 105);
    assert.equal(res.json.data.hasMore, true);
  });
});

describe('patients concurrency', () => {
  test('keyset pagination neither skips nor repeats while others insert', async () => {
    const pager = await t.createTenant();
    const existing = new Set<string>();
    for (let i = 0; i < 45; i++) {
      existing.add((await t.request('POST', '/v1/patients', { key: pager.keys.test, body: { firstName: `E${i}`, lastName: 'Existing' } })).json.data.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let inserts = 0;
    do {
      const query: string = cursor ? `count=7&cursor=${cursor}` : 'count=7';
      const page = (await t.request('GET', `/v1/patients?${query}`, { key: pager.keys.test })).json.data;
      seen.push(...page.data.map((p: { id: string }) => p.id));
      cursor = page.cursor;
      // Concurrent writers add records between (and during) page reads.
      await Promise.all([0, 1, 2].map(() => t.request('POST', '/v1/patients', { key: pager.keys.test, body: { firstName: `N${inserts++}`, lastName: 'New' } })));
    } while (cursor);
    const seenExisting = seen.filter((id) => existing.has(id));
    assert.equal(new Set(seen).size, seen.length, 'no record repeated');
    assert.equal(seenExisting.length, existing.size, 'no existing record skipped');
  });

  test('concurrent PATCHes never lose an update', async () => {
    const created = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'Con', lastName: 'Current' } })).json.data;
    const fields = ['email', 'phone', 'maritalStatus', 'birthDate', 'gender'] as const;
    const values = { email: 'c@example.com', phone: '555-0000', maritalStatus: 'single', birthDate: '2000-01-01', gender: 'other' };
    const results = await Promise.all(fields.map((field) => t.request('PATCH', `/v1/patients/${created.id}`, { key: tenant.keys.test, body: { [field]: values[field] } })));
    for (const res of results) assert.equal(res.status, 200);
    const final = (await t.request('GET', `/v1/patients/${created.id}`, { key: tenant.keys.test })).json.data;
    for (const field of fields) assert.equal(final[field], values[field], field);
    const fhir = (await t.request('GET', `/v1/fhir/Patient/${created.id}`, { key: tenant.keys.test })).json;
    assert.equal(fhir.meta.versionId, String(fields.length + 1));
  });

  test('If-Match with a stale version answers 409 CONFLICT', async () => {
    const created = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'If', lastName: 'Match' } })).json.data;
    const ok = await t.request('PATCH', `/v1/patients/${created.id}`, { key: tenant.keys.test, body: { lastName: 'One' }, headers: { 'if-match': 'W/"1"' } });
    assert.equal(ok.status, 200);
    const stale = await t.request('PATCH', `/v1/patients/${created.id}`, { key: tenant.keys.test, body: { lastName: 'Two' }, headers: { 'if-match': 'W/"1"' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.code, 'CONFLICT');
    assert.equal((await t.request('GET', `/v1/patients/${created.id}`, { key: tenant.keys.test })).json.data.lastName, 'One');
  });
});

describe('patients with _revinclude', () => {
  test('returns a searchset Bundle with the patient and the resources that reference it', async () => {
    const created = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'Rev', lastName: 'Include' } })).json.data;
    const observation = {
      resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${created.id}` }, valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    };
    const obs = await t.request('POST', '/v1/fhir/Observation', { key: tenant.keys.test, body: observation, contentType: 'application/fhir+json' });
    assert.equal(obs.status, 201, obs.body);
    const unrelated = await t.request('POST', '/v1/fhir/Observation', { key: tenant.keys.test, body: { ...observation, subject: { reference: 'Patient/someone-else' } } });
    assert.equal(unrelated.status, 201);

    const res = await t.request('GET', `/v1/patients/${created.id}?_revinclude=Observation:subject&_revinclude=Encounter:subject&_revinclude=Observation:patient`, { key: tenant.keys.test });
    assert.equal(res.status, 200, res.body);
    const bundle = res.json.data;
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'searchset');
    assert.deepEqual(bundle.entry.map((e: { resource: { resourceType: string; id: string }; search: { mode: string } }) => [e.resource.resourceType, e.resource.id, e.search.mode]), [
      ['Patient', created.id, 'match'],
      ['Observation', obs.json.id, 'include'],
    ]);
    // What the SDK sends for include: ['Medication', 'Observation']: Medication has neither parameter.
    const sdk = await t.request('GET', `/v1/patients/${created.id}?_revinclude=Medication:subject&_revinclude=Medication:patient&_revinclude=Observation:subject&_revinclude=Observation:patient`, { key: tenant.keys.test });
    assert.equal(sdk.status, 200, sdk.body);
    assert.deepEqual(sdk.json.data.entry.map((e: { resource: { id: string } }) => e.resource.id), [created.id, obs.json.id]);
    for (const bad of ['Nonsense:subject', 'Observation:sub%20ject', 'Observation:subject:extra']) {
      const res = await t.request('GET', `/v1/patients/${created.id}?_revinclude=${bad}`, { key: tenant.keys.test });
      assert.equal(res.status, 400, bad);
      assert.equal(res.json.code, 'INVALID_REQUEST');
    }
  });
});
