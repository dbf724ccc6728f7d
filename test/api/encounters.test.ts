import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertDeleted, assertIncludeBundle, assertIsolated, assertListLength, assertTenantTag, diagnosticsOf, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant, strip } from '../helpers/resources.js';

/** The contract's example encounter (§3.4). */
const VISIT = {
  status: 'in-progress', class: 'AMB', patientId: 'pt_abc123', practitionerId: 'prac_def456', type: 'Annual wellness visit', serviceType: 'General Practice',
  reasonCode: 'Routine health maintenance', period: { start: '2025-01-15T09:00:00Z' }, location: 'Main Clinic - Room 204',
  diagnosis: [{ condition: 'Essential hypertension', use: 'AD', rank: 1 }, { condition: 'Type 2 diabetes mellitus', use: 'DD', rank: 2 }],
};
/** Every other documented field. */
const ADMISSION = {
  status: 'finished', class: 'IMP', patientId: 'pt-42', practitionerId: 'prac-1',
  participants: [{ practitionerId: 'prac-2', role: 'ATND' }, { practitionerId: 'prac-3', role: 'Night nurse' }, { practitionerId: 'prac-4' }],
  priority: 'urgent', reasonCode: ['Chest pain', 'Shortness of breath'], period: { start: '2025-02-01T22:10:00Z', end: '2025-02-04T11:00:00Z' }, lengthMinutes: 3650,
  serviceProvider: 'General Hospital', appointmentId: 'appt-1', basedOnId: 'sr-1', partOfId: 'enc-parent',
  hospitalization: {
    admitSource: 'Emergency department', reAdmission: 'Readmitted within 30 days', dischargeDisposition: 'Home', dietPreference: ['Vegetarian', 'Low salt'],
    specialArrangement: ['Wheelchair'], origin: 'Home', destination: 'Home',
  },
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });


