import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertDeleted, assertIsolated, assertListLength, assertTenantTag, diagnosticsOf, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant, strip } from '../helpers/resources.js';

const ICD10_CM = 'http://hl7.org/fhir/sid/icd-10-cm';
const SNOMED = 'http://snomed.info/sct';
/** The contract's example findings (§3.13), I10 and E11.9. */
const FOLLOW_UP = {
  status: 'completed',
  patientId: 'pt_abc123',
  summary: 'Blood pressure controlled on lisinopril; diabetes stable.',
  practitionerId: 'prac_def456',
  encounterId: 'enc_xyz789',
  effectiveDateTime: '2025-01-15T09:30:00Z',
  findings: [{ code: 'I10', text: 'Essential hypertension', basis: 'BP 128/82 on two visits' }, { code: 'E11.9', text: 'Type 2 diabetes mellitus' }],
};
/** Every documented field. */
const FULL = {
  status: 'in-progress',
  patientId: 'pt-42',
  summary: 'Hypertension suspected, work-up ongoing.',
  statusReason: 'Awaiting lab results',
  encounterId: 'enc-1',
  practitionerId: 'prac-1',
  code: 'initial-assessment',
  description: 'New patient with headaches and raised office blood pressure.',
  findings: [{ code: '38341003', text: 'Hypertensive disorder' }, { text: 'Fatigue' }],
  note: 'Discussed salt intake.',
  effectiveDateTime: '2025-02-01',
  date: '2025-02-01T10:00:00Z',
  previousAssessmentId: 'ci-1',
  problemIds: ['cond-1', 'AllergyIntolerance/alg-1'],
  investigations: [{ name: 'Blood pressure readings', itemIds: ['obs-1', 'DiagnosticReport/dr-1'] }, { name: 'Physical examination' }],
  protocol: ['https://guidelines.example.org/hypertension'],
  prognosis: [{ code: '170968001', text: 'Good prognosis' }, { text: 'Guarded' }],
  supportingInfoIds: ['obs-2', 'Procedure/proc-1'],
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

const post = (key: string, body: unknown) => t.request('POST', '/v1/assessments', { key, body });

describe('assessments', () => {
  test('the contract example and every documented field are accepted, read back as sent, and stored as valid, tenant-tagged FHIR', async () => {
    for (const body of [FOLLOW_UP, FULL]) {
      const before = Date.now();
      const res = await post(tenant.keys.test, body);
      assert.equal(res.status, 201, res.body);
      const { date, ...fields } = strip(res.json.data);
      const { date: sentDate, ...sent } = body as Record<string, unknown>;
      assert.deepEqual(fields, sent);
      // `date` defaults to now.
      if (sentDate === undefined) assert.ok(Math.abs(Date.parse(String(date)) - before) < 60_000, String(date));
      else assert.equal(date, sentDate);
      const { id } = res.json.data;
      assert.deepEqual((await t.request('GET', `/v1/assessments/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'ClinicalImpression', id);
      assertTenantTag(fhir, tenant.tenantId);
      assert.equal(fhir.subject.reference, `Patient/${body.patientId}`);
      assert.deepEqual(fhir.assessor, { reference: `Practitioner/${body.practitionerId}` });
      assert.deepEqual(fhir.encounter, { reference: `Encounter/${body.encounterId}` });
      assert.equal(fhir.summary, body.summary);
      if (body === FOLLOW_UP) {
        assert.deepEqual(fhir.finding, [
          { itemCodeableConcept: { coding: [{ system: ICD10_CM, code: 'I10' }], text: 'Essential hypertension' }, basis: 'BP 128/82 on two visits' },
          { itemCodeableConcept: { coding: [{ system: ICD10_CM, code: 'E11.9' }], text: 'Type 2 diabetes mellitus' } },
        ]);
        assert.equal(fhir.effectiveDateTime, FOLLOW_UP.effectiveDateTime);
      } else {
        assert.deepEqual(fhir.finding, [{ itemCodeableConcept: { coding: [{ system: SNOMED, code: '38341003' }], text: 'Hypertensive disorder' } }, { itemCodeableConcept: { text: 'Fatigue' } }]);
        assert.deepEqual(fhir.statusReason, { text: 'Awaiting lab results' });
        assert.deepEqual(fhir.code, { text: 'initial-assessment' });
        assert.deepEqual(fhir.note, [{ text: 'Discussed salt intake.' }]);
        assert.deepEqual(fhir.previous, { reference: 'ClinicalImpression/ci-1' });
        assert.deepEqual(fhir.problem, [{ reference: 'Condition/cond-1' }, { reference: 'AllergyIntolerance/alg-1' }]);
        assert.deepEqual(fhir.investigation, [
          { code: { text: 'Blood pressure readings' }, item: [{ reference: 'Observation/obs-1' }, { reference: 'DiagnosticReport/dr-1' }] },
          { code: { text: 'Physical examination' } },
        ]);
        assert.deepEqual(fhir.protocol, FULL.protocol);
        assert.deepEqual(fhir.prognosisCodeableConcept, [{ coding: [{ system: SNOMED, code: '170968001' }], text: 'Good prognosis' }, { text: 'Guarded' }]);
        assert.deepEqual(fhir.supportingInfo, [{ reference: 'Observation/obs-2' }, { reference: 'Procedure/proc-1' }]);
      }
    }
  });

  test('validation: required fields, enums, limits, code shapes, reference types', async () => {
    const res = await post(tenant.keys.test, {
      status: 'draft', summary: 's'.repeat(5001), statusReason: 'r'.repeat(501), code: 'c'.repeat(201), description: 'd'.repeat(2001), note: 'n'.repeat(2001),
      findings: [{ code: 'i10' }, { code: 'Hypertension', text: 'x' }, { text: 'y', basis: 7 }], date: 'now', effectiveDateTime: '2025-13-01',
      problemIds: ['Observation/obs-1'], investigations: [{ itemIds: ['Patient/p1'] }], protocol: ['not a uri'], prognosis: [{ code: '12' }], supportingInfoIds: ['a b'],
      practitionerId: 'a/b', mood: 'fine',
    });
    assert.equal(res.status, 422);
    const diagnostics = diagnosticsOf(res);
    for (const expected of [
      'patientId: Required', "status: Invalid enum value. Expected 'in-progress' | 'completed'", 'summary: String must contain at most 5000 character(s)',
      'statusReason: String must contain at most 500 character(s)', 'code: String must contain at most 200 character(s)', 'description: String must contain at most 2000 character(s)',
      'note: String must contain at most 2000 character(s)', 'findings.0.text: Required', 'findings.0.code: Invalid format', 'findings.1.code: Invalid format',
      'findings.2.basis: Expected string', 'date: Invalid fhir-date-time', 'effectiveDateTime: Invalid fhir-date-time', 'problemIds.0: Invalid format',
      'investigations.0.name: Required', 'investigations.0.itemIds.0: Invalid format', 'protocol.0: Invalid uri', 'prognosis.0.text: Required', 'prognosis.0.code: Invalid format',
      'supportingInfoIds.0: Invalid format', 'practitionerId: Invalid reference-id', 'mood: Unrecognized field',
    ]) assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);
    assert.deepEqual(diagnosticsOf(await post(tenant.keys.test, { status: 'completed', patientId: 'p' })), ['summary: Required']);

    const base = { status: 'completed', patientId: 'p', summary: 's' };
    const limits: Array<[string, unknown[], string]> = [
      ['findings', Array.from({ length: 51 }, () => ({ text: 'f' })), 'findings: Array must contain at most 50 element(s)'],
      ['investigations', Array.from({ length: 21 }, () => ({ name: 'i' })), 'investigations: Array must contain at most 20 element(s)'],
      ['prognosis', Array.from({ length: 11 }, () => ({ text: 'p' })), 'prognosis: Array must contain at most 10 element(s)'],
    ];
    for (const [field, tooMany, message] of limits) {
      assert.deepEqual(diagnosticsOf(await post(tenant.keys.test, { ...base, [field]: tooMany })), [message]);
      assert.equal((await post(tenant.keys.test, { ...base, [field]: tooMany.slice(1) })).status, 201, field);
    }
  });

  test('PATCH merges fields, replaces findings, investigations and prognosis whole, refuses patientId; DELETE then 404', async () => {
    const created = (await post(tenant.keys.test, FULL)).json.data;
    const changes = {
      status: 'completed', findings: [{ code: 'I10', text: 'Essential hypertension' }], investigations: [{ name: 'Ambulatory BP monitoring', itemIds: ['obs-9'] }],
      prognosis: [{ text: 'Good' }], note: 'Start lisinopril.', effectiveDateTime: '2025-02-08T11:00:00Z', statusReason: 'Results reviewed',
    };
    const patched = await t.request('PATCH', `/v1/assessments/${created.id}`, { key: tenant.keys.test, contentType: 'application/json-patch+json', body: changes });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(strip(patched.json.data), { ...FULL, ...changes });
    const fhir = await readValidFhir(t, tenant.keys.test, 'ClinicalImpression', created.id);
    assert.deepEqual(fhir.finding, [{ itemCodeableConcept: { coding: [{ system: ICD10_CM, code: 'I10' }], text: 'Essential hypertension' } }]);

    const refused = await t.request('PATCH', `/v1/assessments/${created.id}`, { key: tenant.keys.test, body: { patientId: 'pt-else', status: 'completed' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(diagnosticsOf(refused), ['patientId: Cannot be changed']);

    await assertDeleted(t, tenant.keys.test, '/v1/assessments', created.id, { patch: { status: 'completed' } });
  });

  test('filters (patientId, practitionerId, status, encounterId, dateFrom/dateTo on date) and sorts', async () => {
    const own = await t.createTenant();
    const create = async (body: object) => {
      const res = await post(own.keys.test, { status: 'completed', summary: 'Assessed', ...body });
      assert.equal(res.status, 201, res.body);
      return res.json.data.id as string;
    };
    // Search takes FHIR ids ([A-Za-z0-9-.]), so these ids have no underscore.
    const first = await create({ patientId: 'pt-1', practitionerId: 'dr-a', encounterId: 'enc-1', date: '2025-01-10T08:00:00Z' });
    const second = await create({ patientId: 'pt-2', practitionerId: 'dr-b', date: '2025-01-15T12:00:00Z', status: 'in-progress' });
    const third = await create({ patientId: 'pt-1', practitionerId: 'dr-b', encounterId: 'enc-2', date: '2025-01-20' });
    const ids = idLister(t, own.keys.test, '/v1/assessments');
    const same = async (query: string, expected: string[]) => assert.deepEqual((await ids(query)).sort(), [...expected].sort(), query);
    await same('', [first, second, third]);
    await same('patientId=pt-1', [first, third]);
    await same('practitionerId=dr-b', [second, third]);
    await same('practitionerId=dr-b&patientId=pt-1', [third]);
    await same('status=in-progress', [second]);
    await same('status=completed', [first, third]);
    await same('encounterId=enc-1', [first]);
    await same('dateFrom=2025-01-15', [second, third]);
    await same('dateTo=2025-01-15', [first, second]);
    await same('dateFrom=2025-01-11&dateTo=2025-01-19', [second]);
    assert.deepEqual(await ids('sort=date'), [first, second, third]);
    assert.deepEqual(await ids('sort=-date'), [third, second, first]);
    assert.equal((await ids('sort=-status'))[0], second);
    assert.deepEqual(await ids('sort=-updatedAt&count=1'), [third]);
    assert.equal((await t.request('GET', '/v1/assessments?sort=summary', { key: own.keys.test })).status, 400);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await post(tenant.keys.test, { ...FOLLOW_UP, patientId: 'pt-isolated' })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/assessments', id: created.id, patch: { status: 'in-progress' }, lists: ['/v1/assessments?patientId=pt-isolated', '/v1/assessments'],
      fhirType: 'ClinicalImpression',
    });
    assert.equal((await t.request('GET', '/v1/assessments?patientId=pt-isolated', { key: tenant.keys.test })).json.data.data.length, 1);
  });

  test('the official R4 ClinicalImpression example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('ClinicalImpression');
    assert.equal(examples.length, 1);
    await loadR4Examples(t, own.keys.test, { fhirType: 'ClinicalImpression', path: '/v1/assessments' }, examples, async ({ file, id, resource: example }, read) => {
      assert.deepEqual(strip(read.json.data), {
        status: 'completed', patientId: 'example', encounterId: 'example', practitionerId: 'example', summary: example.summary, description: example.description,
        date: '2014-12-06T22:33:00+11:00',
        // An ICD-9 finding: no ICD-10 or SNOMED code to show, so the code stands as the text.
        findings: [{ text: '850.0' }],
        // The investigation's items are displays, not references.
        investigations: [{ name: 'Initial Examination' }],
      });
      // A PATCH keeps the resource valid; effectiveDateTime replaces effectivePeriod (effective[x] is a choice).
      const patched = await t.request('PATCH', `/v1/assessments/${id}`, { key: own.keys.test, body: { effectiveDateTime: '2014-12-06T21:00:00+11:00', note: 'Reviewed' } });
      assert.equal(patched.status, 200, `${file}: ${patched.body}`);
      const fhir = await readValidFhir(t, own.keys.test, 'ClinicalImpression', id, file);
      assert.equal(fhir.effectivePeriod, undefined);
      assert.deepEqual(fhir.identifier, example.identifier, file);
      assert.deepEqual(fhir.finding, example.finding, file);
      assert.deepEqual(fhir.investigation, example.investigation, file);
    });
    await assertListLength(t, own.keys.test, '/v1/assessments?count=100&sort=-date', examples.length);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const str = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 30) });
    const id = fc.stringMatching(/^[A-Za-z0-9\-_.]{1,20}$/);
    const typed = (types: string[]) => fc.oneof(id, fc.tuple(fc.constantFrom(...types), id).map(([type, value]) => `${type}/${value}`));
    const dateTime = fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z', '2024-03-15T09:30:00.123+02:00');
    const code = fc.oneof(fc.stringMatching(/^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$/), fc.stringMatching(/^\d{6,18}$/));
    const codedText = fc.record({ code, text: str(500) }, { requiredKeys: ['text'] });
    const input = fc.record({
      status: fc.constantFrom('in-progress', 'completed'),
      patientId: id,
      summary: str(5000),
      statusReason: str(500),
      encounterId: id,
      practitionerId: id,
      code: str(200),
      description: str(2000),
      findings: fc.array(fc.record({ code, text: str(500), basis: str(1000) }, { requiredKeys: ['text'] }), { minLength: 1, maxLength: 3 }),
      note: str(2000),
      effectiveDateTime: dateTime,
      date: dateTime,
      previousAssessmentId: id,
      problemIds: fc.array(typed(['AllergyIntolerance']), { minLength: 1, maxLength: 3 }),
      investigations: fc.array(fc.record({ name: str(200), itemIds: fc.array(typed(['DiagnosticReport', 'RiskAssessment']), { minLength: 1, maxLength: 3 }) }, { requiredKeys: ['name'] }), { minLength: 1, maxLength: 3 }),
      protocol: fc.array(fc.constantFrom('https://guidelines.example.org/a', 'urn:uuid:1'), { minLength: 1, maxLength: 2 }),
      prognosis: fc.array(codedText, { minLength: 1, maxLength: 3 }),
      supportingInfoIds: fc.array(typed(['Procedure', 'Condition']), { minLength: 1, maxLength: 3 }),
    }, { requiredKeys: ['status', 'patientId', 'summary', 'date'] }).map((body) => JSON.parse(JSON.stringify(body)));
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await post(own.keys.test, body);
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), body);
      const read = await t.request('GET', `/v1/assessments/${res.json.data.id}`, { key: own.keys.test });
      assert.deepEqual(strip(read.json.data), body);
    }), { numRuns: 25 });
  });
});
