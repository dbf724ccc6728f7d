import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertDeleted, assertIncludeBundle, assertIsolated, assertListLength, assertTenantTag, diagnosticsOf, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant, strip } from '../helpers/resources.js';

/** A booked follow-up in the canonical form (contract §3.8: appointmentType comes back as {text}). */
const FOLLOW_UP = {
  status: 'booked', patientId: 'pt_abc123', practitionerId: 'prac_def456', start: '2025-02-03T09:00:00Z', end: '2025-02-03T09:30:00Z', minutesDuration: 30,
  appointmentType: { text: 'followup' }, serviceType: 'General Practice', description: 'Blood pressure review', patientInstruction: 'Bring your home BP log',
  created: '2025-01-20T08:00:00Z',
};
/** Every other documented field. */
const REQUEST = {
  status: 'cancelled', patientId: 'pt-42', appointmentType: { text: 'urgent' }, serviceCategory: 'specialist', specialty: 'Cardiology', reasonCode: 'Chest pain',
  priority: 2, comment: 'Patient prefers mornings', cancelationReason: 'Patient request', basedOnId: 'sr-1',
  requestedPeriod: [{ start: '2025-03-01', end: '2025-03-07' }, { start: '2025-03-10T08:00:00Z' }], created: '2025-02-20',
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });


