import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertDeleted, assertIncludeBundle, assertIsolated, assertQueriesAnswer, assertTenantTag, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant, strip } from '../helpers/resources.js';

/** The contract's examples (§3.5). */
const HEART_RATE = {
  status: 'final', code: { system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }, patientId: 'pt_abc123', encounterId: 'enc_xyz789',
  category: 'vital-signs', effectiveDateTime: '2025-01-15T09:15:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' }, interpretation: 'N',
};
const MMHG = { unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' };
const BLOOD_PRESSURE = {
  status: 'final', code: { system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel with all children optional' }, patientId: 'pt_abc123',
  category: 'vital-signs', effectiveDateTime: '2025-01-16T09:20:00Z',
  component: [
    { code: { system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }, valueQuantity: { value: 120, ...MMHG } },
    { code: { system: 'http://loinc.org', code: '8462-4', display: 'Diastolic blood pressure' }, valueQuantity: { value: 80, ...MMHG } },
  ],
  bodySite: 'Left arm', method: 'Auscultation', note: 'Seated, after 5 minutes rest',
};
const GLUCOSE = {
  status: 'final', code: { system: 'http://loinc.org', code: '2339-0', display: 'Glucose [Mass/volume] in Blood' }, patientId: 'pt_other',
  category: 'laboratory', effectiveDateTime: '2025-01-20T07:00:00Z', issued: '2025-01-20T10:30:00Z',
  valueQuantity: { value: 95, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
  referenceRange: { low: { value: 70, unit: 'mg/dL' }, high: { value: 100, unit: 'mg/dL' } }, specimenId: 'spec_1', deviceId: 'dev_1', performerId: 'prac_def456',
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });


describe('observations', () => {
  test('the contract examples are accepted, read back as sent, and stored as valid, tenant-tagged FHIR', async () => {
    for (const example of [HEART_RATE, BLOOD_PRESSURE, GLUCOSE]) {
      const res = await t.request('POST', '/v1/observations', { key: tenant.keys.test, body: example });
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), example);
      const { id } = res.json.data;
      assert.deepEqual((await t.request('GET', `/v1/observations/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'Observation', id);
      assertTenantTag(fhir, tenant.tenantId);
      assert.equal(fhir.subject.reference, `Patient/${example.patientId}`);
      assert.deepEqual(fhir.category, [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: example.category, display: example.category === 'laboratory' ? 'Laboratory' : 'Vital Signs' }] }]);
      if (example === HEART_RATE) {
        assert.deepEqual(fhir.interpretation, [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'N', display: 'Normal' }] }]);
        assert.deepEqual(fhir.encounter, { reference: 'Encounter/enc_xyz789' });
      }
      if (example === BLOOD_PRESSURE) {
        assert.deepEqual(fhir.component[0].code, { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }] });
        assert.deepEqual(fhir.bodySite, { text: 'Left arm' });
        assert.equal(fhir.valueQuantity, undefined);
      }
      if (example === GLUCOSE) {
        assert.deepEqual(fhir.referenceRange, [{ low: { value: 70, unit: 'mg/dL' }, high: { value: 100, unit: 'mg/dL' } }]);
        assert.deepEqual(fhir.performer, [{ reference: 'Practitioner/prac_def456' }]);
        assert.equal(fhir.issued, '2025-01-20T10:30:00Z');
      }
    }
  });

  test('validation: required fields, enums, limits, formats and the value[x] choice', async () => {
    const res = await t.request('POST', '/v1/observations', {
      key: tenant.keys.test,
      body: {
        status: 'done', category: 'imaging', interpretation: 'WAY-TOO-LONG', valueString: 'x'.repeat(2001), issued: '2025-01-15',
        effectiveDateTime: '15/01/2025', valueQuantity: { unit: 'kg', code: ' mg' }, component: Array.from({ length: 21 }, () => ({ code: 'x' })),
        referenceRange: {}, bodySite: 'b'.repeat(201), note: 'n'.repeat(2001), code: { display: 'no code' }, patientId: 'bad id!',
      },
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'VALIDATION_ERROR');
    const diagnostics: string[] = res.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics);
    for (const expected of [
      "status: Invalid enum value. Expected 'registered' | 'preliminary' | 'final' | 'amended' | 'corrected' | 'cancelled'",
      "category: Invalid enum value. Expected 'vital-signs' | 'laboratory' | 'social-history' | 'exam'",
      'interpretation: String must contain at most 10 character(s)', 'valueString: String must contain at most 2000 character(s)',
      'issued: Invalid format', 'effectiveDateTime: Invalid fhir-date-time', 'valueQuantity.value: Required', 'valueQuantity.code: Invalid format',
      'component: Array must contain at most 20 element(s)', 'bodySite: String must contain at most 200 character(s)',
      'note: String must contain at most 2000 character(s)', 'code: Invalid input', 'patientId: Invalid reference-id',
    ]) assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);
    assert.ok(diagnostics.some((d) => d.startsWith('referenceRange:')), diagnostics.join('; '));

    const missing = await t.request('POST', '/v1/observations', { key: tenant.keys.test, body: {} });
    assert.deepEqual(missing.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics).sort(), ['code: Required', 'patientId: Required', 'status: Required']);

    const twoValues = await t.request('POST', '/v1/observations', { key: tenant.keys.test, body: { ...HEART_RATE, valueString: 'seventy-two' } });
    assert.equal(twoValues.status, 422);
    assert.match(twoValues.json.issues[0].diagnostics, /^valueString: Only one of valueQuantity, valueString, valueCodeableConcept/);
    const twoComponentValues = await t.request('POST', '/v1/observations', {
      key: tenant.keys.test, body: { ...BLOOD_PRESSURE, component: [{ code: 'x', valueString: 'a', valueQuantity: { value: 1 } }] },
    });
    assert.equal(twoComponentValues.status, 422);
    assert.equal(twoComponentValues.json.issues[0].diagnostics, 'component.0: Only one of valueQuantity, valueString may be given');
  });

  test('PATCH merges fields, replaces objects and arrays whole, swaps value[x], refuses patientId', async () => {
    const created = (await t.request('POST', '/v1/observations', { key: tenant.keys.test, body: { ...BLOOD_PRESSURE, referenceRange: { low: { value: 1 }, text: 'normal' } } })).json.data;
    const patched = await t.request('PATCH', `/v1/observations/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: { status: 'amended', component: [{ code: 'Systolic', valueString: 'not measured' }], referenceRange: { high: { value: 130, unit: 'mmHg' } }, interpretation: 'H' },
    });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(strip(patched.json.data), {
      ...BLOOD_PRESSURE, status: 'amended', component: [{ code: 'Systolic', valueString: 'not measured' }], referenceRange: { high: { value: 130, unit: 'mmHg' } }, interpretation: 'H',
    });

    const hr = (await t.request('POST', '/v1/observations', { key: tenant.keys.test, body: HEART_RATE })).json.data;
    const swapped = await t.request('PATCH', `/v1/observations/${hr.id}`, { key: tenant.keys.test, body: { valueString: 'irregular' } });
    assert.equal(swapped.status, 200, swapped.body);
    assert.equal(swapped.json.data.valueString, 'irregular');
    assert.equal(swapped.json.data.valueQuantity, undefined, 'value[x] is one element: the new value replaces the old');
    const fhir = await readValidFhir(t, tenant.keys.test, 'Observation', hr.id);
    assert.equal(fhir.valueQuantity, undefined);

    const refused = await t.request('PATCH', `/v1/observations/${hr.id}`, { key: tenant.keys.test, body: { patientId: 'pt_else', status: 'final' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics), ['patientId: Cannot be changed']);
    const bad = await t.request('PATCH', `/v1/observations/${hr.id}`, { key: tenant.keys.test, body: { status: 'nope' } });
    assert.equal(bad.status, 422);

    await assertDeleted(t, tenant.keys.test, '/v1/observations', hr.id, { patch: { status: 'final' } });
  });

  test('filters (patientId, encounterId, status, category, code, dateFrom/dateTo) and sorts', async () => {
    const own = await t.createTenant();
    const create = async (body: object) => (await t.request('POST', '/v1/observations', { key: own.keys.test, body })).json.data.id as string;
    // Search takes FHIR ids ([A-Za-z0-9-.]), so these patients have no underscore.
    const hr = await create({ ...HEART_RATE, patientId: 'pt-abc123', encounterId: 'enc-xyz789' });
    const bp = await create({ ...BLOOD_PRESSURE, patientId: 'pt-abc123' });
    const glucose = await create({ ...GLUCOSE, patientId: 'pt-other' });
    const prelim = await create({ status: 'preliminary', code: 'Smoking status', patientId: 'pt-other', category: 'social-history', effectiveDateTime: '2024-12-31', valueCodeableConcept: { system: 'http://snomed.info/sct', code: '8517006', display: 'Ex-smoker' } });
    const ids = idLister(t, own.keys.test, '/v1/observations');
    const same = async (query: string, expected: string[]) => assert.deepEqual((await ids(query)).sort(), [...expected].sort(), query);
    await same('', [hr, bp, glucose, prelim]);
    await same('patientId=pt-abc123', [hr, bp]);
    await same('patientId=pt-other', [glucose, prelim]);
    await same('encounterId=enc-xyz789', [hr]);
    await same('status=preliminary', [prelim]);
    await same('status=final&patientId=pt-other', [glucose]);
    await same('category=vital-signs', [hr, bp]);
    await same('category=laboratory', [glucose]);
    await same('code=8867-4', [hr]);
    await same('code=http://loinc.org|85354-9', [bp]);
    await same('dateFrom=2025-01-15', [hr, bp, glucose]);
    await same('dateFrom=2025-01-16', [bp, glucose]);
    await same('dateTo=2025-01-15', [hr, prelim]);
    await same('dateFrom=2025-01-15&dateTo=2025-01-16', [hr, bp]);
    assert.deepEqual(await ids('sort=effectiveDateTime'), [prelim, hr, bp, glucose]);
    assert.deepEqual(await ids('sort=-effectiveDateTime'), [glucose, bp, hr, prelim]);
    assert.equal((await ids('sort=status'))[3], prelim);
    assert.equal((await ids('sort=-status'))[0], prelim);
    assert.deepEqual((await ids('sort=-updatedAt&count=1')), [prelim]);
    const bad = await t.request('GET', '/v1/observations?sort=value', { key: own.keys.test });
    assert.equal(bad.status, 400);
  });

  test('read with _include returns a searchset Bundle with the referenced resources', async () => {
    const own = await t.createTenant();
    const patient = (await t.request('POST', '/v1/patients', { key: own.keys.test, body: { firstName: 'Ina', lastName: 'Clude' } })).json.data;
    const obs = (await t.request('POST', '/v1/observations', { key: own.keys.test, body: { ...HEART_RATE, patientId: patient.id, encounterId: undefined } })).json.data;
    await assertIncludeBundle(t, own.keys.test, `/v1/observations/${obs.id}?_include=Observation:subject`, [`Observation/${obs.id}`, `Patient/${patient.id}`]);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await t.request('POST', '/v1/observations', { key: tenant.keys.test, body: { ...HEART_RATE, patientId: 'pt-isolated' } })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/observations', id: created.id, patch: { status: 'amended' }, lists: ['/v1/observations?patientId=pt-isolated', '/v1/observations'],
    });
    assert.equal((await t.request('GET', '/v1/observations?patientId=pt-isolated', { key: tenant.keys.test })).json.data.data.length, 1);
  });

  test('every official R4 Observation example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('Observation');
    assert.ok(examples.length > 50);
    await loadR4Examples(t, own.keys.test, { fhirType: 'Observation', path: '/v1/observations' }, examples, ({ file, resource: example }, read) => {
      assert.equal(read.json.data.status, example.status);
      if (example.valueQuantity?.value !== undefined) assert.equal(read.json.data.valueQuantity.value, example.valueQuantity.value, file);
      if (example.subject?.reference?.startsWith('Patient/')) assert.equal(read.json.data.patientId, example.subject.reference.slice('Patient/'.length), file);
    });
    let cursor = '';
    let seen = 0;
    for (;;) {
      const list = await t.request('GET', `/v1/observations?count=100${cursor ? `&cursor=${cursor}` : ''}`, { key: own.keys.test });
      assert.equal(list.status, 200, list.body);
      seen += list.json.data.data.length;
      if (!list.json.data.hasMore) break;
      cursor = list.json.data.cursor;
    }
    assert.equal(seen, examples.length);
    await assertQueriesAnswer(t, own.keys.test, '/v1/observations', ['category=vital-signs', 'sort=-effectiveDateTime', 'dateFrom=2012-01-01&dateTo=2013-12-31', 'code=http://loinc.org|29463-7', 'status=final']);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const str = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 30) });
    const id = fc.stringMatching(/^[A-Za-z0-9\-_.]{1,20}$/);
    const code = fc.stringMatching(/^[A-Za-z0-9\-.:/[\]]{1,20}$/);
    const concept = fc.oneof(
      str(500),
      fc.record({ system: fc.constantFrom('http://loinc.org', 'http://snomed.info/sct'), code, display: str(500) }, { requiredKeys: ['code'] }),
    );
    const number = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)));
    const quantity = fc.record({ value: number, unit: str(100), system: fc.constant('http://unitsofmeasure.org'), code }, { requiredKeys: ['value'] });
    const simple = fc.record({ value: number, unit: str(100) }, { requiredKeys: ['value'] });
    const dateTime = fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z', '2024-03-15T09:30:00.123+02:00');
    const value = fc.oneof(
      fc.record({ valueQuantity: quantity }),
      fc.record({ valueString: str(2000) }),
      fc.record({ valueCodeableConcept: concept }),
      fc.constant({}),
    );
    const input = fc.tuple(
      fc.record({
        status: fc.constantFrom('registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled'),
        code: concept,
        patientId: id,
        encounterId: id,
        performerId: id,
        effectiveDateTime: dateTime,
        issued: fc.constantFrom('2024-03-15T09:30:00Z', '2024-03-15T09:30:00.5-05:00'),
        component: fc.array(fc.record({ code: concept, valueQuantity: quantity }, { requiredKeys: ['code'] }), { minLength: 1, maxLength: 3 }),
        category: fc.constantFrom('vital-signs', 'laboratory', 'social-history', 'exam'),
        interpretation: fc.oneof(fc.constantFrom('H', 'L', 'N', 'A', 'HH', 'LL'), str(10)),
        referenceRange: fc.record({ low: simple, high: simple, text: str(500) }, { requiredKeys: ['text'] }),
        bodySite: str(200),
        method: str(200),
        specimenId: id,
        deviceId: id,
        note: str(2000),
      }, { requiredKeys: ['status', 'code', 'patientId'] }),
      value,
    ).map(([fields, v]) => JSON.parse(JSON.stringify({ ...fields, ...v })));
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await t.request('POST', '/v1/observations', { key: own.keys.test, body });
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), body);
      const read = await t.request('GET', `/v1/observations/${res.json.data.id}`, { key: own.keys.test });
      assert.deepEqual(strip(read.json.data), body);
    }), { numRuns: 25 });
  });
});
