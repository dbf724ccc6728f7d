import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { validateResource } from '../../src/fhir/validate.js';
import { startTestApp, type Tenant, type TestApp } from '../helpers/app.js';

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

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
});
after(() => t.close());

describe('medications', () => {
  test('the contract example is accepted, read back as sent, and stored as valid FHIR with the tenant tag', async () => {
    const res = await t.request('POST', '/v1/medications', { key: tenant.keys.test, body: AMOXICILLIN });
    assert.equal(res.status, 201, res.body);
    const { id, createdAt, updatedAt, ...fields } = res.json.data;
    assert.deepEqual(fields, AMOXICILLIN);
    assert.ok(id && createdAt && updatedAt);
    const fhir = (await t.request('GET', `/v1/fhir/Medication/${id}`, { key: tenant.keys.test })).json;
    assert.deepEqual(validateResource(fhir), []);
    assert.ok(fhir.meta.tag.some((tag: { system: string; code: string }) => tag.system === 'https://clinikapi.com/tenant' && tag.code === tenant.tenantId));
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
    const fhir = (await t.request('GET', `/v1/fhir/Medication/${res.json.data.id}`, { key: tenant.keys.test })).json;
    assert.deepEqual(validateResource(fhir), []);
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
    assert.equal((await t.request('DELETE', `/v1/medications/${created.id}`, { key: tenant.keys.test })).status, 204);
    assert.equal((await t.request('GET', `/v1/medications/${created.id}`, { key: tenant.keys.test })).status, 404);
    assert.equal((await t.request('DELETE', `/v1/medications/${created.id}`, { key: tenant.keys.test })).status, 404);
  });

  test('filters (status, code, form, lotNumber) and sort by expirationDate', async () => {
    const own = await t.createTenant();
    const amox = (await t.request('POST', '/v1/medications', { key: own.keys.test, body: AMOXICILLIN })).json.data;
    const lis = (await t.request('POST', '/v1/medications', { key: own.keys.test, body: LISINOPRIL })).json.data;
    const old = (await t.request('POST', '/v1/medications', { key: own.keys.test, body: { code: 'Old stock', status: 'inactive', batch: { expirationDate: '2025-01-01' } } })).json.data;
    const ids = async (query: string) => {
      const res = await t.request('GET', `/v1/medications?${query}`, { key: own.keys.test });
      assert.equal(res.status, 200, res.body);
      return res.json.data.data.map((m: { id: string }) => m.id);
    };
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
    const stranger = await t.createTenant();
    for (const key of [stranger.keys.test, tenant.keys.live!]) {
      assert.equal((await t.request('GET', `/v1/medications/${created.id}`, { key })).status, 404);
      assert.equal((await t.request('PATCH', `/v1/medications/${created.id}`, { key, body: { form: 'X' } })).status, 404);
      assert.equal((await t.request('DELETE', `/v1/medications/${created.id}`, { key })).status, 404);
      assert.equal((await t.request('GET', '/v1/medications?code=197361', { key })).json.data.data.length, 0);
      assert.equal((await t.request('GET', `/v1/fhir/Medication/${created.id}`, { key })).status, 404);
    }
    assert.equal((await t.request('GET', `/v1/medications/${created.id}`, { key: tenant.keys.test })).status, 200);
  });

  test('every official R4 Medication example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const fixtures = new URL('../../../shared/fixtures/fhir-r4-examples/', import.meta.url);
    const index = JSON.parse(await readFile(new URL('index.json', fixtures), 'utf8'));
    const examples: Array<{ file: string; id: string }> = index.resources.Medication;
    assert.ok(examples.length > 0);
    for (const { file, id } of examples) {
      const example = JSON.parse(await readFile(new URL(`resources/${file}`, fixtures), 'utf8'));
      const put = await t.request('PUT', `/v1/fhir/Medication/${id}`, { key: own.keys.test, body: example, contentType: 'application/fhir+json' });
      assert.equal(put.status, 201, `${file}: ${put.body}`);
      const read = await t.request('GET', `/v1/medications/${id}`, { key: own.keys.test });
      assert.equal(read.status, 200, `${file}: ${read.body}`);
      assert.equal(read.json.data.id, id);
      if (example.status) assert.equal(read.json.data.status, example.status);
    }
    const list = await t.request('GET', '/v1/medications?count=100', { key: own.keys.test });
    assert.equal(list.status, 200, list.body);
    assert.equal(list.json.data.data.length, examples.length);
    for (const query of ['status=active', 'sort=expirationDate', 'sort=-updatedAt']) {
      assert.equal((await t.request('GET', `/v1/medications?${query}&count=100`, { key: own.keys.test })).status, 200, query);
    }
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
      const fhir = (await t.request('GET', `/v1/fhir/Medication/${id}`, { key: own.keys.test })).json;
      assert.deepEqual(validateResource(fhir), []);
      const read = (await t.request('GET', `/v1/medications/${id}`, { key: own.keys.test })).json.data;
      assert.deepEqual(read, res.json.data);
    }), { numRuns: 25 });
  });
});
