import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import {
  assertIsolated, assertListLength, assertTenantTag, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant,
} from '../helpers/resources.js';

/** The contract's search item example (§3.12), with the create-only content fields. */
const FOLLOW_UP = {
  patientId: 'pat-123',
  authorId: 'prac_def456',
  encounterId: 'enc_xyz789',
  type: 'progress-note',
  title: 'Follow-up Visit - Hypertension Management',
  content: '# Assessment\nBP 128/82 — improved on lisinopril. Continue 10 mg daily. 👍',
  contentType: 'text/markdown',
  docStatus: 'final',
  category: 'cardiology',
  date: '2025-01-15',
};

/** Every documented field. */
const FULL = {
  ...FOLLOW_UP,
  relatesTo: [{ code: 'replaces', targetId: 'note-old' }],
  securityLabel: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R', display: 'restricted' }],
  authenticatorId: 'prac-auth',
  custodianId: 'org-1',
  servicePeriod: { start: '2025-01-15T09:00:00Z', end: '2025-01-15T09:30:00Z' },
  facilityType: 'Outpatient clinic',
  practiceSetting: 'Cardiology',
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

const post = (key: string, body: unknown) => t.request('POST', '/v1/notes', { key, body });
const today = () => new Date().toISOString().slice(0, 10);

describe('notes', () => {
  test('the contract example and every documented field are accepted, read back as sent, and stored as valid FHIR', async () => {
    for (const body of [FOLLOW_UP, FULL]) {
      const res = await post(tenant.keys.test, body);
      assert.equal(res.status, 201, res.body);
      const { id, createdAt, updatedAt, ...fields } = res.json.data;
      assert.deepEqual(fields, body);
      assert.ok(createdAt && updatedAt);
      assert.deepEqual((await t.request('GET', `/v1/notes/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'DocumentReference', id);
      assertTenantTag(fhir);
      assert.equal(fhir.status, 'current');
      assert.equal(fhir.description, body.title);
      assert.deepEqual(fhir.subject, { reference: 'Patient/pat-123' });
      assert.deepEqual(fhir.author, [{ reference: 'Practitioner/prac_def456' }]);
      assert.deepEqual(fhir.content, [{ attachment: { contentType: 'text/markdown', data: Buffer.from(body.content, 'utf8').toString('base64') } }]);
      assert.deepEqual(fhir.type.coding[0], { system: 'http://loinc.org', code: '11506-3', display: 'Progress note' });
      assert.equal(fhir.date, '2025-01-15T00:00:00Z');
      assert.deepEqual(fhir.context.encounter, [{ reference: 'Encounter/enc_xyz789' }]);
    }
  });

  test('defaults: text/plain, preliminary, dated today', async () => {
    const res = await post(tenant.keys.test, { patientId: 'p1', title: 'Phone call', content: 'Called back.' });
    assert.equal(res.status, 201, res.body);
    const { id, createdAt, updatedAt, ...fields } = res.json.data;
    assert.ok(id && createdAt && updatedAt);
    assert.deepEqual(fields, { patientId: 'p1', title: 'Phone call', content: 'Called back.', contentType: 'text/plain', docStatus: 'preliminary', date: today() });
    await readValidFhir(t, tenant.keys.test, 'DocumentReference', id);
  });

  test('validation: required fields, enums, lengths, formats', async () => {
    const res = await post(tenant.keys.test, {
      title: 'x'.repeat(501), type: 'memo', docStatus: 'draft', category: 'c'.repeat(101), date: '2025-02-30', contentType: 'plain',
      relatesTo: [{ code: 'cites' }], facilityType: 'f'.repeat(201), practiceSetting: 7, servicePeriod: { start: 'soon' }, authorId: 'a b', other: true,
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'VALIDATION_ERROR');
    const diagnostics: string[] = res.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics);
    for (const expected of [
      'patientId: Required', 'content: Required', 'title: String must contain at most 500 character(s)',
      "type: Invalid enum value. Expected 'progress-note' | 'discharge-summary' | 'consultation-note' | 'history-and-physical' | 'operative-note' | 'procedure-note' | 'referral-note' | 'transfer-summary' | 'other'",
      "docStatus: Invalid enum value. Expected 'preliminary' | 'final' | 'amended'", 'category: String must contain at most 100 character(s)',
      'date: Invalid date', 'contentType: Invalid format', "relatesTo.0.code: Invalid enum value. Expected 'replaces' | 'transforms' | 'signs' | 'appends'",
      'relatesTo.0.targetId: Required', 'facilityType: String must contain at most 200 character(s)', 'practiceSetting: Expected string',
      'servicePeriod.start: Invalid fhir-date-time', 'authorId: Invalid reference-id', 'other: Unrecognized field',
    ]) {
      assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);
    }
    const long = await post(tenant.keys.test, { patientId: 'p', title: 't', content: 'x'.repeat(100001) });
    assert.equal(long.status, 422);
    assert.ok(long.json.issues.some((issue: { diagnostics: string }) => issue.diagnostics === 'content: String must contain at most 100000 character(s)'));
    assert.equal((await post(tenant.keys.test, { patientId: 'p', title: 't', content: 'x'.repeat(100000) })).status, 201);
  });

  test('PATCH: partial merge, arrays replaced whole, content re-encoded, patientId cannot change; DELETE then 404', async () => {
    const created = (await post(tenant.keys.test, FULL)).json.data;
    const patched = await t.request('PATCH', `/v1/notes/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: { content: 'Amended text', docStatus: 'amended', relatesTo: [{ code: 'appends', targetId: 'n2' }], securityLabel: ['normal'], servicePeriod: { start: '2025-01-16' } },
    });
    assert.equal(patched.status, 200, patched.body);
    const { updatedAt: _u, ...after } = patched.json.data;
    const { updatedAt: _v, ...before } = created;
    assert.deepEqual(after, {
      ...before, content: 'Amended text', docStatus: 'amended', relatesTo: [{ code: 'appends', targetId: 'n2' }], securityLabel: ['normal'], servicePeriod: { start: '2025-01-16' },
    });
    const fhir = await readValidFhir(t, tenant.keys.test, 'DocumentReference', created.id);
    assert.equal(fhir.content[0].attachment.contentType, 'text/markdown');
    assert.equal(Buffer.from(fhir.content[0].attachment.data, 'base64').toString('utf8'), 'Amended text');

    const immutable = await t.request('PATCH', `/v1/notes/${created.id}`, { key: tenant.keys.test, body: { patientId: 'other', title: 'ok' } });
    assert.equal(immutable.status, 422);
    assert.deepEqual(immutable.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics), ['patientId: Cannot be changed']);
    assert.equal((await t.request('PATCH', `/v1/notes/${created.id}`, { key: tenant.keys.test, body: { docStatus: 'signed' } })).status, 422);
    assert.equal((await t.request('GET', `/v1/notes/${created.id}`, { key: tenant.keys.test })).json.data.title, FULL.title);

    assert.equal((await t.request('DELETE', `/v1/notes/${created.id}`, { key: tenant.keys.test })).status, 204);
    assert.equal((await t.request('GET', `/v1/notes/${created.id}`, { key: tenant.keys.test })).status, 404);
    assert.equal((await t.request('PATCH', `/v1/notes/${created.id}`, { key: tenant.keys.test, body: { title: 'x' } })).status, 404);
  });

  test('filters: patientId, authorId, encounterId, type, category, date, dateFrom/dateTo; sorts', async () => {
    const own = await t.createTenant();
    const make = async (body: Record<string, unknown>) =>
      (await post(own.keys.test, { patientId: 'p1', content: 'x', title: 'Note', ...body })).json.data.id as string;
    const a = await make({ title: 'Bravo', date: '2025-01-10', authorId: 'dr-a', type: 'progress-note', category: 'cardiology' });
    const b = await make({ title: 'Alpha', date: '2025-01-15', authorId: 'dr-b', encounterId: 'enc-1', type: 'discharge-summary' });
    const c = await make({ title: 'Charlie', date: '2025-01-20', patientId: 'p2', authorId: 'dr-a', encounterId: 'enc-2', category: 'oncology' });
    const ids = idLister(t, own.keys.test, '/v1/notes');
    assert.deepEqual(await ids('patientId=p1&sort=date'), [a, b]);
    assert.deepEqual(await ids('patientId=p2'), [c]);
    assert.deepEqual(await ids('authorId=dr-a&sort=date'), [a, c]);
    assert.deepEqual(await ids('encounterId=enc-1'), [b]);
    assert.deepEqual(await ids('type=discharge-summary'), [b]);
    assert.deepEqual(await ids('type=progress-note'), [a]);
    assert.deepEqual(await ids('category=oncology'), [c]);
    assert.deepEqual(await ids('date=2025-01-15'), [b]);
    assert.deepEqual(await ids('dateFrom=2025-01-15&sort=date'), [b, c]);
    assert.deepEqual(await ids('dateTo=2025-01-15&sort=date'), [a, b]);
    assert.deepEqual(await ids('dateFrom=2025-01-11&dateTo=2025-01-19'), [b]);
    assert.deepEqual(await ids('sort=-date'), [c, b, a]);
    assert.deepEqual(await ids('sort=title'), [b, a, c]);
    assert.deepEqual(await ids('authorId=dr-a&patientId=p1'), [a]);
    const bad = await t.request('GET', '/v1/notes?sort=content', { key: own.keys.test });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'INVALID_REQUEST');
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await post(tenant.keys.test, { patientId: 'iso-1', title: 'Private', content: 'secret' })).json.data;
    await assertIsolated(t, { owner: tenant, path: '/v1/notes', id: created.id, patch: { title: 'x' }, lists: ['/v1/notes?patientId=iso-1'], fhirType: 'DocumentReference' });
    assert.equal((await t.request('GET', `/v1/notes/${created.id}`, { key: tenant.keys.test })).json.data.content, 'secret');
  });

  test('the official R4 DocumentReference example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('DocumentReference');
    assert.equal(examples.length, 1);
    await loadR4Examples(t, own.keys.test, { fhirType: 'DocumentReference', path: '/v1/notes' }, examples, async ({ id, resource: example }, read) => {
      const { createdAt, updatedAt, ...fields } = read.json.data;
      assert.ok(createdAt && updatedAt);
      assert.deepEqual(fields, {
        id, patientId: 'xcda', title: 'Physical', contentType: 'application/hl7-v3+xml', custodianId: 'f001', authorId: 'xcda1', encounterId: 'xcda', docStatus: 'preliminary',
        category: 'History and Physical', date: '2005-12-24', relatesTo: [{ code: 'appends', targetId: 'example' }],
        securityLabel: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'V', display: 'very restricted' }],
        servicePeriod: { start: '2004-12-23T08:00:00+11:00', end: '2004-12-23T08:01:00+11:00' }, facilityType: 'Outpatient', practiceSetting: 'General Medicine',
      });
      // a PATCH through the simplified route keeps what only FHIR set
      const patched = await t.request('PATCH', `/v1/notes/${id}`, { key: own.keys.test, body: { content: 'Summary', docStatus: 'final' } });
      assert.equal(patched.status, 200, patched.body);
      const fhir = await readValidFhir(t, own.keys.test, 'DocumentReference', id);
      assert.equal(fhir.content[0].attachment.url, example.content[0].attachment.url);
      assert.equal(fhir.content[0].attachment.hash, undefined);
      assert.deepEqual(fhir.masterIdentifier, example.masterIdentifier);
    });
    // binary content (a PDF put through FHIR) is not projected as text
    const pdf = { resourceType: 'DocumentReference', status: 'current', subject: { reference: 'Patient/xcda' }, content: [{ attachment: { contentType: 'application/pdf', data: Buffer.from('%PDF-1.4\xff\xfe').toString('base64') } }] };
    assert.equal((await t.request('PUT', '/v1/fhir/DocumentReference/pdf-1', { key: own.keys.test, body: pdf, contentType: 'application/fhir+json' })).status, 201);
    const pdfNote = (await t.request('GET', '/v1/notes/pdf-1', { key: own.keys.test })).json.data;
    assert.equal(pdfNote.content, undefined);
    assert.equal(pdfNote.contentType, 'application/pdf');
    await assertListLength(t, own.keys.test, '/v1/notes?count=100&patientId=xcda&dateFrom=2000-01-01&sort=-date', 1);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,11}$/);
    const word = fc.stringMatching(/^[A-Za-z][A-Za-z -]{0,18}[a-z]$/);
    const day = fc.date({ min: new Date('1990-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((value) => value.toISOString().slice(0, 10));
    const dateTime = fc.constantFrom('2024', '2024-03-15', '2024-03-15T09:30:00Z', '2025-12-31T23:59:59+02:00');
    const coding = fc.record({ system: fc.constantFrom('http://terminology.hl7.org/CodeSystem/v3-Confidentiality', 'urn:x'), code: fc.stringMatching(/^[A-Z]{1,3}$/), display: word }, { requiredKeys: ['code'] });
    const input = fc.record({
      patientId: id,
      title: word,
      content: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
      contentType: fc.constantFrom('text/plain', 'text/markdown'),
      docStatus: fc.constantFrom('preliminary', 'final', 'amended'),
      date: day,
      authorId: id,
      encounterId: id,
      type: fc.constantFrom('progress-note', 'discharge-summary', 'consultation-note', 'history-and-physical', 'operative-note', 'procedure-note', 'referral-note', 'transfer-summary', 'other'),
      category: word,
      relatesTo: fc.array(fc.record({ code: fc.constantFrom('replaces', 'transforms', 'signs', 'appends'), targetId: id }), { minLength: 1, maxLength: 3 }),
      securityLabel: fc.array(fc.oneof(word, coding), { minLength: 1, maxLength: 3 }),
      authenticatorId: id,
      custodianId: id,
      servicePeriod: fc.record({ start: dateTime, end: dateTime }, { requiredKeys: [] }).filter((value) => Object.keys(value).length > 0),
      facilityType: word,
      practiceSetting: word,
    }, { requiredKeys: ['patientId', 'title', 'content', 'contentType', 'docStatus', 'date'] });
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await post(own.keys.test, body);
      assert.equal(res.status, 201, res.body);
      const { id: _id, createdAt: _c, updatedAt: _u, ...fields } = res.json.data;
      assert.deepEqual(fields, JSON.parse(JSON.stringify(body)));
      await readValidFhir(t, own.keys.test, 'DocumentReference', res.json.data.id);
    }), { numRuns: 25 });
  });
});
