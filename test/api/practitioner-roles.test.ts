import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertDeleted, assertIsolated, assertListLength, assertTenantTag, diagnosticsOf, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant, strip } from '../helpers/resources.js';

/** The [PAGES] create example (§3.3), legacy availability in its canonical HH:mm:ss form. */
const CARDIOLOGIST = {
  practitionerId: 'prac_abc123', role: 'doctor', organizationName: 'Austin Heart Clinic', specialty: ['Cardiology', 'Interventional Cardiology'], locationName: 'Main Campus',
  availableDays: ['mon', 'tue', 'wed'], availableStartTime: '09:00:00', availableEndTime: '17:00:00',
};
/** Reads add `availableTime`, which the legacy fields stand for (and `active`/`status`). */
const CARDIOLOGIST_READ = { ...CARDIOLOGIST, availableTime: [{ daysOfWeek: ['mon', 'tue', 'wed'], availableStartTime: '09:00:00', availableEndTime: '17:00:00' }] };
/** Every other documented field; availableTime[0] is mirrored by the legacy fields, as reads return it. */
const NURSE = {
  practitionerId: 'prac-2', role: 'Charge nurse', specialty: [{ system: 'http://snomed.info/sct', code: '394819006', display: 'Interventional Cardiology' }],
  phone: '+1-555-0100', email: 'nurse@example.com', period: { start: '2024-01-01', end: '2025-12-31' },
  availableTime: [{ daysOfWeek: ['mon', 'fri'], availableStartTime: '08:00:00', availableEndTime: '12:30:00' }, { daysOfWeek: ['sat'], allDay: true }],
  availableDays: ['mon', 'fri'], availableStartTime: '08:00:00', availableEndTime: '12:30:00',
  notAvailable: [{ description: 'Annual leave', during: { start: '2025-08-01', end: '2025-08-15' } }, { description: 'Training days' }],
  availabilityExceptions: 'Unavailable on public holidays',
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

/** Create sets active: both `active` and `status` are read back. */
const ACTIVE = { active: true, status: 'active' };

describe('practitioner roles', () => {
  test('the contract example and every documented field are accepted, read back as sent, and stored as valid, tenant-tagged FHIR', async () => {
    for (const [example, expected] of [[CARDIOLOGIST, CARDIOLOGIST_READ], [NURSE, NURSE]] as const) {
      const res = await t.request('POST', '/v1/practitioner-roles', { key: tenant.keys.test, body: example });
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), { ...expected, ...ACTIVE });
      const { id } = res.json.data;
      assert.deepEqual((await t.request('GET', `/v1/practitioner-roles/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'PractitionerRole', id);
      assertTenantTag(fhir, tenant.tenantId);
      assert.equal(fhir.active, true);
      assert.deepEqual(fhir.practitioner, { reference: `Practitioner/${example.practitionerId}` });
      if (example === CARDIOLOGIST) {
        assert.deepEqual(fhir.code, [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/practitioner-role', code: 'doctor', display: 'Doctor' }] }]);
        assert.deepEqual(fhir.specialty, [{ text: 'Cardiology' }, { text: 'Interventional Cardiology' }]);
        assert.deepEqual(fhir.organization, { display: 'Austin Heart Clinic' });
        assert.deepEqual(fhir.location, [{ display: 'Main Campus' }]);
        assert.deepEqual(fhir.availableTime, CARDIOLOGIST_READ.availableTime);
      } else {
        assert.deepEqual(fhir.code, [{ text: 'Charge nurse' }]);
        assert.deepEqual(fhir.specialty, [{ coding: [NURSE.specialty[0]] }]);
        assert.deepEqual(fhir.telecom, [{ system: 'phone', value: '+1-555-0100' }, { system: 'email', value: 'nurse@example.com' }]);
        assert.deepEqual(fhir.availableTime, NURSE.availableTime);
        assert.deepEqual(fhir.notAvailable, NURSE.notAvailable);
      }
    }
  });

  test('other input forms: HH:mm legacy times, a single specialty object, status on PATCH', async () => {
    const res = await t.request('POST', '/v1/practitioner-roles', {
      key: tenant.keys.test,
      body: { practitionerId: 'prac-3', role: 'consultant', specialty: { code: '394579002', display: 'Cardiology' }, availableDays: ['thu'], availableStartTime: '09:00', availableEndTime: '13:15' },
    });
    assert.equal(res.status, 201, res.body);
    assert.deepEqual(strip(res.json.data), {
      practitionerId: 'prac-3', role: 'consultant', specialty: [{ code: '394579002', display: 'Cardiology' }],
      availableDays: ['thu'], availableStartTime: '09:00:00', availableEndTime: '13:15:00', availableTime: [{ daysOfWeek: ['thu'], availableStartTime: '09:00:00', availableEndTime: '13:15:00' }], ...ACTIVE,
    });
    const { id } = res.json.data;
    const inactive = await t.request('PATCH', `/v1/practitioner-roles/${id}`, { key: tenant.keys.test, body: { status: 'inactive' } });
    assert.equal(inactive.status, 200, inactive.body);
    assert.equal(inactive.json.data.active, false);
    assert.equal(inactive.json.data.status, 'inactive');
    assert.equal((await readValidFhir(t, tenant.keys.test, 'PractitionerRole', id)).active, false);
    const again = await t.request('PATCH', `/v1/practitioner-roles/${id}`, { key: tenant.keys.test, body: { active: true, status: 'active' } });
    assert.deepEqual([again.json.data.active, again.json.data.status], [true, 'active']);
  });

  test('validation: required fields, enums, formats, limits, and fields that must agree', async () => {
    const res = await t.request('POST', '/v1/practitioner-roles', {
      key: tenant.keys.test,
      body: {
        role: 'r'.repeat(101), organizationName: 'o'.repeat(201), locationName: 'l'.repeat(201), email: 'not-an-email', phone: 'p'.repeat(21),
        period: { start: 'soon' }, availableDays: ['monday'], availableStartTime: '9am', availableTime: [{ daysOfWeek: ['mon'], availableEndTime: '25:00' }],
        notAvailable: [{ during: { start: '2025-01-01' } }], availabilityExceptions: 'x'.repeat(1001), status: 'active', colour: 'blue',
      },
    });
    assert.equal(res.status, 422);
    const diagnostics = diagnosticsOf(res);
    for (const expected of [
      'practitionerId: Required', 'role: String must contain at most 100 character(s)', 'organizationName: String must contain at most 200 character(s)',
      'locationName: String must contain at most 200 character(s)', 'email: Invalid email', 'phone: String must contain at most 20 character(s)',
      'period.start: Invalid fhir-date-time', "availableDays.0: Invalid enum value. Expected 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'",
      'availableStartTime: Invalid format', 'availableTime.0.availableEndTime: Invalid format', 'notAvailable.0.description: Required',
      'availabilityExceptions: String must contain at most 1000 character(s)', 'status: Unrecognized field', 'colour: Unrecognized field',
    ]) assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);

    const tooMany = await t.request('POST', '/v1/practitioner-roles', { key: tenant.keys.test, body: { ...CARDIOLOGIST, specialty: Array.from({ length: 21 }, (_, i) => `S${i}`) } });
    assert.deepEqual(diagnosticsOf(tooMany), ['specialty: Invalid input']);
    const clash = await t.request('POST', '/v1/practitioner-roles', { key: tenant.keys.test, body: { ...NURSE, availableStartTime: '07:00' } });
    assert.equal(clash.status, 422);
    assert.deepEqual(diagnosticsOf(clash), ['availableStartTime: Must agree with availableTime']);
    const created = (await t.request('POST', '/v1/practitioner-roles', { key: tenant.keys.test, body: CARDIOLOGIST })).json.data;
    for (const body of [{ active: true, status: 'inactive' }, { status: 'inactive', active: true }]) {
      const contradiction = await t.request('PATCH', `/v1/practitioner-roles/${created.id}`, { key: tenant.keys.test, body });
      assert.equal(contradiction.status, 422);
      assert.deepEqual(diagnosticsOf(contradiction), [Object.keys(body)[1] === 'active' ? 'active: Must agree with status' : 'status: Must agree with active']);
    }
  });

  test('PATCH merges fields, replaces specialty, period and availability whole, refuses practitionerId; DELETE then 404', async () => {
    const created = (await t.request('POST', '/v1/practitioner-roles', { key: tenant.keys.test, body: { ...NURSE, role: 'nurse' } })).json.data;
    const patched = await t.request('PATCH', `/v1/practitioner-roles/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: { specialty: ['Oncology'], period: { end: '2026-06-30' }, availableStartTime: '10:00', notAvailable: [{ description: 'Sabbatical' }], active: false },
    });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(strip(patched.json.data), {
      ...NURSE, role: 'nurse', specialty: ['Oncology'], period: { end: '2026-06-30' }, notAvailable: [{ description: 'Sabbatical' }], active: false, status: 'inactive',
      availableStartTime: '10:00:00', availableTime: [{ ...NURSE.availableTime[0], availableStartTime: '10:00:00' }, NURSE.availableTime[1]],
    });
    await readValidFhir(t, tenant.keys.test, 'PractitionerRole', created.id);

    const replaced = await t.request('PATCH', `/v1/practitioner-roles/${created.id}`, { key: tenant.keys.test, body: { availableTime: [{ daysOfWeek: ['sun'], allDay: true }] } });
    assert.equal(replaced.status, 200, replaced.body);
    assert.deepEqual(replaced.json.data.availableTime, [{ daysOfWeek: ['sun'], allDay: true }]);
    assert.deepEqual(replaced.json.data.availableDays, ['sun']);
    assert.equal(replaced.json.data.availableStartTime, undefined);

    const refused = await t.request('PATCH', `/v1/practitioner-roles/${created.id}`, { key: tenant.keys.test, body: { practitionerId: 'prac-else', role: 'doctor' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(diagnosticsOf(refused), ['practitionerId: Cannot be changed']);

    await assertDeleted(t, tenant.keys.test, '/v1/practitioner-roles', created.id, { patch: { role: 'doctor' } });
  });

  test('filters (practitionerId, specialty, status, dateFrom/dateTo on period; patientId ignored) and sorts', async () => {
    const own = await t.createTenant();
    const create = async (body: object, patch?: object) => {
      const res = await t.request('POST', '/v1/practitioner-roles', { key: own.keys.test, body });
      assert.equal(res.status, 201, res.body);
      if (patch) assert.equal((await t.request('PATCH', `/v1/practitioner-roles/${res.json.data.id}`, { key: own.keys.test, body: patch })).status, 200);
      return res.json.data.id as string;
    };
    // Search takes FHIR ids ([A-Za-z0-9-.]), so these ids have no underscore.
    const cardiology = await create({ ...CARDIOLOGIST, practitionerId: 'prac-abc123', period: { start: '2023-01-01', end: '2023-12-31' } });
    const coded = await create({ ...NURSE, practitionerId: 'prac-abc123' });
    const oncology = await create({ practitionerId: 'prac-9', role: 'pharmacist', specialty: ['Oncology pharmacy'], period: { start: '2025-03-01' } }, { status: 'inactive' });
    const plain = await create({ practitionerId: 'prac-9', role: 'admin' });
    const ids = idLister(t, own.keys.test, '/v1/practitioner-roles');
    const same = async (query: string, expected: string[]) => assert.deepEqual((await ids(query)).sort(), [...expected].sort(), query);
    await same('', [cardiology, coded, oncology, plain]);
    await same('practitionerId=prac-abc123', [cardiology, coded]);
    await same('practitionerId=prac-9&status=active', [plain]);
    await same('status=active', [cardiology, coded, plain]);
    await same('status=inactive', [oncology]);
    await same('specialty=cardio', [cardiology]);
    await same('specialty=INTERVENTIONAL', [cardiology, coded]);
    await same('specialty=oncology', [oncology]);
    await same('patientId=pt-1', [cardiology, coded, oncology, plain]);
    await same('dateFrom=2024-06-01', [coded, oncology]);
    await same('dateTo=2023-06-30', [cardiology]);
    await same('dateFrom=2025-06-01&dateTo=2025-06-30', [coded, oncology]);
    assert.deepEqual(await ids('sort=period.start&dateFrom=2000-01-01'), [cardiology, coded, oncology]);
    assert.deepEqual(await ids('sort=-period.start&dateFrom=2000-01-01'), [oncology, coded, cardiology]);
    assert.deepEqual(await ids('sort=-updatedAt&count=1'), [plain]);
    assert.equal((await t.request('GET', '/v1/practitioner-roles?sort=role', { key: own.keys.test })).status, 400);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await t.request('POST', '/v1/practitioner-roles', { key: tenant.keys.test, body: { ...CARDIOLOGIST, practitionerId: 'prac-isolated' } })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/practitioner-roles', id: created.id, patch: { role: 'nurse' }, lists: ['/v1/practitioner-roles?practitionerId=prac-isolated', '/v1/practitioner-roles'],
      fhirType: 'PractitionerRole',
    });
    assert.equal((await t.request('GET', '/v1/practitioner-roles?practitionerId=prac-isolated', { key: tenant.keys.test })).json.data.data.length, 1);
  });

  test('every official R4 PractitionerRole example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('PractitionerRole');
    assert.equal(examples.length, 1);
    await loadR4Examples(t, own.keys.test, { fhirType: 'PractitionerRole', path: '/v1/practitioner-roles' }, examples, async ({ file, id, resource: example }, read) => {
      const data = read.json.data;
      assert.equal(data.practitionerId, example.practitioner.reference.slice('Practitioner/'.length));
      assert.equal(data.role, example.code[0].coding[0].code);
      assert.deepEqual(data.specialty, [{ system: 'http://snomed.info/sct', code: '408443003', display: 'General medical practice' }]);
      assert.equal(data.locationName, example.location[0].display);
      assert.deepEqual(data.availableTime, example.availableTime);
      assert.deepEqual([data.availableDays, data.availableStartTime, data.availableEndTime], ['mon,tue,wed'.split(','), '09:00:00', '16:30:00']);
      assert.deepEqual([data.active, data.status], [true, 'active']);
      const patched = await t.request('PATCH', `/v1/practitioner-roles/${id}`, { key: own.keys.test, body: { availableEndTime: '17:00', status: 'inactive', locationName: 'North Wing' } });
      assert.equal(patched.status, 200, `${file}: ${patched.body}`);
      const fhir = await readValidFhir(t, own.keys.test, 'PractitionerRole', id, file);
      assert.deepEqual(fhir.availableTime[1], example.availableTime[1], file);
      assert.deepEqual(fhir.identifier, example.identifier, file);
      assert.deepEqual(fhir.healthcareService, example.healthcareService, file);
    });
    await assertListLength(t, own.keys.test, '/v1/practitioner-roles?count=100&sort=-period.start', examples.length);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const str = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 30) });
    const id = fc.stringMatching(/^[A-Za-z0-9\-_.]{1,20}$/);
    const time = fc.constantFrom('00:00:00', '08:30:00', '12:00:59', '23:59:00');
    const dateTime = fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z');
    const period = fc.record({ start: dateTime, end: fc.constantFrom('2025', '2025-01-02', '2025-01-02T10:00:00+02:00') }, { requiredKeys: [] }).filter((p) => Object.keys(p).length > 0);
    // A FHIR code has no leading, trailing or double whitespace (the shared concept schema lets such codes through to the FHIR validator's 422).
    const code = fc.stringMatching(/^\S{1,10}( \S{1,10})?$/);
    const concept = fc.oneof(str(500), fc.record({ system: fc.constantFrom('http://snomed.info/sct', 'urn:x'), code, display: str(500) }, { requiredKeys: ['code'] }));
    const slot = fc.record({ daysOfWeek: fc.uniqueArray(fc.constantFrom('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'), { minLength: 1, maxLength: 7 }), allDay: fc.boolean(), availableStartTime: time, availableEndTime: time }, { requiredKeys: ['daysOfWeek'] });
    const input = fc.record({
      practitionerId: id,
      role: fc.oneof(fc.constantFrom('doctor', 'nurse', 'pharmacist', 'admin', 'consultant'), str(100)),
      organizationName: str(200),
      specialty: fc.array(concept, { minLength: 1, maxLength: 3 }),
      locationName: str(200),
      phone: str(20),
      email: fc.constantFrom('a@b.co', 'dr.who@example.org'),
      period,
      availableTime: fc.array(slot, { minLength: 1, maxLength: 3 }),
      notAvailable: fc.array(fc.record({ description: str(500), during: period }, { requiredKeys: ['description'] }), { minLength: 1, maxLength: 2 }),
      availabilityExceptions: str(1000),
    }, { requiredKeys: ['practitionerId', 'role'] }).map((body) => {
      // The canonical form mirrors availableTime[0] in the legacy fields.
      const first = body.availableTime?.[0];
      const legacy = first ? { availableDays: first.daysOfWeek, availableStartTime: first.availableStartTime, availableEndTime: first.availableEndTime } : {};
      return JSON.parse(JSON.stringify({ ...body, ...legacy }));
    });
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await t.request('POST', '/v1/practitioner-roles', { key: own.keys.test, body });
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), { ...body, ...ACTIVE });
      const read = await t.request('GET', `/v1/practitioner-roles/${res.json.data.id}`, { key: own.keys.test });
      assert.deepEqual(strip(read.json.data), { ...body, ...ACTIVE });
    }), { numRuns: 25 });
  });
});