describe('encounters', () => {
  test('the contract example and a full admission are accepted, read back as sent, and stored as valid, tenant-tagged FHIR', async () => {
    for (const example of [VISIT, ADMISSION]) {
      const res = await t.request('POST', '/v1/encounters', { key: tenant.keys.test, body: example });
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), example);
      const { id } = res.json.data;
      assert.deepEqual((await t.request('GET', `/v1/encounters/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'Encounter', id);
      assertTenantTag(fhir, tenant.tenantId);
      assert.equal(fhir.subject.reference, `Patient/${example.patientId}`);
      assert.equal(fhir.class.system, 'http://terminology.hl7.org/CodeSystem/v3-ActCode');
      assert.equal(fhir.class.code, example.class);
      assert.deepEqual(fhir.participant[0], {
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF', display: 'primary performer' }] }],
        individual: { reference: `Practitioner/${example.practitionerId}` },
      });
      if (example === VISIT) {
        assert.deepEqual(fhir.type, [{ text: 'Annual wellness visit' }]);
        assert.deepEqual(fhir.serviceType, { text: 'General Practice' });
        assert.deepEqual(fhir.reasonCode, [{ text: 'Routine health maintenance' }]);
        assert.deepEqual(fhir.location, [{ location: { display: 'Main Clinic - Room 204' } }]);
        assert.deepEqual(fhir.diagnosis[0], {
          condition: { display: 'Essential hypertension' }, use: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/diagnosis-role', code: 'AD', display: 'Admission diagnosis' }] }, rank: 1,
        });
      } else {
        assert.deepEqual(fhir.length, { value: 3650, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' });
        assert.deepEqual(fhir.participant.slice(1).map((p: { type?: unknown }) => p.type), [
          [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'ATND', display: 'attender' }] }], [{ text: 'Night nurse' }], undefined,
        ]);
        assert.deepEqual(fhir.hospitalization.origin, { display: 'Home' });
        assert.deepEqual(fhir.hospitalization.dietPreference, [{ text: 'Vegetarian' }, { text: 'Low salt' }]);
        assert.deepEqual(fhir.appointment, [{ reference: 'Appointment/appt-1' }]);
        assert.deepEqual(fhir.basedOn, [{ reference: 'ServiceRequest/sr-1' }]);
        assert.deepEqual(fhir.partOf, { reference: 'Encounter/enc-parent' });
      }
    }
  });

  test('validation: required fields, enums, limits and the period order', async () => {
    const res = await t.request('POST', '/v1/encounters', {
      key: tenant.keys.test,
      body: {
        status: 'done', class: 'OUTPATIENT', type: 't'.repeat(201), priority: 'p'.repeat(51), reasonCode: ['r'.repeat(501)], lengthMinutes: 10081,
        diagnosis: [{ use: 'AD', rank: 0 }], participants: [{ role: 'ATND' }], period: { start: 'yesterday' }, hospitalization: {}, location: 'l'.repeat(201),
        serviceProvider: 's'.repeat(201), mood: 'good',
      },
    });
    assert.equal(res.status, 422);
    const diagnostics = diagnosticsOf(res);
    for (const expected of [
      'patientId: Required',
      "status: Invalid enum value. Expected 'planned' | 'arrived' | 'triaged' | 'in-progress' | 'onleave' | 'finished' | 'cancelled'",
      "class: Invalid enum value. Expected 'AMB' | 'IMP' | 'EMER' | 'HH' | 'VR'",
      'type: String must contain at most 200 character(s)', 'priority: String must contain at most 50 character(s)', 'reasonCode: Invalid input',
      'lengthMinutes: Invalid value', 'diagnosis.0.condition: Required', 'diagnosis.0.rank: Invalid value', 'participants.0.practitionerId: Required',
      'period.start: Invalid fhir-date-time', 'hospitalization: Invalid value', 'location: String must contain at most 200 character(s)',
      'serviceProvider: String must contain at most 200 character(s)', 'mood: Unrecognized field',
    ]) assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);

    const tooMany = await t.request('POST', '/v1/encounters', { key: tenant.keys.test, body: { ...VISIT, diagnosis: Array.from({ length: 21 }, () => ({ condition: 'x' })) } });
    assert.deepEqual(diagnosticsOf(tooMany), ['diagnosis: Array must contain at most 20 element(s)']);
    const backwards = await t.request('POST', '/v1/encounters', { key: tenant.keys.test, body: { ...VISIT, period: { start: '2025-01-15T09:00:00Z', end: '2025-01-14' } } });
    assert.equal(backwards.status, 422);
    assert.deepEqual(diagnosticsOf(backwards), ['period.end: Must not be before period.start']);
    const sameDay = await t.request('POST', '/v1/encounters', { key: tenant.keys.test, body: { ...VISIT, period: { start: '2025-01-15T09:00:00Z', end: '2025-01-15' } } });
    assert.equal(sameDay.status, 201, 'a day-precision end covers the whole day');
  });

  test('PATCH merges fields, replaces diagnosis, period and hospitalization whole, refuses patientId; DELETE then 404', async () => {
    const created = (await t.request('POST', '/v1/encounters', { key: tenant.keys.test, body: { ...VISIT, hospitalization: { admitSource: 'Referral', dietPreference: ['Halal'] } } })).json.data;
    const patched = await t.request('PATCH', `/v1/encounters/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: {
        status: 'finished', diagnosis: [{ condition: 'Hypertension, controlled' }], period: { end: '2025-01-15T09:45:00Z' }, lengthMinutes: 45,
        hospitalization: { dischargeDisposition: 'Home' }, practitionerId: 'prac-new', participants: [{ practitionerId: 'prac-x', role: 'CON' }],
      },
    });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(strip(patched.json.data), {
      ...VISIT, status: 'finished', diagnosis: [{ condition: 'Hypertension, controlled' }], period: { end: '2025-01-15T09:45:00Z' }, lengthMinutes: 45,
      hospitalization: { dischargeDisposition: 'Home' }, practitionerId: 'prac-new', participants: [{ practitionerId: 'prac-x', role: 'CON' }],
    });
    const fhir = await readValidFhir(t, tenant.keys.test, 'Encounter', created.id);
    assert.equal(fhir.participant.length, 2);

    const refused = await t.request('PATCH', `/v1/encounters/${created.id}`, { key: tenant.keys.test, body: { patientId: 'pt_else', status: 'finished' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(diagnosticsOf(refused), ['patientId: Cannot be changed']);
    const backwards = await t.request('PATCH', `/v1/encounters/${created.id}`, { key: tenant.keys.test, body: { period: { start: '2025-02-01', end: '2025-01-01' } } });
    assert.equal(backwards.status, 422);

    await assertDeleted(t, tenant.keys.test, '/v1/encounters', created.id, { patch: { status: 'finished' } });
  });

  test('filters (patientId, practitionerId, status, class, type, appointmentId, partOfId, dateFrom/dateTo on period.start) and sorts', async () => {
    const own = await t.createTenant();
    const create = async (body: object) => {
      const res = await t.request('POST', '/v1/encounters', { key: own.keys.test, body });
      assert.equal(res.status, 201, res.body);
      return res.json.data.id as string;
    };
    // Search takes FHIR ids ([A-Za-z0-9-.]), so these ids have no underscore.
    const visit = await create({ ...VISIT, patientId: 'pt-abc123', practitionerId: 'prac-def456' });
    const admission = await create(ADMISSION);
    // A long stay that started before the window: R4 `date` would match it for dateFrom, period.start does not.
    const long = await create({ status: 'onleave', class: 'HH', patientId: 'pt-abc123', type: 'Home care episode', period: { start: '2024-12-01', end: '2025-03-01' } });
    const planned = await create({ status: 'planned', class: 'VR', patientId: 'pt-42', participants: [{ practitionerId: 'prac-def456' }] });
    const ids = idLister(t, own.keys.test, '/v1/encounters');
    const same = async (query: string, expected: string[]) => assert.deepEqual((await ids(query)).sort(), [...expected].sort(), query);
    await same('', [visit, admission, long, planned]);
    await same('patientId=pt-abc123', [visit, long]);
    await same('patientId=pt-42', [admission, planned]);
    await same('practitionerId=prac-def456', [visit, planned]);
    await same('practitionerId=prac-3', [admission]);
    await same('status=finished', [admission]);
    await same('status=planned&patientId=pt-42', [planned]);
    await same('class=AMB', [visit]);
    await same('class=IMP', [admission]);
    await same('type=annual', [visit]);
    await same('type=home care', [long]);
    await same('appointmentId=appt-1', [admission]);
    await same('partOfId=enc-parent', [admission]);
    await same('dateFrom=2025-01-15', [visit, admission]);
    await same('dateFrom=2025-01-16', [admission]);
    await same('dateTo=2025-01-15', [visit, long]);
    await same('dateFrom=2025-01-01&dateTo=2025-01-31', [visit]);
    assert.deepEqual(await ids('sort=period.start&status=finished,in-progress,onleave'), [long, visit, admission]);
    assert.deepEqual(await ids('sort=-period.start&dateFrom=2024-01-01'), [admission, visit, long]);
    assert.equal((await ids('sort=status'))[0], admission);
    assert.deepEqual(await ids('sort=-updatedAt&count=1'), [planned]);
    assert.equal((await t.request('GET', '/v1/encounters?sort=class', { key: own.keys.test })).status, 400);
  });

  test('read with _include returns a searchset Bundle with the referenced resources', async () => {
    const own = await t.createTenant();
    const patient = (await t.request('POST', '/v1/patients', { key: own.keys.test, body: { firstName: 'Ena', lastName: 'Counter' } })).json.data;
    const encounter = (await t.request('POST', '/v1/encounters', { key: own.keys.test, body: { ...VISIT, patientId: patient.id } })).json.data;
    await assertIncludeBundle(t, own.keys.test, `/v1/encounters/${encounter.id}?_include=Encounter:subject`, [`Encounter/${encounter.id}`, `Patient/${patient.id}`]);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await t.request('POST', '/v1/encounters', { key: tenant.keys.test, body: { ...VISIT, patientId: 'pt-isolated' } })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/encounters', id: created.id, patch: { status: 'finished' }, lists: ['/v1/encounters?patientId=pt-isolated', '/v1/encounters'],
    });
    assert.equal((await t.request('GET', '/v1/encounters?patientId=pt-isolated', { key: tenant.keys.test })).json.data.data.length, 1);
  });

  test('every official R4 Encounter example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('Encounter');
    assert.equal(examples.length, 10);
    await loadR4Examples(t, own.keys.test, { fhirType: 'Encounter', path: '/v1/encounters' }, examples, async ({ file, id, resource: example }, read) => {
      assert.equal(read.json.data.status, example.status);
      assert.equal(read.json.data.class, example.class.code);
      if (example.period) assert.deepEqual(read.json.data.period, example.period, file);
      // A PATCH through the simplified API keeps the resource valid and leaves what it does not name alone.
      const patched = await t.request('PATCH', `/v1/encounters/${id}`, { key: own.keys.test, body: { location: 'Ward 3', lengthMinutes: 30 } });
      assert.equal(patched.status, 200, `${file}: ${patched.body}`);
      const fhir = await readValidFhir(t, own.keys.test, 'Encounter', id, file);
      assert.deepEqual(fhir.identifier, example.identifier, file);
    });
    await assertListLength(t, own.keys.test, '/v1/encounters?count=100&sort=-period.start', examples.length);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const str = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 30) });
    const id = fc.stringMatching(/^[A-Za-z0-9\-_.]{1,20}$/);
    const dateTime = fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z', '2024-03-15T09:30:00.123+02:00');
    const laterDateTime = fc.constantFrom('2025', '2025-01', '2025-01-02', '2025-01-02T10:00:00Z');
    const input = fc.record({
      status: fc.constantFrom('planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled'),
      class: fc.constantFrom('AMB', 'IMP', 'EMER', 'HH', 'VR'),
      patientId: id,
      practitionerId: id,
      participants: fc.array(fc.record({ practitionerId: id, role: fc.oneof(fc.constantFrom('ATND', 'CON', 'REF'), str(100)) }, { requiredKeys: ['practitionerId'] }), { minLength: 1, maxLength: 3 }),
      type: str(200),
      serviceType: str(200),
      priority: str(50),
      reasonCode: fc.oneof(str(500), fc.array(str(500), { minLength: 2, maxLength: 4 })),
      period: fc.record({ start: dateTime, end: laterDateTime }).filter((p) => Object.keys(p).length > 0),
      lengthMinutes: fc.integer({ min: 0, max: 10080 }),
      location: str(200),
      serviceProvider: str(200),
      diagnosis: fc.array(fc.record({ condition: str(500), use: fc.oneof(fc.constantFrom('AD', 'DD', 'CC', 'billing'), str(50)), rank: fc.integer({ min: 1, max: 100 }) }, { requiredKeys: ['condition'] }), { minLength: 1, maxLength: 3 }),
      appointmentId: id,
      basedOnId: id,
      partOfId: id,
      hospitalization: fc.record({
        admitSource: str(200), reAdmission: str(200), dischargeDisposition: str(200), dietPreference: fc.array(str(200), { minLength: 1, maxLength: 3 }),
        specialArrangement: fc.array(str(200), { minLength: 1, maxLength: 3 }), origin: str(200), destination: str(200),
      }, { requiredKeys: ['admitSource'] }),
    }, { requiredKeys: ['status', 'class', 'patientId'] }).map((body) => JSON.parse(JSON.stringify(body)));
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await t.request('POST', '/v1/encounters', { key: own.keys.test, body });
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), body);
      const read = await t.request('GET', `/v1/encounters/${res.json.data.id}`, { key: own.keys.test });
      assert.deepEqual(strip(read.json.data), body);
    }), { numRuns: 25 });
  });
});
