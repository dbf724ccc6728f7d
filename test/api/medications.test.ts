import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import {
  assertDeleted, assertIsolated, assertListLength, assertQueriesAnswer, assertTenantTag, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant,
} from '../helpers/resources.js';

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

/** The contract's example medication (§3.6). */
const AMOXICILLIN = {
  code: { system: RXNORM, code: '308182', display: 'Amoxicillin 500 MG Oral Capsule' },
  status: 'active',
  form: 'capsule',
  ingredient: [{ item: { system: RXNORM, code: '723', display: 'Amoxicillin' }, isActive: true, strength: { numerator: { value: 500, unit: 'mg' }, denominator: { value: 1, unit: 'capsule' } } }],
  batch: { lotNumber: 'LOT-2025-A001', expirationDate: '2026-12-31' },
};
const LISINOPRIL = { code: { system: RXNORM, code: '197361', display: 'Lisinopril 10 MG Oral Tablet' }, form: 'tablet', manufacturer: 'Acme Pharma', batch: { expirationDate: '2027-06-30' } };

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

describe('medications', () => {
  test('the contract example is accepted, read back as sent, and stored as valid FHIR with the tenant tag', async () => {
    const res = await t.request('POST', '/v1/medications', { key: tenant.keys.test, body: AMOXICILLIN });
    assert.equal(res.status, 201, res.body);
    const { id, createdAt, updatedAt, ...fields } = res.json.data;
    assert.deepEqual(fields, AMOXICILLIN);
    assert.ok(id && createdAt && updatedAt);
    const fhir = await readValidFhir(t, tenant.keys.test, 'Medication', id);
    assertTenantTag(fhir, tenant.tenantId);
    assert.deepEqual(fhir.code, { coding: [AMOXICILLIN.code] });
    assert.deepEqual(fhir.form, { text: 'capsule' });
    assert.deepEqual(fhir.ingredient, [{ itemCodeableConcept: { coding: [{ system: RXNORM, code: '723', display: 'Amoxicillin' }] }, isActive: true, strength: AMOXICILLIN.ingredient[0].strength }]);
    assert.deepEqual(fhir.batch, AMOXICILLIN.batch);
    assert.deepEqual((await t.request('GET', `/v1/medications/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
  });

  test('status defaults to active; free-text code, manufacturer and amount round-trip', async () => {
    const body = { code: 'Compounded cream', manufacturer: 'Local pharmacy', amount: { numerator: { value: 30, unit: 'g' }, denominator: { value: 1, unit: 'tube' } } };
    const res = await t.request('POST', '/v1/medications', { key: tenant.keys.test, body });
    assert.equal(res.status, 201, res.body);
    assert.equal(res.json.data.status, 'active');
    assert.equal(res.json.data.code, 'Compounded cream');
    assert.deepEqual(res.json.data.amount, body.amount);
    assert.equal(res.json.data.manufacturer, 'Local pharmacy');
    const fhir = await readValidFhir(t, tenant.keys.test, 'Medication', res.json.data.id);
    assert.deepEqual(fhir.manufacturer, { display: 'Local pharmacy' });
    assert.deepEqual(fhir.code, { text: 'Compounded cream' });
  });

  test('validation: code required, status enum, lengths, ingredient items, quantities, dates', async () => {
    const res = await t.request('POST', '/v1/medications', {
      key: tenant.keys.test,
      body: {
        status: 'retired', form: 'x'.repeat(101), manufacturer: 'y'.repeat(201), ingredient: [{ isActive: 'yes' }],
        amount: { numerator: { unit: 'mg' } }, batch: { expirationDate: '31/12/2026' }, colour: 'blue',
      },
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'VALIDATION_ERROR');
    const diagnostics: string[] = res.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics);
    for (const prefix of ['code: Required', 'status:', 'form:', 'manufacturer:', 'ingredient.0.item: Required', 'ingredient.0.isActive:', 'amount.numerator.value: Required', 'batch.expirationDate:']) {
      assert.ok(diagnostics.some((d) => d.startsWith(prefix)), `${prefix} in ${diagnostics.join('; ')}`);
    }
    const badCode = await t.request('POST', '/v1/medications', { key: tenant.keys.test, body: { code: { system: RXNORM, display: 'no code' } } });
    assert.equal(badCode.status, 422);
    const many = await t.request('POST', '/v1/medications', { key: tenant.keys.test, body: { code: 'x', ingredient: Array.from({ length: 51 }, () => ({ item: 'a' })) } });
    assert.equal(many.status, 422);
  });

  test('PATCH merges fields, replaces objects and arrays whole, and removes nothing else', async () => {
    const created = (await t.request('POST', '/v1/medications', { key: tenant.keys.test, body: AMOXICILLIN })).json.data;
    const patched = await t.request('PATCH', `/v1/medications/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: { status: 'inactive', batch: { lotNumber: 'LOT-2' }, ingredient: [{ item: 'Amoxicillin trihydrate' }] },
    });
    assert.equal(patched.status, 200, patched.body);
    assert.equal(patched.json.data.status, 'inactive');
    assert.deepEqual(patched.json.data.batch, { lotNumber: 'LOT-2' });
    assert.deepEqual(patched.json.data.ingredient, [{ item: 'Amoxicillin trihydrate' }]);
    assert.deepEqual(patched.json.data.code, AMOXICILLIN.code);
    assert.equal(patched.json.data.form, 'capsule');
    assert.deepEqual((await t.request('GET', `/v1/medications/${created.id}`, { key: tenant.keys.test })).json.data, patched.json.data);
    const bad = await t.request('PATCH', `/v1/medications/${created.id}`, { key: tenant.keys.test, body: { status: 'gone' } });
    assert.equal(bad.status, 422);
    await assertDeleted(t, tenant.keys.test, '/v1/medications', created.id);
  });

  test('filters (status, code, form, lotNumber) and sort by expirationDate', async () => {
    const own = await t.createTenant();
    const amox = (await t.request('POST', '/v1/medications', { key: own.keys.test, body: AMOXICILLIN })).json.data;
    const lis = (await t.request('POST', '/v1/medications', { key: own.keys.test, body: LISINOPRIL })).json.data;
    const old = (await t.request('POST', '/v1/medications', { key: own.keys.test, body: { code: 'Old stock', status: 'inactive', batch: { expirationDate: '2025-01-01' } } })).json.data;
    const ids = idLister(t, own.keys.test, '/v1/medications');
    assert.deepEqual((await ids('')).sort(), [amox.id, lis.id, old.id].sort());
    assert.deepEqual((await ids('status=active')).sort(), [amox.id, lis.id].sort());
    assert.deepEqual(await ids('status=inactive'), [old.id]);
    assert.deepEqual(await ids('code=197361'), [lis.id]);
    assert.deepEqual(await ids(`code=${encodeURIComponent(`${RXNORM}|308182`)}`), [amox.id]);
    assert.deepEqual(await ids('form=tab'), [lis.id]);
    assert.deepEqual(await ids('lotNumber=LOT-2025-A001'), [amox.id]);
    assert.deepEqual(await ids('sort=expirationDate'), [old.id, amox.id, lis.id]);
    assert.deepEqual(await ids('sort=-expirationDate'), [lis.id, amox.id, old.id]);
    const bad = await t.request('GET', '/v1/medications?sort=colour', { key: own.keys.test });
    assert.equal(bad.status, 400);
    const page = await t.request('GET', '/v1/medications?count=2', { key: own.keys.test });
    assert.equal(page.json.data.data.length, 2);
    assert.equal(page.json.data.hasMore, true);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await t.request('POST', '/v1/medications', { key: tenant.keys.test, body: LISINOPRIL })).json.data;
    await assertIsolated(t, { owner: tenant, path: '/v1/medications', id: created.id, patch: { form: 'X' }, lists: ['/v1/medications?code=197361'], fhirType: 'Medication' });
    assert.equal((await t.request('GET', `/v1/medications/${created.id}`, { key: tenant.keys.test })).status, 200);
  });

  test('every official R4 Medication example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('Medication');
    assert.ok(examples.length > 0);
    await loadR4Examples(t, own.keys.test, { fhirType: 'Medication', path: '/v1/medications' }, examples, ({ resource: example }, read) => {
      if (example.status) assert.equal(read.json.data.status, example.status);
    });
    await assertListLength(t, own.keys.test, '/v1/medications?count=100', examples.length);
    await assertQueriesAnswer(t, own.keys.test, '/v1/medications', ['status=active', 'sort=expirationDate', 'sort=-updatedAt']);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcdefgXYZ0123456789-'), minLength: 1, maxLength: 12 });
    const concept = fc.oneof(word, fc.record({ system: fc.constantFrom(RXNORM, 'http://snomed.info/sct'), code: word, display: word }, { requiredKeys: ['code'] }));
    const quantity = fc.record({ value: fc.integer({ min: -1000, max: 100000 }).map((n) => n / 100), unit: word }, { requiredKeys: ['value'] });
    const ratio = fc.record({ numerator: quantity, denominator: quantity }, { requiredKeys: [] });
    const input = fc.record({
      code: concept,
      status: fc.constantFrom('active', 'inactive'),
      form: word,
      manufacturer: word,
      amount: ratio.filter((r) => Object.keys(r).length > 0),
      ingredient: fc.array(fc.record({ item: concept, isActive: fc.boolean(), strength: ratio.filter((r) => Object.keys(r).length > 0) }, { requiredKeys: ['item'] }), { minLength: 1, maxLength: 3 }),
      batch: fc.record({ lotNumber: word, expirationDate: fc.constantFrom('2026', '2026-12', '2026-12-31', '2026-12-31T10:30:00Z') }, { requiredKeys: [] }).filter((b) => Object.keys(b).length > 0),
    }, { requiredKeys: ['code', 'status'] });
    const own = await t.createTenant();
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await t.request('POST', '/v1/medications', { key: own.keys.test, body });
      assert.equal(res.status, 201, res.body);
      const { id, createdAt, updatedAt, ...fields } = res.json.data;
      assert.deepEqual(fields, JSON.parse(JSON.stringify(body)));
      await readValidFhir(t, own.keys.test, 'Medication', id);
      const read = (await t.request('GET', `/v1/medications/${id}`, { key: own.keys.test })).json.data;
      assert.deepEqual(read, res.json.data);
    }), { numRuns: 25 });
  });
});
