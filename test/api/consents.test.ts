import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import {
  assertDeleted, assertIsolated, assertListLength, assertTenantTag, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant,
} from '../helpers/resources.js';

/** A full consent built from the contract's field table and examples (§3.10). */
const HIPAA = {
  patientId: 'pat-123',
  scope: 'patient-privacy',
  category: ['hipaa-notice', 'treatment-consent'],
  status: 'active',
  dateTime: '2025-01-15T10:00:00Z',
  performerId: 'pat-123',
  organizationId: 'org-1',
  policyUri: 'https://clinic.com/hipaa-notice',
  policyRule: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIPAAAuth', display: 'HIPAA Authorization' },
  sourceAttachment: { contentType: 'application/pdf', url: 'https://clinic.com/signed/1.pdf', title: 'Signed notice' },
  verification: [{ verified: true, verifiedWith: 'pat-123', verificationDate: '2025-01-15T10:05:00Z' }],
  provision: {
    type: 'permit',
    period: { start: '2025-01-15', end: '2026-01-15' },
    actor: [{ role: { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }, reference: 'Practitioner/prac-1' }],
    action: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }],
    purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT', display: 'Treatment' }],
    securityLabel: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }],
    code: ['lab results'],
    dataPeriod: { start: '2024-01-01' },
    data: [{ meaning: 'related', reference: 'Encounter/enc-1' }],
    provision: [{ type: 'deny', action: ['disclose'], provision: [{ type: 'permit', purpose: [{ code: 'ETREAT' }] }] }],
  },
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

const post = (key: string, body: unknown) => t.request('POST', '/v1/consents', { key, body });