describe('appointments', () => {
  test('a booked and a cancelled appointment with every field are accepted, read back as sent, and stored as valid, tenant-tagged FHIR', async () => {
    for (const example of [FOLLOW_UP, REQUEST]) {
      const res = await t.request('POST', '/v1/appointments', { key: tenant.keys.test, body: example });
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), example);
      const { id } = res.json.data;
      assert.deepEqual((await t.request('GET', `/v1/appointments/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'Appointment', id);
      assertTenantTag(fhir, tenant.tenantId);
      assert.equal(fhir.status, example.status);
      assert.deepEqual(fhir.participant[0], { actor: { reference: `Patient/${example.patientId}` }, status: 'accepted' });
      if (example === FOLLOW_UP) {
        assert.deepEqual(fhir.participant[1], { actor: { reference: 'Practitioner/prac_def456' }, status: 'accepted' });
        assert.deepEqual(fhir.appointmentType, {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0276', code: 'FOLLOWUP', display: 'A follow up visit from a previous appointment' }], text: 'followup',
        });
        assert.deepEqual(fhir.serviceType, [{ text: 'General Practice' }]);
        assert.equal(fhir.minutesDuration, 30);
      } else {
        assert.deepEqual(fhir.appointmentType, { text: 'urgent' });
        assert.deepEqual(fhir.serviceCategory, [{ text: 'specialist' }]);
        assert.deepEqual(fhir.cancelationReason, { text: 'Patient request' });
        assert.deepEqual(fhir.basedOn, [{ reference: 'ServiceRequest/sr-1' }]);
        assert.deepEqual(fhir.requestedPeriod, REQUEST.requestedPeriod);
        assert.equal(fhir.priority, 2);
      }
    }
  });

  test('defaults and other input forms: created is now, a plain-string appointmentType, end from start + minutesDuration', async () => {
    const before = Date.now();
    const res = await t.request('POST', '/v1/appointments', {
      key: tenant.keys.test, body: { status: 'booked', patientId: 'p1', minutesDuration: 45, start: '2025-02-03T23:30:00+02:00', appointmentType: 'ROUTINE' },
    });
    assert.equal(res.status, 201, res.body);
    const { created, ...fields } = strip(res.json.data);
    assert.ok(Date.parse(created as string) >= before - 1000 && Date.parse(created as string) <= Date.now() + 1000, String(created));
    assert.deepEqual(fields, { status: 'booked', patientId: 'p1', start: '2025-02-03T23:30:00+02:00', end: '2025-02-03T22:15:00Z', minutesDuration: 45, appointmentType: { text: 'ROUTINE' } });
    const fhir = await readValidFhir(t, tenant.keys.test, 'Appointment', res.json.data.id);
    assert.equal(fhir.appointmentType.coding[0].code, 'ROUTINE');

    // Moving the start moves the end; an end given with it wins, in either order.
    const { id } = res.json.data;
    const moved = await t.request('PATCH', `/v1/appointments/${id}`, { key: tenant.keys.test, body: { start: '2025-02-04T10:00:00Z' } });
    assert.equal(moved.json.data.end, '2025-02-04T10:45:00Z');
    for (const body of [{ start: '2025-02-05T10:00:00Z', end: '2025-02-05T12:00:00Z' }, { end: '2025-02-05T12:00:00Z', start: '2025-02-05T10:00:00Z' }]) {
      const patched = await t.request('PATCH', `/v1/appointments/${id}`, { key: tenant.keys.test, body });
      assert.deepEqual([patched.json.data.start, patched.json.data.end, patched.json.data.minutesDuration], ['2025-02-05T10:00:00Z', '2025-02-05T12:00:00Z', 45]);
    }
    const longer = await t.request('PATCH', `/v1/appointments/${id}`, { key: tenant.keys.test, body: { minutesDuration: 60 } });
    assert.equal(longer.json.data.end, '2025-02-05T11:00:00Z');
  });

  test('validation: required fields, enums, instants, ranges, limits', async () => {
    const res = await t.request('POST', '/v1/appointments', {
      key: tenant.keys.test,
      body: {
        status: 'scheduled', start: '2025-02-03T09:00Z', end: '2025-02-03', minutesDuration: 1441, priority: 10, appointmentType: { code: 'ROUTINE' },
        serviceType: 's'.repeat(201), reasonCode: 'r'.repeat(501), description: 'd'.repeat(2001), cancelationReason: 'c'.repeat(501), basedOnId: 'a b',
        requestedPeriod: [{}], created: 'today', room: '12',
      },
    });
    assert.equal(res.status, 422);
    const diagnostics = diagnosticsOf(res);
    for (const expected of [
      'patientId: Required',
      "status: Invalid enum value. Expected 'proposed' | 'pending' | 'booked' | 'arrived' | 'fulfilled' | 'cancelled' | 'noshow' | 'checked-in' | 'waitlist'",
      'start: Invalid format', 'end: Invalid date-time-utc', 'minutesDuration: Invalid value', 'priority: Invalid value', 'appointmentType: Invalid input',
      'serviceType: String must contain at most 200 character(s)', 'reasonCode: String must contain at most 500 character(s)',
      'description: String must contain at most 2000 character(s)', 'cancelationReason: String must contain at most 500 character(s)', 'basedOnId: Invalid reference-id',
      'requestedPeriod.0: Invalid value', 'created: Invalid fhir-date-time', 'room: Unrecognized field',
    ]) assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);
    const tooMany = await t.request('POST', '/v1/appointments', { key: tenant.keys.test, body: { ...REQUEST, requestedPeriod: Array.from({ length: 21 }, () => ({ start: '2025' })) } });
    assert.deepEqual(diagnosticsOf(tooMany), ['requestedPeriod: Array must contain at most 20 element(s)']);
  });

  test("R4's rules on the times (app-2, app-3, order) are 422s on create and PATCH, with nothing stored", async () => {
    const key = tenant.keys.test;
    const refused = async (body: object, expected: string[], id?: string) => {
      const res = await t.request(id ? 'PATCH' : 'POST', id ? `/v1/appointments/${id}` : '/v1/appointments', { key, body });
      assert.equal(res.status, 422, res.body);
      assert.deepEqual(diagnosticsOf(res), expected);
    };
    await refused({ status: 'booked', patientId: 'pt-1' }, ['start: Required unless status is proposed, cancelled, waitlist']);
    await refused({ status: 'booked', patientId: 'pt-1', start: '2025-02-03T09:00:00Z' }, ['end: Required with start (or give minutesDuration)']);
    await refused({ status: 'proposed', patientId: 'pt-1', end: '2025-02-03T09:00:00Z' }, ['start: Required with end']);
    await refused({ status: 'booked', patientId: 'pt-1', start: '2025-02-03T09:00:00Z', end: '2025-02-03T08:59:59Z' }, ['end: Must not be before start']);

    const proposed = await t.request('POST', '/v1/appointments', { key, body: { status: 'proposed', patientId: 'pt-1' } });
    assert.equal(proposed.status, 201, proposed.body);
    await refused({ status: 'booked' }, ['start: Required unless status is proposed, cancelled, waitlist'], proposed.json.data.id);
    const unchanged = await t.request('GET', `/v1/appointments/${proposed.json.data.id}`, { key });
    assert.equal(unchanged.json.data.status, 'proposed');
    const booked = await t.request('PATCH', `/v1/appointments/${proposed.json.data.id}`, { key, body: { status: 'booked', start: '2025-02-03T09:00:00Z', minutesDuration: 20 } });
    assert.equal(booked.status, 200, booked.body);
    assert.equal(booked.json.data.end, '2025-02-03T09:20:00Z');
  });

  test('PATCH merges fields, replaces requestedPeriod whole, changes the practitioner in place, refuses patientId; DELETE then 404', async () => {
    const created = (await t.request('POST', '/v1/appointments', { key: tenant.keys.test, body: { ...FOLLOW_UP, requestedPeriod: [{ start: '2025-02-01' }, { start: '2025-02-02' }] } })).json.data;
    const patched = await t.request('PATCH', `/v1/appointments/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: { status: 'noshow', cancelationReason: 'Did not attend', practitionerId: 'prac-new', requestedPeriod: [{ end: '2025-02-10' }], appointmentType: 'walkin', priority: 0 },
    });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(strip(patched.json.data), {
      ...FOLLOW_UP, status: 'noshow', cancelationReason: 'Did not attend', practitionerId: 'prac-new', requestedPeriod: [{ end: '2025-02-10' }], appointmentType: { text: 'walkin' }, priority: 0,
    });
    const fhir = await readValidFhir(t, tenant.keys.test, 'Appointment', created.id);
    assert.deepEqual(fhir.participant.map((p: { actor: { reference: string } }) => p.actor.reference), ['Patient/pt_abc123', 'Practitioner/prac-new']);

    const refused = await t.request('PATCH', `/v1/appointments/${created.id}`, { key: tenant.keys.test, body: { patientId: 'pt_else', status: 'booked' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(diagnosticsOf(refused), ['patientId: Cannot be changed']);

    await assertDeleted(t, tenant.keys.test, '/v1/appointments', created.id, { patch: { status: 'booked' } });
  });

  test('filters (patientId, practitionerId, status, dateFrom/dateTo on start) and sorts', async () => {
    const own = await t.createTenant();
    const create = async (body: object) => {
      const res = await t.request('POST', '/v1/appointments', { key: own.keys.test, body });
      assert.equal(res.status, 201, res.body);
      return res.json.data.id as string;
    };
    // Search takes FHIR ids ([A-Za-z0-9-.]), so these ids have no underscore.
    const morning = await create({ ...FOLLOW_UP, patientId: 'pt-abc123', practitionerId: 'prac-def456' });
    const later = await create({ status: 'arrived', patientId: 'pt-abc123', practitionerId: 'prac-2', start: '2025-02-15T14:00:00Z', minutesDuration: 20 });
    const early = await create({ status: 'fulfilled', patientId: 'pt-42', practitionerId: 'prac-def456', start: '2025-01-31T23:59:00Z', end: '2025-02-01T00:20:00Z' });
    const proposed = await create({ status: 'proposed', patientId: 'pt-42', requestedPeriod: [{ start: '2025-03-01' }] });
    const ids = idLister(t, own.keys.test, '/v1/appointments');
    const same = async (query: string, expected: string[]) => assert.deepEqual((await ids(query)).sort(), [...expected].sort(), query);
    await same('', [morning, later, early, proposed]);
    await same('patientId=pt-abc123', [morning, later]);
    await same('patientId=pt-42', [early, proposed]);
    await same('practitionerId=prac-def456', [morning, early]);
    await same('practitionerId=prac-2', [later]);
    await same('status=booked', [morning]);
    await same('status=proposed&patientId=pt-42', [proposed]);
    await same('dateFrom=2025-02-01', [morning, later]);
    await same('dateTo=2025-02-03', [morning, early]);
    await same('dateFrom=2025-02-03&dateTo=2025-02-03', [morning]);
    await same('patientId=pt-abc123&status=booked&dateFrom=2025-02-01', [morning]);
    assert.deepEqual(await ids('sort=start&dateFrom=2025-01-01'), [early, morning, later]);
    assert.deepEqual(await ids('sort=-start&dateFrom=2025-01-01'), [later, morning, early]);
    assert.equal((await ids('sort=status&dateFrom=2025-01-01'))[0], later);
    assert.deepEqual(await ids('sort=-updatedAt&count=1'), [proposed]);
    assert.equal((await t.request('GET', '/v1/appointments?sort=priority', { key: own.keys.test })).status, 400);
  });

  test('read with _include returns a searchset Bundle with the referenced resources', async () => {
    const own = await t.createTenant();
    const patient = (await t.request('POST', '/v1/patients', { key: own.keys.test, body: { firstName: 'Ann', lastName: 'Point' } })).json.data;
    const practitioner = (await t.request('POST', '/v1/practitioners', { key: own.keys.test, body: { firstName: 'Doc', lastName: 'Tor' } })).json.data;
    const appointment = (await t.request('POST', '/v1/appointments', { key: own.keys.test, body: { ...FOLLOW_UP, patientId: patient.id, practitionerId: practitioner.id } })).json.data;
    const url = `/v1/appointments/${appointment.id}`;
    await assertIncludeBundle(t, own.keys.test, `${url}?_include=Appointment:patient`, [`Appointment/${appointment.id}`, `Patient/${patient.id}`]);
    await assertIncludeBundle(t, own.keys.test, `${url}?_include=Appointment:actor`, [`Appointment/${appointment.id}`, `Patient/${patient.id}`, `Practitioner/${practitioner.id}`]);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await t.request('POST', '/v1/appointments', { key: tenant.keys.test, body: { ...FOLLOW_UP, patientId: 'pt-isolated' } })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/appointments', id: created.id, patch: { status: 'arrived' }, lists: ['/v1/appointments?patientId=pt-isolated', '/v1/appointments'], fhirType: 'Appointment',
    });
    assert.equal((await t.request('GET', '/v1/appointments?patientId=pt-isolated', { key: tenant.keys.test })).json.data.data.length, 1);
  });

  test('every official R4 Appointment example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('Appointment');
    assert.equal(examples.length, 3);
    await loadR4Examples(t, own.keys.test, { fhirType: 'Appointment', path: '/v1/appointments' }, examples, async ({ file, id, resource: example }, read) => {
      const data = read.json.data;
      assert.equal(data.status, example.status, file);
      assert.equal(data.patientId, 'example', file);
      assert.equal(data.start, example.start, file);
      assert.equal(data.minutesDuration, example.minutesDuration, file);
      assert.deepEqual(data.appointmentType, { text: example.appointmentType.coding[0].display }, file);
      assert.equal(data.serviceCategory, 'General Practice', file);
      if (example.participant.some((p: { actor?: { reference?: string } }) => p.actor?.reference?.startsWith('Practitioner/'))) assert.equal(data.practitionerId, 'example', file);
      else assert.equal(data.practitionerId, undefined, file);
      // A PATCH through the simplified API keeps the resource valid and leaves what it does not name alone.
      const patched = await t.request('PATCH', `/v1/appointments/${id}`, { key: own.keys.test, body: { comment: 'Rescheduled by phone', priority: 3, practitionerId: 'prac-9' } });
      assert.equal(patched.status, 200, `${file}: ${patched.body}`);
      const fhir = await readValidFhir(t, own.keys.test, 'Appointment', id, file);
      assert.equal(fhir.participant.length, example.participant.length + (data.practitionerId ? 0 : 1), file);
      assert.deepEqual(fhir.identifier, example.identifier, file);
      assert.deepEqual(fhir.serviceCategory, example.serviceCategory, file);
    });
    await assertListLength(t, own.keys.test, '/v1/appointments?count=100&sort=-start', examples.length);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const str = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 30) });
    const id = fc.stringMatching(/^[A-Za-z0-9\-_.]{1,20}$/);
    // Start and end pairs with the end not before the start (the same instant in the last one).
    const times = fc.constantFrom<[string, string]>(
      ['2025-02-03T09:00:00Z', '2025-02-03T09:30:00Z'], ['2025-02-03T09:00:00.5+01:00', '2025-02-03T09:00:00Z'], ['2024-12-31T23:59:59-05:00', '2025-01-01T04:59:59Z'],
    );
    const dateTime = fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z');
    const input = fc.record({
      status: fc.constantFrom('proposed', 'pending', 'booked', 'arrived', 'fulfilled', 'cancelled', 'noshow', 'checked-in', 'waitlist'),
      patientId: id,
      practitionerId: id,
      // Start and end both given: a canonical end is never derived.
      schedule: fc.record({ times, minutesDuration: fc.integer({ min: 1, max: 1440 }) }, { requiredKeys: ['times'] })
        .map(({ times: [start, end], ...rest }) => ({ start, end, ...rest })),
      appointmentType: fc.record({ text: fc.oneof(fc.constantFrom('routine', 'WALKIN', 'followup', 'urgent'), str(100)) }),
      serviceType: str(200),
      serviceCategory: str(200),
      specialty: str(200),
      reasonCode: str(500),
      priority: fc.integer({ min: 0, max: 9 }),
      description: str(2000),
      comment: str(2000),
      patientInstruction: str(2000),
      cancelationReason: str(500),
      basedOnId: id,
      requestedPeriod: fc.array(fc.record({ start: dateTime, end: dateTime }, { requiredKeys: ['start'] }), { minLength: 1, maxLength: 3 }),
      created: dateTime,
    }, { requiredKeys: ['status', 'patientId', 'created'] })
      .map(({ schedule, ...body }) => JSON.parse(JSON.stringify({ ...body, ...schedule })))
      // Only proposed, cancelled and waitlist appointments may be unscheduled (app-3).
      .filter((body) => body.start !== undefined || ['proposed', 'cancelled', 'waitlist'].includes(body.status));
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await t.request('POST', '/v1/appointments', { key: own.keys.test, body });
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), body);
      const read = await t.request('GET', `/v1/appointments/${res.json.data.id}`, { key: own.keys.test });
      assert.deepEqual(strip(read.json.data), body);
    }), { numRuns: 25 });
  });
});
