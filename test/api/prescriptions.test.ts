import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import {
  assertDeleted, assertIsolated, assertListLength, assertQueriesAnswer, assertTenantTag, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant,
} from '../helpers/resources.js';

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

/** The contract's example prescription (§3.7). */
const LISINOPRIL = {
  patientId: 'pt_abc123', prescriberId: 'prac_def456', encounterId: 'enc_xyz789',
  medication: { system: RXNORM, code: '197361', display: 'Lisinopril 10 MG Oral Tablet' },
  intent: 'order', status: 'active', priority: 'routine', category: 'outpatient',
  dosageText: 'Take 1 tablet by mouth once daily',
  dosage: { dose: { value: 10, unit: 'mg' }, frequency: 1, period: 1, periodUnit: 'd', route: 'oral' },
  refills: 3, quantity: { value: 30, unit: 'tablets' }, supplyDays: 30, substitutionAllowed: true,
  reason: 'Essential hypertension', courseOfTherapy: 'continuous',
};
const MINIMAL = { patientId: 'pt_1', prescriberId: 'prac_1', medication: 'Amoxicillin 500 mg capsule' };

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

const post = (key: string, body: unknown) => t.request('POST', '/v1/prescriptions', { key, body });

describe('prescriptions', () => {
  test('the contract example is accepted, read back as sent, and stored as valid FHIR with the tenant tag', async () => {
    const res = await post(tenant.keys.test, LISINOPRIL);
    assert.equal(res.status, 201, res.body);
    const { id, createdAt, updatedAt, authoredOn, ...fields } = res.json.data;
    assert.deepEqual(fields, LISINOPRIL);
    assert.ok(id && createdAt && updatedAt);
    assert.ok(Math.abs(Date.parse(authoredOn) - Date.now()) < 60_000, 'authoredOn defaults to now');
    const fhir = await readValidFhir(t, tenant.keys.test, 'MedicationRequest', id);
    assertTenantTag(fhir, tenant.tenantId);
    assert.deepEqual(fhir.subject, { reference: 'Patient/pt_abc123' });
    assert.deepEqual(fhir.requester, { reference: 'Practitioner/prac_def456' });
    assert.deepEqual(fhir.encounter, { reference: 'Encounter/enc_xyz789' });
    assert.deepEqual(fhir.medicationCodeableConcept, { coding: [LISINOPRIL.medication] });
    assert.deepEqual(fhir.category, [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'outpatient', display: 'Outpatient' }], text: 'outpatient' }]);
    assert.deepEqual(fhir.dosageInstruction, [{
      text: 'Take 1 tablet by mouth once daily', doseAndRate: [{ doseQuantity: { value: 10, unit: 'mg' } }],
      timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } }, route: { text: 'oral' },
    }]);
    assert.deepEqual(fhir.dispenseRequest, {
      numberOfRepeatsAllowed: 3, quantity: { value: 30, unit: 'tablets' },
      expectedSupplyDuration: { value: 30, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' },
    });
    assert.deepEqual(fhir.substitution, { allowedBoolean: true });
    assert.deepEqual(fhir.reasonCode, [{ text: 'Essential hypertension' }]);
    assert.equal(fhir.courseOfTherapyType.coding[0].code, 'continuous');
    assert.deepEqual((await t.request('GET', `/v1/prescriptions/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
  });

  test('defaults: intent order, status active, authoredOn now; a given authoredOn is kept', async () => {
    const res = await post(tenant.keys.test, MINIMAL);
    assert.equal(res.status, 201, res.body);
    assert.equal(res.json.data.intent, 'order');
    assert.equal(res.json.data.status, 'active');
    assert.ok(res.json.data.authoredOn);
    assert.equal(res.json.data.medication, MINIMAL.medication);
    const given = await post(tenant.keys.test, { ...MINIMAL, authoredOn: '2024-03-15T09:30:00Z', intent: 'plan', status: 'draft', doNotPerform: false });
    assert.equal(given.json.data.authoredOn, '2024-03-15T09:30:00Z');
    assert.equal(given.json.data.intent, 'plan');
    assert.equal(given.json.data.status, 'draft');
    assert.equal(given.json.data.doNotPerform, false);
  });

  test('validation: required fields, enums, ranges, lengths and shapes', async () => {
    const res = await post(tenant.keys.test, {
      intent: 'wish', status: 'paused', priority: 'whenever', refills: 100, statusReason: 'x'.repeat(501), category: 'c'.repeat(201),
      dosageText: 'd'.repeat(1001), dosage: { frequency: 1.5, periodUnit: 'y' }, quantity: { unit: 'tablets' }, supplyDays: -1,
      substitutionAllowed: 'yes', reason: 'r'.repeat(501), note: 'n'.repeat(2001), courseOfTherapy: 'c'.repeat(201), authoredOn: 'yesterday',
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'VALIDATION_ERROR');
    const diagnostics: string[] = res.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics);
    for (const prefix of [
      'patientId: Required', 'prescriberId: Required', 'medication: Required', 'intent:', 'status:', 'priority:', 'refills:', 'statusReason:', 'category:',
      'dosageText:', 'dosage.frequency:', 'dosage.periodUnit:', 'quantity.value: Required', 'supplyDays:', 'substitutionAllowed:', 'reason:', 'note:',
      'courseOfTherapy:', 'authoredOn:',
    ]) {
      assert.ok(diagnostics.some((d) => d.startsWith(prefix)), `${prefix} in ${diagnostics.join('; ')}`);
    }
    assert.equal((await post(tenant.keys.test, { ...MINIMAL, medication: { system: RXNORM } })).status, 422);
    assert.equal((await post(tenant.keys.test, { ...MINIMAL, refills: 99 })).status, 201);
    assert.equal((await post(tenant.keys.test, { ...MINIMAL, refills: 0 })).status, 201);
  });

  test('PATCH merges fields, replaces objects whole, refuses patientId, allows stopped; DELETE then 404', async () => {
    const created = (await post(tenant.keys.test, LISINOPRIL)).json.data;
    const patched = await t.request('PATCH', `/v1/prescriptions/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: { status: 'stopped', statusReason: 'Cough', dosage: { dose: { value: 20, unit: 'mg' } }, refills: 0, note: 'Switch to losartan', performerId: 'prac_nurse' },
    });
    assert.equal(patched.status, 200, patched.body);
    const data = patched.json.data;
    assert.equal(data.status, 'stopped');
    assert.equal(data.statusReason, 'Cough');
    assert.deepEqual(data.dosage, { dose: { value: 20, unit: 'mg' } }, 'the dosage object is replaced whole');
    assert.equal(data.dosageText, LISINOPRIL.dosageText, 'the instruction text is kept');
    assert.equal(data.refills, 0);
    assert.deepEqual(data.quantity, LISINOPRIL.quantity);
    assert.equal(data.supplyDays, 30);
    assert.equal(data.note, 'Switch to losartan');
    assert.equal(data.performerId, 'prac_nurse');
    assert.deepEqual(data.medication, LISINOPRIL.medication);
    assert.equal(data.authoredOn, created.authoredOn);
    assert.deepEqual((await t.request('GET', `/v1/prescriptions/${created.id}`, { key: tenant.keys.test })).json.data, data);
    await readValidFhir(t, tenant.keys.test, 'MedicationRequest', created.id);

    const immutable = await t.request('PATCH', `/v1/prescriptions/${created.id}`, { key: tenant.keys.test, body: { patientId: 'pt_other' } });
    assert.equal(immutable.status, 422);
    assert.ok(immutable.json.issues.some((issue: { diagnostics: string }) => issue.diagnostics === 'patientId: Cannot be changed'), immutable.body);
    assert.equal((await t.request('PATCH', `/v1/prescriptions/${created.id}`, { key: tenant.keys.test, body: { priority: 'eventually' } })).status, 422);

    await assertDeleted(t, tenant.keys.test, '/v1/prescriptions', created.id);
  });

  test('filters: patientId, prescriberId, encounterId, status, intent, priority, category, medication by name or code, dates; sort', async () => {
    const own = await t.createTenant();
    // Real ids are FHIR ids (no '_'): the search layer answers 400 to `patientId=pt-abc123` (see the report).
    const a = (await post(own.keys.test, { ...LISINOPRIL, patientId: 'pt-abc123', prescriberId: 'prac-def456', encounterId: 'enc-xyz789', authoredOn: '2024-01-10' })).json.data;
    const b = (await post(own.keys.test, { ...MINIMAL, patientId: 'pt-1', prescriberId: 'prac-1', authoredOn: '2024-02-20', status: 'completed', priority: 'urgent', category: 'inpatient', intent: 'plan' })).json.data;
    const c = (await post(own.keys.test, { patientId: 'pt-abc123', prescriberId: 'prac-1', medication: { system: RXNORM, code: '29046', display: 'Lisinopril' }, authoredOn: '2024-03-05T12:00:00Z' })).json.data;
    const ids = idLister(t, own.keys.test, '/v1/prescriptions');
    const sorted = async (query: string) => (await ids(query)).sort();
    assert.deepEqual(await sorted(''), [a.id, b.id, c.id].sort());
    assert.deepEqual(await sorted('patientId=pt-abc123'), [a.id, c.id].sort());
    assert.deepEqual(await ids('patientId=pt-1'), [b.id]);
    assert.deepEqual(await sorted('prescriberId=prac-1'), [b.id, c.id].sort());
    assert.deepEqual(await ids('encounterId=enc-xyz789'), [a.id]);
    assert.deepEqual(await ids('status=completed'), [b.id]);
    assert.deepEqual(await sorted('status=active'), [a.id, c.id].sort());
    assert.deepEqual(await ids('intent=plan'), [b.id]);
    assert.deepEqual(await ids('priority=urgent'), [b.id]);
    assert.deepEqual(await ids('category=inpatient'), [b.id]);
    assert.deepEqual(await sorted('medication=lisinopril'), [a.id, c.id].sort(), 'by name, case-insensitive');
    assert.deepEqual(await ids('medication=197361'), [a.id], 'by code');
    assert.deepEqual(await ids('medication=amoxi'), [b.id], 'by free text');
    assert.deepEqual(await ids('medication=29046'), [c.id]);
    assert.deepEqual(await sorted('dateFrom=2024-02-20'), [b.id, c.id].sort());
    assert.deepEqual(await sorted('dateTo=2024-02-20'), [a.id, b.id].sort());
    assert.deepEqual(await ids('dateFrom=2024-02-01&dateTo=2024-02-29'), [b.id]);
    assert.deepEqual(await ids('patientId=pt-abc123&medication=lisinopril&dateFrom=2024-03-01'), [c.id]);
    assert.deepEqual(await ids('sort=authoredOn'), [a.id, b.id, c.id]);
    assert.deepEqual(await ids('sort=-authoredOn'), [c.id, b.id, a.id]);
    assert.deepEqual(await ids('sort=-date'), [c.id, b.id, a.id]);
    assert.equal((await t.request('GET', '/v1/prescriptions?sort=dose', { key: own.keys.test })).status, 400);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await post(tenant.keys.test, { ...MINIMAL, patientId: 'pt-isolated' })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/prescriptions', id: created.id, patch: { note: 'x' }, lists: ['/v1/prescriptions?patientId=pt-isolated', '/v1/prescriptions'], fhirType: 'MedicationRequest',
    });
    assert.equal((await t.request('GET', `/v1/prescriptions/${created.id}`, { key: tenant.keys.test })).status, 200);
  });

  test('every official R4 MedicationRequest example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('MedicationRequest');
    assert.ok(examples.length > 0);
    await loadR4Examples(t, own.keys.test, { fhirType: 'MedicationRequest', path: '/v1/prescriptions' }, examples, ({ file, resource: example }, read) => {
      assert.equal(read.json.data.status, example.status);
      assert.equal(read.json.data.patientId, example.subject.reference.replace('Patient/', ''));
      const contained = example.contained?.find((item: { id: string }) => `#${item.id}` === example.medicationReference?.reference);
      if (example.medicationCodeableConcept || contained?.code) assert.ok(read.json.data.medication !== undefined, `${file}: medication read from the concept or the contained Medication`);
    });
    await assertListLength(t, own.keys.test, '/v1/prescriptions?count=100', examples.length);
    await assertQueriesAnswer(t, own.keys.test, '/v1/prescriptions', ['status=active', 'sort=authoredOn', 'sort=-updatedAt', 'medication=a', 'dateFrom=2015-01-01', 'patientId=pat1']);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcdefgXYZ0123456789-'), minLength: 1, maxLength: 12 });
    const id = fc.string({ unit: fc.constantFrom(...'abc123_-.'), minLength: 1, maxLength: 16 });
    const concept = fc.oneof(word, fc.record({ system: fc.constantFrom(RXNORM, 'http://snomed.info/sct'), code: word, display: word }, { requiredKeys: ['code'] }));
    const quantity = fc.record({ value: fc.integer({ min: -1000, max: 100000 }).map((n) => n / 100), unit: word }, { requiredKeys: ['value'] });
    const dosage = fc.record({
      dose: quantity, frequency: fc.integer({ min: 1, max: 24 }), period: fc.integer({ min: 1, max: 400 }).map((n) => n / 4),
      periodUnit: fc.constantFrom('h', 'd', 'wk', 'mo'), route: word,
    }, { requiredKeys: [] }).filter((d) => Object.keys(d).length > 0);
    const input = fc.record({
      patientId: id, prescriberId: id, medication: concept, encounterId: id,
      intent: fc.constantFrom('proposal', 'plan', 'order', 'original-order'),
      status: fc.constantFrom('active', 'on-hold', 'cancelled', 'completed', 'draft'),
      statusReason: word, priority: fc.constantFrom('routine', 'urgent', 'asap', 'stat'),
      category: fc.oneof(fc.constantFrom('inpatient', 'outpatient', 'community', 'discharge'), word),
      doNotPerform: fc.boolean(),
      authoredOn: fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z', '2024-03-15T09:30:00.123+02:00'),
      dosageText: word, dosage, refills: fc.integer({ min: 0, max: 99 }), quantity, supplyDays: fc.integer({ min: 0, max: 365 }),
      substitutionAllowed: fc.boolean(), reason: word, note: word, performerId: id,
      courseOfTherapy: fc.oneof(fc.constantFrom('continuous', 'acute', 'seasonal'), word), priorPrescriptionId: id,
    }, { requiredKeys: ['patientId', 'prescriberId', 'medication', 'intent', 'status', 'authoredOn'] });
    const own = await t.createTenant();
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await post(own.keys.test, body);
      assert.equal(res.status, 201, res.body);
      const { id: created, createdAt, updatedAt, ...fields } = res.json.data;
      assert.deepEqual(fields, JSON.parse(JSON.stringify(body)));
      await readValidFhir(t, own.keys.test, 'MedicationRequest', created);
      assert.deepEqual((await t.request('GET', `/v1/prescriptions/${created}`, { key: own.keys.test })).json.data, res.json.data);
    }), { numRuns: 25 });
  });
});