describe('consents', () => {
  test('a full consent is accepted, read back as sent, and stored as valid FHIR with the tenant tag', async () => {
    const res = await post(tenant.keys.test, HIPAA);
    assert.equal(res.status, 201, res.body);
    const { id, scopeDisplay, createdAt, updatedAt, ...fields } = res.json.data;
    assert.deepEqual(fields, HIPAA);
    assert.equal(scopeDisplay, 'Privacy Consent');
    assert.ok(createdAt && updatedAt);
    assert.deepEqual((await t.request('GET', `/v1/consents/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
    const fhir = await readValidFhir(t, tenant.keys.test, 'Consent', id);
    assertTenantTag(fhir);
    assert.deepEqual(fhir.scope, { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy', display: 'Privacy Consent' }] });
    assert.deepEqual(fhir.patient, { reference: 'Patient/pat-123' });
    assert.deepEqual(fhir.policy, [{ uri: 'https://clinic.com/hipaa-notice' }]);
    assert.deepEqual(fhir.category, [{ text: 'hipaa-notice' }, { text: 'treatment-consent' }]);
    assert.deepEqual(fhir.provision.actor, [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { reference: 'Practitioner/prac-1' } }]);
  });

  test('the minimal sign: defaults to active; a single category and a single verification object are accepted', async () => {
    const res = await post(tenant.keys.test, { patientId: 'pat-9', scope: 'treatment', category: 'surgical-consent', verification: { verified: false } });
    assert.equal(res.status, 201, res.body);
    const { id, createdAt, updatedAt, ...fields } = res.json.data;
    assert.ok(id && createdAt && updatedAt);
    assert.deepEqual(fields, { patientId: 'pat-9', scope: 'treatment', scopeDisplay: 'Treatment', category: 'surgical-consent', status: 'active', verification: [{ verified: false }] });
    await readValidFhir(t, tenant.keys.test, 'Consent', id);
    // policies with authority, and a performer of another type
    const other = await post(tenant.keys.test, {
      patientId: 'pat-9', scope: 'research', category: ['research-participation'], performerId: 'RelatedPerson/rp-1',
      policies: [{ authority: 'https://irb.example.org', uri: 'https://irb.example.org/study-7' }, { uri: 'https://clinic.com/research' }], sourceReferenceId: 'doc-1',
    });
    assert.equal(other.status, 201, other.body);
    assert.equal(other.json.data.category, 'research-participation');
    assert.equal(other.json.data.performerId, 'RelatedPerson/rp-1');
    assert.equal(other.json.data.sourceReferenceId, 'doc-1');
    assert.equal(other.json.data.policyUri, undefined);
    assert.equal(other.json.data.policies.length, 2);
    const otherFhir = await readValidFhir(t, tenant.keys.test, 'Consent', other.json.data.id);
    assert.deepEqual(otherFhir.performer, [{ reference: 'RelatedPerson/rp-1' }]);
    assert.deepEqual(otherFhir.sourceReference, { reference: 'DocumentReference/doc-1' });
  });

  test('validation: required fields, enums, types, list sizes, nested provision rules', async () => {
    const res = await post(tenant.keys.test, {
      status: 'revoked', dateTime: 'yesterday', category: [], verification: [{ verifiedWith: 'p' }], policyUri: 'not a uri', extra: 1,
      policies: Array.from({ length: 21 }, () => ({ uri: 'https://x.org' })),
      provision: { type: 'allow', actor: [{ role: 'x' }], data: [{ meaning: 'all', reference: 'Encounter/1' }] },
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'VALIDATION_ERROR');
    const diagnostics: string[] = res.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics);
    for (const expected of [
      'patientId: Required', 'scope: Required', "status: Invalid enum value. Expected 'draft' | 'proposed' | 'active' | 'rejected' | 'inactive'",
      'dateTime: Invalid fhir-date-time', 'category: Invalid input', 'verification: Invalid input', 'policyUri: Invalid uri', 'extra: Unrecognized field',
      'policies: Array must contain at most 20 element(s)', "provision.type: Invalid enum value. Expected 'deny' | 'permit'", 'provision.actor.0.reference: Required',
      "provision.data.0.meaning: Invalid enum value. Expected 'instance' | 'related' | 'dependents' | 'authoredby'",
    ]) {
      assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);
    }
    const scope = await post(tenant.keys.test, { patientId: 'p', scope: 'everything', category: 'x' });
    assert.equal(scope.status, 422);
    assert.ok(scope.json.issues.some((issue: { diagnostics: string }) => issue.diagnostics.startsWith('scope: Invalid enum value')));
    assert.equal((await post(tenant.keys.test, { patientId: 'bad id!', scope: 'adr', category: 'x' })).status, 422);
  });

  test('PATCH: partial merge, provision and verification replaced whole, revocation, patientId cannot change', async () => {
    const created = (await post(tenant.keys.test, HIPAA)).json.data;
    const patched = await t.request('PATCH', `/v1/consents/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json',
      body: { provision: { type: 'deny' }, verification: { verified: false }, policyUri: 'https://clinic.com/v2' },
    });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(patched.json.data.provision, { type: 'deny' });
    assert.deepEqual(patched.json.data.verification, [{ verified: false }]);
    assert.equal(patched.json.data.policyUri, 'https://clinic.com/v2');
    assert.deepEqual(patched.json.data.category, HIPAA.category);
    assert.equal(patched.json.data.status, 'active');

    const revoked = await t.request('PATCH', `/v1/consents/${created.id}`, { key: tenant.keys.test, body: { status: 'inactive' } });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.data.status, 'inactive');
    assert.deepEqual(revoked.json.data.provision, { type: 'deny' });
    // switching the source: the attachment gives way to the reference (source[x] is a choice)
    const switched = await t.request('PATCH', `/v1/consents/${created.id}`, { key: tenant.keys.test, body: { sourceReferenceId: 'Consent/c-0' } });
    assert.equal(switched.json.data.sourceReferenceId, 'Consent/c-0');
    assert.equal(switched.json.data.sourceAttachment, undefined);
    await readValidFhir(t, tenant.keys.test, 'Consent', created.id);

    const immutable = await t.request('PATCH', `/v1/consents/${created.id}`, { key: tenant.keys.test, body: { patientId: 'someone-else' } });
    assert.equal(immutable.status, 422);
    assert.deepEqual(immutable.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics), ['patientId: Cannot be changed']);
    const badStatus = await t.request('PATCH', `/v1/consents/${created.id}`, { key: tenant.keys.test, body: { status: 'revoked' } });
    assert.equal(badStatus.status, 422);

    await assertDeleted(t, tenant.keys.test, '/v1/consents', created.id);
  });

  test('filters: patientId, status, scope, dateFrom/dateTo; sort by dateTime', async () => {
    const own = await t.createTenant();
    const make = async (patientId: string, dateTime: string, extra: Record<string, unknown> = {}) =>
      (await post(own.keys.test, { patientId, scope: 'treatment', category: 'treatment-consent', dateTime, ...extra })).json.data.id as string;
    const a = await make('p1', '2025-01-10T09:00:00Z');
    const b = await make('p1', '2025-01-15T09:00:00Z', { status: 'draft' });
    const c = await make('p2', '2025-01-20T09:00:00Z', { scope: 'research' });
    const ids = idLister(t, own.keys.test, '/v1/consents');
    assert.deepEqual((await ids('patientId=p1')).sort(), [a, b].sort());
    assert.deepEqual(await ids('patientId=p2'), [c]);
    assert.deepEqual(await ids('status=draft'), [b]);
    assert.deepEqual(await ids('scope=research'), [c]);
    assert.deepEqual(await ids('dateFrom=2025-01-15&sort=dateTime'), [b, c]);
    assert.deepEqual(await ids('dateTo=2025-01-15&sort=dateTime'), [a, b]);
    assert.deepEqual(await ids('dateFrom=2025-01-11&dateTo=2025-01-19'), [b]);
    assert.deepEqual(await ids('sort=-dateTime'), [c, b, a]);
    assert.deepEqual(await ids('sort=dateTime'), [a, b, c]);
    assert.deepEqual(await ids('patientId=p1&status=active'), [a]);
    const bad = await t.request('GET', '/v1/consents?sort=shoeSize', { key: own.keys.test });
    assert.equal(bad.status, 400);
    const list = (await t.request('GET', '/v1/consents?patientId=p2', { key: own.keys.test })).json.data;
    assert.equal(list.data[0].patientId, 'p2');
    assert.equal(list.data[0].scopeDisplay, 'Research');
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await post(tenant.keys.test, { patientId: 'iso-1', scope: 'adr', category: 'advance-directive' })).json.data;
    await assertIsolated(t, { owner: tenant, path: '/v1/consents', id: created.id, patch: { status: 'inactive' }, lists: ['/v1/consents?patientId=iso-1'], fhirType: 'Consent' });
    assert.equal((await t.request('GET', `/v1/consents/${created.id}`, { key: tenant.keys.test })).json.data.status, 'active');
  });

  test('every official R4 Consent example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('Consent');
    assert.equal(examples.length, 12);
    await loadR4Examples(t, own.keys.test, { fhirType: 'Consent', path: '/v1/consents' }, examples, ({ resource: example }, read) => {
      assert.equal(read.json.data.status, example.status);
      if (example.patient?.reference?.startsWith('Patient/')) assert.equal(read.json.data.patientId, example.patient.reference.slice(8));
    });
    await assertListLength(t, own.keys.test, '/v1/consents?count=100', 12);
    assert.equal((await t.request('GET', '/v1/consents?count=100&sort=-dateTime&dateFrom=2000-01-01', { key: own.keys.test })).status, 200);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,11}$/);
    const word = fc.stringMatching(/^[a-z][a-z-]{0,15}$/);
    const date = fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z', '2025-12-31T23:59:59+02:00');
    const coding = fc.record({ system: fc.constantFrom('http://loinc.org', 'urn:x:y'), code: word, display: word }, { requiredKeys: ['code'] });
    const concept = fc.oneof(word, coding);
    const provisionLeaf = fc.record({
      type: fc.constantFrom('deny', 'permit'),
      period: fc.record({ start: date, end: date }, { requiredKeys: ['start'] }),
      actor: fc.array(fc.record({ role: concept, reference: id.map((value) => `Practitioner/${value}`) }), { minLength: 1, maxLength: 2 }),
      action: fc.array(concept, { minLength: 1, maxLength: 2 }),
      purpose: fc.array(coding, { minLength: 1, maxLength: 2 }),
      code: fc.array(concept, { minLength: 1, maxLength: 2 }),
      data: fc.array(fc.record({ meaning: fc.constantFrom('instance', 'related', 'dependents', 'authoredby'), reference: id.map((value) => `Observation/${value}`) }), { minLength: 1, maxLength: 2 }),
    }, { requiredKeys: [] }).filter((value) => Object.keys(value).length > 0);
    const input = fc.record({
      patientId: id,
      scope: fc.constantFrom('patient-privacy', 'research', 'treatment', 'adr'),
      category: fc.oneof(word, fc.array(word, { minLength: 2, maxLength: 3 })),
      status: fc.constantFrom('draft', 'proposed', 'active', 'rejected', 'inactive'),
      dateTime: date,
      performerId: fc.oneof(id, id.map((value) => `Practitioner/${value}`)),
      organizationId: id,
      policyUri: word.map((value) => `https://clinic.example/${value}`),
      policyRule: concept,
      sourceReferenceId: id,
      verification: fc.array(fc.record({ verified: fc.boolean(), verifiedWith: id, verificationDate: date }, { requiredKeys: ['verified'] }), { minLength: 1, maxLength: 2 }),
      provision: fc.tuple(provisionLeaf, fc.array(provisionLeaf, { maxLength: 2 })).map(([top, nested]) => (nested.length ? { ...top, provision: nested } : top)),
    }, { requiredKeys: ['patientId', 'scope', 'category', 'status'] });
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await post(own.keys.test, body);
      assert.equal(res.status, 201, res.body);
      const { id: _id, scopeDisplay: _display, createdAt: _c, updatedAt: _u, ...fields } = res.json.data;
      assert.deepEqual(fields, JSON.parse(JSON.stringify(body)));
      await readValidFhir(t, own.keys.test, 'Consent', res.json.data.id);
    }), { numRuns: 25 });
  });
});
