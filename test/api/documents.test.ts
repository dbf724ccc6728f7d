import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertDeleted, assertIsolated, assertListLength, assertTenantTag, diagnosticsOf, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant, strip } from '../helpers/resources.js';

const LOINC = 'http://loinc.org';
const DOCUMENT_TYPE_SYSTEM = 'https://clinikapi.com/fhir/CodeSystem/document-type';
const XHTML_OPEN = '<div xmlns="http://www.w3.org/1999/xhtml">';

/** The required fields (§3.14), with text that needs escaping in the narrative. */
const REFERRAL = {
  status: 'final', type: 'referral-letter', patientId: 'pt_abc123', practitionerId: 'prac_def456', title: 'Referral to Cardiology',
  sections: [{ title: 'Reason for referral', text: 'Chest pain on exertion; BP <140/90> & ECG "normal".\nPlease assess.' }],
};
/** Every documented field, with sections nested to the deepest level allowed. */
const DISCHARGE = {
  status: 'amended', type: 'discharge-summary', patientId: 'pt-42', practitionerId: 'prac-1', title: 'Discharge Summary - Community-acquired pneumonia',
  sections: [
    {
      title: 'Hospital course', text: 'Treated with IV ceftriaxone, then oral.', code: { system: LOINC, code: '8648-8', display: 'Hospital course Narrative' },
      resourceIds: ['Condition/cond-1', 'MedicationRequest/rx-1'], authorId: 'prac-2', mode: 'snapshot',
      sections: [{ title: 'Day 1', text: 'Fever 39 °C', sections: [{ title: 'Night', text: 'Stable', mode: 'working' }] }],
    },
    { title: 'Addendum', text: 'Culture results: negative.', code: 'Addendum', mode: 'changes' },
  ],
  category: ['Inpatient', 'Pulmonology'], encounterId: 'enc-1', date: '2025-01-15', confidentiality: 'R',
  attester: [{ mode: 'legal', time: '2025-01-15T17:00:00Z', partyId: 'prac-1' }, { mode: 'personal' }], custodianId: 'org-1',
  relatesTo: [{ code: 'replaces', targetId: 'doc-old' }],
  event: [{ code: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HEALTHREC', display: 'health record' }, 'Admission'], period: { start: '2025-01-10', end: '2025-01-15' }, detailIds: ['Encounter/enc-1'] }],
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

const post = (key: string, body: unknown) => t.request('POST', '/v1/documents', { key, body });
const today = () => new Date().toISOString().slice(0, 10);

describe('documents', () => {
  test('a referral and every documented field are accepted, read back as sent, and stored as valid, tenant-tagged FHIR', async () => {
    for (const example of [{ ...REFERRAL, date: '2025-01-15', confidentiality: 'N' }, DISCHARGE]) {
      const res = await post(tenant.keys.test, example);
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), example);
      const { id } = res.json.data;
      assert.deepEqual((await t.request('GET', `/v1/documents/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'Composition', id);
      assertTenantTag(fhir, tenant.tenantId);
      assert.deepEqual(fhir.subject, { reference: `Patient/${example.patientId}` });
      assert.deepEqual(fhir.author, [{ reference: `Practitioner/${example.practitionerId}` }]);
      assert.equal(fhir.date, '2025-01-15');
      if (example === DISCHARGE) {
        assert.deepEqual(fhir.type, { coding: [{ system: LOINC, code: '18842-5', display: 'Discharge summary' }, { system: DOCUMENT_TYPE_SYSTEM, code: 'discharge-summary' }] });
        assert.equal(fhir.confidentiality, 'R');
        assert.deepEqual(fhir.section[0].entry, [{ reference: 'Condition/cond-1' }, { reference: 'MedicationRequest/rx-1' }]);
        assert.deepEqual(fhir.section[0].author, [{ reference: 'Practitioner/prac-2' }]);
        assert.deepEqual(fhir.section[0].code, { coding: [DISCHARGE.sections[0].code] });
        assert.deepEqual(fhir.section[0].section[0].section[0], { title: 'Night', mode: 'working', text: { status: 'generated', div: `${XHTML_OPEN}Stable</div>` } });
        assert.deepEqual(fhir.category, [{ text: 'Inpatient' }, { text: 'Pulmonology' }]);
        assert.deepEqual(fhir.attester[0], { mode: 'legal', time: '2025-01-15T17:00:00Z', party: { reference: 'Practitioner/prac-1' } });
        assert.deepEqual(fhir.custodian, { reference: 'Organization/org-1' });
        assert.deepEqual(fhir.relatesTo, [{ code: 'replaces', targetReference: { reference: 'Composition/doc-old' } }]);
        assert.deepEqual(fhir.event[0].detail, [{ reference: 'Encounter/enc-1' }]);
        assert.deepEqual(fhir.encounter, { reference: 'Encounter/enc-1' });
      } else {
        assert.deepEqual(fhir.type.coding[0], { system: LOINC, code: '57133-1', display: 'Referral note' });
        // The text is escaped into the XHTML narrative.
        assert.deepEqual(fhir.section[0].text, {
          status: 'generated', div: `${XHTML_OPEN}Chest pain on exertion; BP &lt;140/90&gt; &amp; ECG "normal".\nPlease assess.</div>`,
        });
      }
    }
  });

  test('defaults: dated today, confidentiality N; a type that is not a known slug is kept as its own coding', async () => {
    const res = await post(tenant.keys.test, { ...REFERRAL, type: 'Clinic letter' });
    assert.equal(res.status, 201, res.body);
    assert.deepEqual(strip(res.json.data), { ...REFERRAL, type: 'Clinic letter', date: today(), confidentiality: 'N' });
    const fhir = await readValidFhir(t, tenant.keys.test, 'Composition', res.json.data.id);
    assert.deepEqual(fhir.type, { coding: [{ system: DOCUMENT_TYPE_SYSTEM, code: 'Clinic letter' }] });
    assert.equal(fhir.confidentiality, 'N');
  });

  test('validation: required fields, enums, limits, formats and the section depth', async () => {
    const res = await post(tenant.keys.test, {
      status: 'draft', type: 'two  spaces', title: 't'.repeat(501), sections: [{ title: 's'.repeat(201), resourceIds: ['cond-1'], mode: 'final' }],
      category: ['c'.repeat(201)], date: '2025-02-30', confidentiality: 'U', attester: [{ time: 'now' }], relatesTo: [{ code: 'cites' }],
      event: [{}], custodianId: 'a b', mood: 'good',
    });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'VALIDATION_ERROR');
    const diagnostics = diagnosticsOf(res);
    for (const expected of [
      'patientId: Required', 'practitionerId: Required', "status: Invalid enum value. Expected 'preliminary' | 'final' | 'amended'", 'type: Invalid format',
      'title: String must contain at most 500 character(s)', 'sections.0.title: String must contain at most 200 character(s)', 'sections.0.text: Required',
      'sections.0.resourceIds.0: Invalid format', "sections.0.mode: Invalid enum value. Expected 'working' | 'snapshot' | 'changes'",
      'category.0: String must contain at most 200 character(s)', 'date: Invalid date', "confidentiality: Invalid enum value. Expected 'N' | 'R' | 'V'",
      'attester.0.mode: Required', 'attester.0.time: Invalid fhir-date-time', "relatesTo.0.code: Invalid enum value. Expected 'replaces' | 'transforms' | 'signs' | 'appends'",
      'relatesTo.0.targetId: Required', 'event.0: Invalid value', 'custodianId: Invalid reference-id', 'mood: Unrecognized field',
    ]) assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);

    const section = { title: 's', text: 'x' };
    assert.deepEqual(diagnosticsOf(await post(tenant.keys.test, { ...REFERRAL, sections: [] })), ['sections: Array must contain at least 1 element(s)']);
    assert.deepEqual(diagnosticsOf(await post(tenant.keys.test, { ...REFERRAL, sections: Array.from({ length: 51 }, () => section) })), ['sections: Array must contain at most 50 element(s)']);
    assert.deepEqual(diagnosticsOf(await post(tenant.keys.test, { ...REFERRAL, type: 't'.repeat(101) })), ['type: String must contain at most 100 character(s)']);
    const tooDeep = await post(tenant.keys.test, { ...REFERRAL, sections: [{ ...section, sections: [{ ...section, sections: [{ ...section, sections: [section] }] }] }] });
    assert.deepEqual(diagnosticsOf(tooDeep), ['sections.0.sections.0.sections.0.sections: Unrecognized field']);
    const long = await post(tenant.keys.test, { ...REFERRAL, sections: [{ title: 's', text: 'x'.repeat(50001) }] });
    assert.deepEqual(diagnosticsOf(long), ['sections.0.text: String must contain at most 50000 character(s)']);
  });

  test('PATCH merges fields, replaces sections and attesters whole, refuses patientId; DELETE then 404', async () => {
    const created = (await post(tenant.keys.test, DISCHARGE)).json.data;
    const sections = [...DISCHARGE.sections.slice(0, 1), { title: 'Addendum', text: 'Follow-up booked for <2 weeks>.', mode: 'changes' }];
    const changes = { status: 'amended', title: 'Discharge Summary (amended)', sections, confidentiality: 'V', attester: [{ mode: 'professional', partyId: 'prac-9' }], date: '2025-01-16' };
    const patched = await t.request('PATCH', `/v1/documents/${created.id}`, { key: tenant.keys.test, contentType: 'application/json-patch+json', body: changes });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(strip(patched.json.data), { ...strip(created), ...changes });
    const fhir = await readValidFhir(t, tenant.keys.test, 'Composition', created.id);
    assert.equal(fhir.section.length, 2);
    assert.equal(fhir.section[1].text.div, `${XHTML_OPEN}Follow-up booked for &lt;2 weeks&gt;.</div>`);
    assert.deepEqual(fhir.attester, [{ mode: 'professional', party: { reference: 'Practitioner/prac-9' } }]);

    const refused = await t.request('PATCH', `/v1/documents/${created.id}`, { key: tenant.keys.test, body: { patientId: 'pt_else', status: 'final' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(diagnosticsOf(refused), ['patientId: Cannot be changed']);
    assert.equal((await t.request('PATCH', `/v1/documents/${created.id}`, { key: tenant.keys.test, body: { sections: [] } })).status, 422);

    await assertDeleted(t, tenant.keys.test, '/v1/documents', created.id, { patch: { status: 'final' } });
  });

  test('filters (patientId, practitionerId, type, status, dateFrom/dateTo) and sorts', async () => {
    const own = await t.createTenant();
    const create = async (body: object) => {
      const res = await post(own.keys.test, { ...REFERRAL, ...body });
      assert.equal(res.status, 201, res.body);
      return res.json.data.id as string;
    };
    // Search takes FHIR ids ([A-Za-z0-9-.]), so these ids have no underscore.
    const referral = await create({ patientId: 'pt-abc123', practitionerId: 'prac-def456', date: '2025-01-10', title: 'Bravo' });
    const discharge = await create({ type: 'discharge-summary', patientId: 'pt-abc123', practitionerId: 'prac-2', date: '2025-01-15', status: 'preliminary', title: 'Alpha' });
    const letter = await create({ type: 'Clinic letter', patientId: 'pt-42', practitionerId: 'prac-def456', date: '2025-01-20', status: 'amended', title: 'Charlie' });
    const ids = idLister(t, own.keys.test, '/v1/documents');
    const same = async (query: string, expected: string[]) => assert.deepEqual((await ids(query)).sort(), [...expected].sort(), query);
    await same('', [referral, discharge, letter]);
    await same('patientId=pt-abc123', [referral, discharge]);
    await same('practitionerId=prac-def456', [referral, letter]);
    await same('practitionerId=prac-2&patientId=pt-abc123', [discharge]);
    await same('type=referral-letter', [referral]);
    await same('type=discharge-summary', [discharge]);
    await same('type=Clinic letter', [letter]);
    await same('status=final', [referral]);
    await same('status=preliminary,amended', [discharge, letter]);
    await same('dateFrom=2025-01-15', [discharge, letter]);
    await same('dateTo=2025-01-15', [referral, discharge]);
    await same('dateFrom=2025-01-11&dateTo=2025-01-19', [discharge]);
    assert.deepEqual(await ids('sort=date'), [referral, discharge, letter]);
    assert.deepEqual(await ids('sort=-date'), [letter, discharge, referral]);
    assert.deepEqual(await ids('sort=title'), [discharge, referral, letter]);
    assert.deepEqual(await ids('sort=status'), [letter, referral, discharge]);
    assert.deepEqual(await ids('sort=-updatedAt&count=1'), [letter]);
    assert.equal((await t.request('GET', '/v1/documents?sort=type', { key: own.keys.test })).status, 400);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await post(tenant.keys.test, { ...REFERRAL, patientId: 'pt-isolated' })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/documents', id: created.id, patch: { status: 'amended' }, lists: ['/v1/documents?patientId=pt-isolated', '/v1/documents'], fhirType: 'Composition',
    });
    assert.equal((await t.request('GET', '/v1/documents?patientId=pt-isolated', { key: tenant.keys.test })).json.data.data.length, 1);
  });

  test('every official R4 Composition example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('Composition');
    assert.equal(examples.length, 2);
    const projected: Record<string, Record<string, unknown>> = {};
    await loadR4Examples(t, own.keys.test, { fhirType: 'Composition', path: '/v1/documents' }, examples, async ({ file, id, resource: example }, read) => {
      projected[id] = read.json.data;
      assert.equal(read.json.data.status, example.status, file);
      assert.equal(read.json.data.title, example.title, file);
      assert.equal(read.json.data.date, example.date.slice(0, 10), file);
      assert.equal(read.json.data.practitionerId, 'xcda-author', file);
      assert.equal(read.json.data.sections.length, example.section.length, file);
      // A PATCH through the simplified API keeps the resource valid and leaves what it does not name alone.
      const patched = await t.request('PATCH', `/v1/documents/${id}`, { key: own.keys.test, body: { status: 'amended', confidentiality: 'R' } });
      assert.equal(patched.status, 200, `${file}: ${patched.body}`);
      const fhir = await readValidFhir(t, own.keys.test, 'Composition', id, file);
      assert.deepEqual(fhir.identifier, example.identifier, file);
      assert.deepEqual(fhir.section, example.section, file);
    });
    const example = projected.example;
    assert.equal(example.type, 'consultation-report');
    assert.deepEqual(example.relatesTo, [{ code: 'replaces', targetId: 'old-example' }]);
    assert.deepEqual(example.attester, [{ mode: 'legal', time: '2012-01-04T09:10:14Z', partyId: 'xcda-author' }]);
    assert.deepEqual(example.event, [{
      code: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HEALTHREC', display: 'health record' }], period: { start: '2010-07-18', end: '2012-11-12' }, detailIds: ['Observation/example'],
    }]);
    const [history, family] = example.sections as Array<Record<string, unknown>>;
    assert.deepEqual(history.resourceIds, ['Condition/stroke', 'Condition/example', 'Condition/example2']);
    assert.equal(history.mode, 'snapshot');
    assert.deepEqual(family, {
      title: 'History of family member diseases', text: 'History of family member diseases - not available', mode: 'snapshot',
      code: { system: LOINC, code: '10157-6', display: 'History of family member diseases Narrative' },
    });
    assert.equal(projected['example-mixed'].type, 'Neonatal perinatal medicine Discharge summary');
    assert.deepEqual(projected['example-mixed'].category, ['Report']);
    await assertListLength(t, own.keys.test, '/v1/documents?count=100&sort=-date', examples.length);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const str = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 30) });
    const id = fc.stringMatching(/^[A-Za-z0-9\-_.]{1,20}$/);
    const relative = fc.tuple(fc.constantFrom('Condition', 'Observation', 'MedicationRequest'), fc.stringMatching(/^[A-Za-z0-9\-.]{1,20}$/)).map(([type, ref]) => `${type}/${ref}`);
    const day = fc.date({ min: new Date('1990-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((value) => value.toISOString().slice(0, 10));
    const dateTime = fc.constantFrom('2024', '2024-03-15', '2024-03-15T09:30:00Z', '2025-12-31T23:59:59+02:00');
    const concept = fc.oneof(str(500), fc.record({ system: fc.constantFrom(LOINC, 'urn:x'), code: fc.stringMatching(/^[A-Za-z0-9-]{1,10}$/), display: str(500) }, { requiredKeys: ['code'] }));
    const sectionFields = {
      title: str(200),
      // Any text, markup characters and entities included, survives the XHTML narrative.
      text: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), fc.constantFrom('<b>bold</b> &amp; &lt;', '&#169; 5 > 3 < 4')),
      code: concept,
      resourceIds: fc.array(relative, { minLength: 1, maxLength: 3 }),
      authorId: id,
      mode: fc.constantFrom('working', 'snapshot', 'changes'),
    };
    const leaf = fc.record(sectionFields, { requiredKeys: ['title', 'text'] });
    const middle = fc.record({ ...sectionFields, sections: fc.array(leaf, { minLength: 1, maxLength: 2 }) }, { requiredKeys: ['title', 'text'] });
    const top = fc.record({ ...sectionFields, sections: fc.array(middle, { minLength: 1, maxLength: 2 }) }, { requiredKeys: ['title', 'text'] });
    const input = fc.record({
      status: fc.constantFrom('preliminary', 'final', 'amended'),
      type: fc.oneof(fc.constantFrom('discharge-summary', 'referral-letter', 'care-plan', 'operative-report', 'transfer-summary', 'consultation-report'), fc.stringMatching(/^[A-Za-z0-9]{1,10}( [A-Za-z0-9]{1,10}){0,2}$/)),
      patientId: id,
      practitionerId: id,
      title: str(500),
      sections: fc.array(top, { minLength: 1, maxLength: 3 }),
      category: fc.array(str(200), { minLength: 1, maxLength: 3 }),
      encounterId: id,
      date: day,
      confidentiality: fc.constantFrom('N', 'R', 'V'),
      attester: fc.array(fc.record({ mode: fc.constantFrom('personal', 'professional', 'legal', 'official'), time: dateTime, partyId: id }, { requiredKeys: ['mode'] }), { minLength: 1, maxLength: 2 }),
      custodianId: id,
      relatesTo: fc.array(fc.record({ code: fc.constantFrom('replaces', 'transforms', 'signs', 'appends'), targetId: id }), { minLength: 1, maxLength: 2 }),
      event: fc.array(fc.record({
        code: fc.array(concept, { minLength: 1, maxLength: 2 }),
        period: fc.record({ start: dateTime, end: dateTime }, { requiredKeys: ['start'] }),
        detailIds: fc.array(relative, { minLength: 1, maxLength: 2 }),
      }, { requiredKeys: ['code'] }), { minLength: 1, maxLength: 2 }),
    }, { requiredKeys: ['status', 'type', 'patientId', 'practitionerId', 'title', 'sections', 'date', 'confidentiality'] }).map((body) => JSON.parse(JSON.stringify(body)));
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await post(own.keys.test, body);
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), body);
      const read = await t.request('GET', `/v1/documents/${res.json.data.id}`, { key: own.keys.test });
      assert.deepEqual(strip(read.json.data), body);
      await readValidFhir(t, own.keys.test, 'Composition', res.json.data.id);
    }), { numRuns: 25 });
  });
});
