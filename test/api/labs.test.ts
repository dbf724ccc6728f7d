import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertDeleted, assertIncludeBundle, assertIsolated, assertListLength, assertTenantTag, diagnosticsOf, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant, strip } from '../helpers/resources.js';

const V2_0074 = 'http://terminology.hl7.org/CodeSystem/v2-0074';

/** The contract's search item example (§3.11). */
const CMP = {
  patientId: 'pt_abc123', status: 'final', code: { system: 'http://loinc.org', code: '24323-8', display: 'Comprehensive metabolic 2000 panel' }, category: 'LAB',
  effectiveDateTime: '2025-01-15T10:30:00Z', conclusion: 'All values within normal limits.',
};
/** Every other documented field. */
const IMAGING = {
  patientId: 'pt-42', status: 'preliminary', code: 'Chest X-ray', category: 'RAD', encounterId: 'enc-1', effectivePeriod: { start: '2025-02-01T08:00:00Z', end: '2025-02-01T08:20:00Z' },
  resultIds: ['obs-1', 'obs-2'], conclusionCodes: [{ system: 'http://snomed.info/sct', code: '281900007', display: 'No abnormality detected' }, 'Clear lungs'],
  performer: 'prac-1', resultsInterpreter: 'Dr Jane Roe, MD', specimenIds: ['spec-1'],
  presentedForm: [{ contentType: 'application/pdf', data: Buffer.from('%PDF-1.4').toString('base64'), title: 'Report' }, { contentType: 'text/html', url: 'https://example.org/r/1' }],
  basedOn: ['sr-1'], media: [{ comment: 'PA view', linkId: 'media-1' }, { linkId: 'media-2' }],
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

const post = (key: string, body: unknown) => t.request('POST', '/v1/labs', { key, body });

describe('labs', () => {
  test('the contract example and every documented field are accepted, read back as sent, and stored as valid, tenant-tagged FHIR', async () => {
    for (const example of [CMP, IMAGING]) {
      const res = await post(tenant.keys.test, example);
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), example);
      const { id } = res.json.data;
      assert.deepEqual((await t.request('GET', `/v1/labs/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'DiagnosticReport', id);
      assertTenantTag(fhir, tenant.tenantId);
      assert.equal(fhir.subject.reference, `Patient/${example.patientId}`);
      assert.equal(fhir.category[0].coding[0].system, V2_0074);
      assert.equal(fhir.category[0].coding[0].code, example.category);
      if (example === CMP) {
        assert.deepEqual(fhir.code, { coding: [CMP.code] });
        assert.deepEqual(fhir.category, [{ coding: [{ system: V2_0074, code: 'LAB', display: 'Laboratory' }] }]);
        assert.equal(fhir.effectiveDateTime, CMP.effectiveDateTime);
        assert.equal(fhir.conclusion, CMP.conclusion);
      } else {
        assert.deepEqual(fhir.code, { text: 'Chest X-ray' });
        assert.deepEqual(fhir.effectivePeriod, IMAGING.effectivePeriod);
        assert.equal(fhir.effectiveDateTime, undefined);
        assert.deepEqual(fhir.result, [{ reference: 'Observation/obs-1' }, { reference: 'Observation/obs-2' }]);
        assert.deepEqual(fhir.conclusionCode, [{ coding: [IMAGING.conclusionCodes[0]] }, { text: 'Clear lungs' }]);
        assert.deepEqual(fhir.performer, [{ reference: 'Practitioner/prac-1' }]);
        assert.deepEqual(fhir.resultsInterpreter, [{ display: 'Dr Jane Roe, MD' }]);
        assert.deepEqual(fhir.specimen, [{ reference: 'Specimen/spec-1' }]);
        assert.deepEqual(fhir.basedOn, [{ reference: 'ServiceRequest/sr-1' }]);
        assert.deepEqual(fhir.encounter, { reference: 'Encounter/enc-1' });
        assert.deepEqual(fhir.presentedForm, IMAGING.presentedForm);
        assert.deepEqual(fhir.media, [{ comment: 'PA view', link: { reference: 'Media/media-1' } }, { link: { reference: 'Media/media-2' } }]);
      }
    }
  });

  test('validation: required fields, enums, limits, formats, and one effective[x] only', async () => {
    const res = await post(tenant.keys.test, {
      status: 'done', category: 'XRAY', conclusion: 'c'.repeat(5001), effectiveDateTime: 'today', effectivePeriod: { start: 'soon' }, resultIds: ['a b'],
      performer: 'p'.repeat(201), presentedForm: [{ data: '***' }], media: [{ comment: 'no link' }], conclusionCodes: [{ display: 'x' }], basedOn: 'sr-1', mood: 'good',
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'VALIDATION_ERROR');
    const diagnostics = diagnosticsOf(res);
    for (const expected of [
      'code: Required', 'patientId: Required',
      "status: Invalid enum value. Expected 'registered' | 'partial' | 'preliminary' | 'final' | 'amended' | 'corrected' | 'appended' | 'cancelled'",
      "category: Invalid enum value. Expected 'LAB' | 'RAD' | 'PAT'", 'conclusion: String must contain at most 5000 character(s)',
      'effectiveDateTime: Invalid fhir-date-time', 'effectivePeriod.start: Invalid fhir-date-time', 'resultIds.0: Invalid reference-id',
      'performer: String must contain at most 200 character(s)', 'presentedForm.0.contentType: Required', 'presentedForm.0.data: Invalid base64',
      'media.0.linkId: Required', 'basedOn: Expected array', 'mood: Unrecognized field',
    ]) assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);

    // A code the R4 validator would refuse (whitespace at the ends) is a 422 here, not a FHIR error later.
    for (const code of [' 24323-8', '24323-8 ', '24323  8']) {
      const badCode = await post(tenant.keys.test, { ...CMP, code: { system: 'http://loinc.org', code } });
      assert.equal(badCode.status, 422, badCode.body);
      assert.deepEqual(diagnosticsOf(badCode), ['code: Invalid input']);
    }
    const tooMany = await post(tenant.keys.test, { ...CMP, conclusionCodes: Array.from({ length: 21 }, () => 'x') });
    assert.deepEqual(diagnosticsOf(tooMany), ['conclusionCodes: Array must contain at most 20 element(s)']);
    const both = await post(tenant.keys.test, { ...CMP, effectivePeriod: { start: '2025-01-15' } });
    assert.equal(both.status, 422);
    assert.deepEqual(diagnosticsOf(both), ['effectivePeriod: Only one of effectiveDateTime, effectivePeriod may be given (effectiveDateTime is too)']);
    const emptyPeriod = await post(tenant.keys.test, { ...CMP, effectiveDateTime: undefined, effectivePeriod: {} });
    assert.equal(emptyPeriod.status, 422);
  });

  test('PATCH merges fields, replaces arrays and effective[x] whole, refuses patientId; DELETE then 404', async () => {
    const created = (await post(tenant.keys.test, { ...IMAGING, effectivePeriod: undefined, effectiveDateTime: '2025-02-01T08:00:00Z' })).json.data;
    const patched = await t.request('PATCH', `/v1/labs/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: {
        status: 'final', resultIds: ['obs-3'], presentedForm: [{ contentType: 'text/plain', data: Buffer.from('ok').toString('base64') }], conclusionCodes: ['Normal'],
        effectivePeriod: { start: '2025-02-01T08:00:00Z' }, performer: 'Acme Imaging', resultsInterpreter: 'prac-9',
      },
    });
    assert.equal(patched.status, 200, patched.body);
    const { effectiveDateTime: _replaced, ...kept } = strip(created);
    assert.deepEqual(strip(patched.json.data), {
      ...kept, status: 'final', resultIds: ['obs-3'], presentedForm: [{ contentType: 'text/plain', data: Buffer.from('ok').toString('base64') }], conclusionCodes: ['Normal'],
      effectivePeriod: { start: '2025-02-01T08:00:00Z' }, performer: 'Acme Imaging', resultsInterpreter: 'prac-9',
    });
    const fhir = await readValidFhir(t, tenant.keys.test, 'DiagnosticReport', created.id);
    assert.equal(fhir.effectiveDateTime, undefined);
    assert.deepEqual(fhir.performer, [{ display: 'Acme Imaging' }]);
    assert.deepEqual(fhir.resultsInterpreter, [{ reference: 'Practitioner/prac-9' }]);

    const back = await t.request('PATCH', `/v1/labs/${created.id}`, { key: tenant.keys.test, body: { effectiveDateTime: '2025-02-02' } });
    assert.equal(back.json.data.effectiveDateTime, '2025-02-02');
    assert.equal(back.json.data.effectivePeriod, undefined);
    const refused = await t.request('PATCH', `/v1/labs/${created.id}`, { key: tenant.keys.test, body: { patientId: 'pt_else', status: 'final' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(diagnosticsOf(refused), ['patientId: Cannot be changed']);
    assert.equal((await t.request('PATCH', `/v1/labs/${created.id}`, { key: tenant.keys.test, body: { status: 'done' } })).status, 422);

    await assertDeleted(t, tenant.keys.test, '/v1/labs', created.id, { patch: { status: 'final' } });
  });

  test('filters (patientId, status, category, dateFrom/dateTo on effective[x]) and sorts', async () => {
    const own = await t.createTenant();
    const create = async (body: object) => {
      const res = await post(own.keys.test, body);
      assert.equal(res.status, 201, res.body);
      return res.json.data.id as string;
    };
    // Search takes FHIR ids ([A-Za-z0-9-.]), so these ids have no underscore.
    const cmp = await create({ ...CMP, patientId: 'pt-abc123' });
    const imaging = await create(IMAGING);
    const biopsy = await create({ status: 'registered', code: 'Biopsy', patientId: 'pt-abc123', category: 'PAT', effectiveDateTime: '2025-03-10' });
    const undated = await create({ status: 'cancelled', code: 'CBC', patientId: 'pt-42' });
    const ids = idLister(t, own.keys.test, '/v1/labs');
    const same = async (query: string, expected: string[]) => assert.deepEqual((await ids(query)).sort(), [...expected].sort(), query);
    await same('', [cmp, imaging, biopsy, undated]);
    await same('patientId=pt-abc123', [cmp, biopsy]);
    await same('patientId=pt-42', [imaging, undated]);
    await same('status=final', [cmp]);
    await same('status=preliminary,registered', [imaging, biopsy]);
    await same('category=LAB', [cmp]);
    await same('category=RAD', [imaging]);
    await same('category=PAT&patientId=pt-abc123', [biopsy]);
    await same('dateFrom=2025-01-15', [cmp, imaging, biopsy]);
    await same('dateFrom=2025-01-16', [imaging, biopsy]);
    await same('dateTo=2025-01-15', [cmp]);
    await same('dateFrom=2025-02-01&dateTo=2025-02-01', [imaging]);
    assert.deepEqual(await ids('sort=date&dateFrom=2024-01-01'), [cmp, imaging, biopsy]);
    assert.deepEqual(await ids('sort=-date&dateFrom=2024-01-01'), [biopsy, imaging, cmp]);
    assert.equal((await ids('sort=status'))[0], undated);
    assert.deepEqual(await ids('sort=-updatedAt&count=1'), [undated]);
    assert.equal((await t.request('GET', '/v1/labs?sort=code', { key: own.keys.test })).status, 400);
  });

  test('read with _include returns a searchset Bundle with the results (DiagnosticReport:result, or by type) and the patient', async () => {
    const own = await t.createTenant();
    const patient = (await t.request('POST', '/v1/patients', { key: own.keys.test, body: { firstName: 'Lab', lastName: 'Patient' } })).json.data;
    const observation = async (code: string) => {
      const res = await t.request('POST', '/v1/observations', { key: own.keys.test, body: { status: 'final', code, patientId: patient.id, valueString: 'normal' } });
      assert.equal(res.status, 201, res.body);
      return res.json.data.id as string;
    };
    const results = [await observation('Sodium'), await observation('Potassium')];
    const lab = (await post(own.keys.test, { ...CMP, patientId: patient.id, resultIds: results })).json.data;
    const observations = results.map((id) => `Observation/${id}`);
    await assertIncludeBundle(t, own.keys.test, `/v1/labs/${lab.id}?_include=DiagnosticReport:result`, [`DiagnosticReport/${lab.id}`, ...observations]);
    await assertIncludeBundle(t, own.keys.test, `/v1/labs/${lab.id}?_include=Observation`, [`DiagnosticReport/${lab.id}`, ...observations]);
    // What the SDK sends for include:['Observation'] (contract §3.11).
    await assertIncludeBundle(t, own.keys.test, `/v1/labs/${lab.id}?_include=DiagnosticReport:Observation`, [`DiagnosticReport/${lab.id}`, ...observations]);
    await assertIncludeBundle(t, own.keys.test, `/v1/labs/${lab.id}?_include=DiagnosticReport:subject`, [`DiagnosticReport/${lab.id}`, `Patient/${patient.id}`]);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await post(tenant.keys.test, { ...CMP, patientId: 'pt-isolated' })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/labs', id: created.id, patch: { status: 'amended' }, lists: ['/v1/labs?patientId=pt-isolated', '/v1/labs'], fhirType: 'DiagnosticReport',
    });
    assert.equal((await t.request('GET', '/v1/labs?patientId=pt-isolated', { key: tenant.keys.test })).json.data.data.length, 1);
  });

  test('every official R4 DiagnosticReport example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('DiagnosticReport');
    assert.equal(examples.length, 6);
    const projected: Record<string, Record<string, unknown>> = {};
    await loadR4Examples(t, own.keys.test, { fhirType: 'DiagnosticReport', path: '/v1/labs' }, examples, async ({ file, id, resource: example }, read) => {
      projected[id] = read.json.data;
      assert.equal(read.json.data.status, example.status, file);
      assert.equal(read.json.data.effectiveDateTime, example.effectiveDateTime, file);
      // A PATCH through the simplified API keeps the resource valid and leaves what it does not name alone.
      const patched = await t.request('PATCH', `/v1/labs/${id}`, { key: own.keys.test, body: { conclusion: 'Reviewed', category: 'LAB' } });
      assert.equal(patched.status, 200, `${file}: ${patched.body}`);
      const fhir = await readValidFhir(t, own.keys.test, 'DiagnosticReport', id, file);
      assert.deepEqual(fhir.identifier, example.identifier, file);
      assert.deepEqual(fhir.presentedForm, example.presentedForm, file);
    });
    assert.equal(projected['102'].performer, '3ad0687e-f477-468c-afd5-fcc2bf897809');
    assert.deepEqual(projected['102'].code, { system: 'http://loinc.org', code: '38269-7' });
    assert.deepEqual(projected['102'].resultIds, ['bmd']);
    assert.equal(projected.f201.category, 'RAD');
    assert.equal(projected.f201.performer, 'Blijdorp MC');
    assert.equal(projected['gingival-mass'].category, 'PAT');
    assert.equal(projected['gingival-mass'].patientId, undefined);
    assert.equal(projected['gingival-mass'].resultsInterpreter, 'Sean Stover, BS,\u00a0DVM, DABVP (Canine/Feline), DACVP');
    assert.deepEqual(projected.ultrasound.media, [{ comment: 'A comment about the image', linkId: '1.2.840.11361907579238403408700.3.1.04.19970327150033' }]);
    assert.deepEqual(projected['example-pgx'].basedOn, ['example-pgx']);
    await assertListLength(t, own.keys.test, '/v1/labs?count=100&sort=-date', examples.length);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const str = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 30) });
    const id = fc.stringMatching(/^[A-Za-z0-9\-_.]{1,20}$/);
    const dateTime = fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z', '2024-03-15T09:30:00.123+02:00');
    const later = fc.constantFrom('2025', '2025-01-02', '2025-01-02T10:00:00Z');
    const concept = fc.oneof(str(500), fc.record({ system: fc.constantFrom('http://loinc.org', 'urn:x'), code: fc.stringMatching(/^[A-Za-z0-9-]{1,10}$/), display: str(500) }, { requiredKeys: ['code'] }));
    const base64 = fc.uint8Array({ minLength: 1, maxLength: 30 }).map((bytes) => Buffer.from(bytes).toString('base64'));
    const effective = fc.oneof(
      fc.record({ effectiveDateTime: dateTime }),
      fc.record({ effectivePeriod: fc.record({ start: dateTime, end: later }, { requiredKeys: [] }).filter((p) => Object.keys(p).length > 0) }),
      fc.constant({}),
    );
    const fields = fc.record({
      status: fc.constantFrom('registered', 'partial', 'preliminary', 'final', 'amended', 'corrected', 'appended', 'cancelled'),
      code: concept,
      patientId: id,
      encounterId: id,
      resultIds: fc.array(id, { minLength: 1, maxLength: 3 }),
      category: fc.constantFrom('LAB', 'RAD', 'PAT'),
      conclusion: str(5000),
      conclusionCodes: fc.array(concept, { minLength: 1, maxLength: 3 }),
      performer: fc.oneof(id, fc.constantFrom('Dr Jane Roe', 'Acme Labs, Inc.')),
      resultsInterpreter: fc.oneof(id, fc.constantFrom('Dr John Doe', 'Pathology team')),
      specimenIds: fc.array(id, { minLength: 1, maxLength: 3 }),
      presentedForm: fc.array(fc.record({ contentType: fc.constantFrom('application/pdf', 'text/plain'), data: base64, url: fc.constantFrom('https://example.org/r/1'), title: str(500) }, { requiredKeys: ['contentType'] }), { minLength: 1, maxLength: 2 }),
      basedOn: fc.array(id, { minLength: 1, maxLength: 3 }),
      media: fc.array(fc.record({ comment: str(1000), linkId: id }, { requiredKeys: ['linkId'] }), { minLength: 1, maxLength: 3 }),
    }, { requiredKeys: ['status', 'code', 'patientId'] });
    const input = fc.tuple(fields, effective).map(([body, when]) => JSON.parse(JSON.stringify({ ...body, ...when })));
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await post(own.keys.test, body);
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), body);
      const read = await t.request('GET', `/v1/labs/${res.json.data.id}`, { key: own.keys.test });
      assert.deepEqual(strip(read.json.data), body);
    }), { numRuns: 25 });
  });
});
