import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Tenant, TestApp } from '../helpers/app.js';
import { assertDeleted, assertIsolated, assertListLength, assertTenantTag, diagnosticsOf, idLister, loadR4Examples, officialR4Examples, readValidFhir, setUpAppWithTenant, strip } from '../helpers/resources.js';

const SNOMED = 'http://snomed.info/sct';
/** The contract's examples (§3.9): SNOMED smoking status and a temperature in °F. */
const NEW_PATIENT = {
  patientId: 'pt_abc123',
  questionnaire: 'https://forms.clinikapi.com/new-patient-intake',
  items: [
    { linkId: 'smoking', text: 'Do you smoke?', answer: [{ valueCoding: { system: SNOMED, code: '266919005', display: 'Never smoker' } }] },
    { linkId: 'temperature', text: 'Temperature', answer: [{ valueQuantity: { value: 98.6, unit: '°F' } }] },
  ],
};
/** Every documented field, every answer type, nested groups and follow-up items under an answer. */
const FULL = {
  patientId: 'pt-42',
  status: 'in-progress',
  authored: '2025-01-15T09:30:00Z',
  encounterId: 'enc-1',
  authorId: 'prac-1',
  sourceId: 'RelatedPerson/rp-1',
  questionnaire: 'new-patient-intake',
  basedOn: ['sr-1', 'CarePlan/cp-1'],
  partOf: ['Procedure/proc-1', 'obs-1'],
  items: [
    {
      linkId: 'history',
      text: 'History',
      definition: 'https://forms.clinikapi.com/new-patient-intake#history',
      items: [
        {
          linkId: 'history.smoking',
          answer: [{ valueCoding: { system: SNOMED, code: '8517006', display: 'Former smoker' }, items: [{ linkId: 'history.smoking.quit', answer: [{ valueDate: '2019-06-01' }] }] }],
        },
        { linkId: 'history.conditions', answer: [{ valueString: 'Asthma' }, { valueString: 'Hay fever' }] },
      ],
    },
    { linkId: 'pregnant', answer: [{ valueBoolean: false }] },
    { linkId: 'children', answer: [{ valueInteger: 2 }] },
    { linkId: 'weight-kg', answer: [{ valueDecimal: 72.5 }] },
    { linkId: 'last-visit', answer: [{ valueDateTime: '2024-11-02T14:00:00+01:00' }] },
    { linkId: 'wake-time', answer: [{ valueTime: '06:30:00' }] },
    { linkId: 'website', answer: [{ valueUri: 'https://example.org/me' }] },
    { linkId: 'temperature', answer: [{ valueQuantity: { value: 37 } }] },
    { linkId: 'comments' },
  ],
};

let t: TestApp;
let tenant: Tenant;
setUpAppWithTenant((app, owner) => { t = app; tenant = owner; });

const post = (key: string, body: unknown) => t.request('POST', '/v1/intakes', { key, body });
/** A chain of `levels` items, each the only child of the one above. */
const chain = (levels: number): Record<string, unknown> => ({ linkId: `level-${levels}`, ...(levels > 1 ? { items: [chain(levels - 1)] } : { answer: [{ valueBoolean: true }] }) });
/** A coding projects as {system, code, display}: extensions (such as an ordinal value) are not shown. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const withoutCodingExtensions = ({ valueCoding, ...value }: any) => {
  if (!valueCoding) return value;
  const { extension: _extension, ...coding } = valueCoding;
  return { ...value, valueCoding: coding };
};
/** FHIR `item` / `answer.item` renamed `items`: what a stored tree projects to when every answer has a contract type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const simplifiedItems = (items: any[]): unknown[] => items.map(({ item, answer, ...rest }) => ({
  ...rest,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ...(answer ? { answer: answer.map(({ item: nested, ...value }: any) => ({ ...withoutCodingExtensions(value), ...(nested ? { items: simplifiedItems(nested) } : {}) })) } : {}),
  ...(item ? { items: simplifiedItems(item) } : {}),
}));
const recent = (value: string) => Math.abs(Date.now() - Date.parse(value)) < 60_000;

describe('intakes', () => {
  test('the contract example and every documented field are accepted, read back as sent, and stored as valid, tenant-tagged FHIR', async () => {
    const before = new Date().toISOString();
    for (const body of [NEW_PATIENT, FULL]) {
      const res = await post(tenant.keys.test, body);
      assert.equal(res.status, 201, res.body);
      const { authored, status, ...fields } = strip(res.json.data);
      const { authored: _authored, status: _status, ...sent } = body as Record<string, unknown>;
      assert.deepEqual(fields, sent);
      const { id } = res.json.data;
      assert.deepEqual((await t.request('GET', `/v1/intakes/${id}`, { key: tenant.keys.test })).json.data, res.json.data);
      const fhir = await readValidFhir(t, tenant.keys.test, 'QuestionnaireResponse', id);
      assertTenantTag(fhir, tenant.tenantId);
      assert.equal(fhir.subject.reference, `Patient/${body.patientId}`);
      if (body === NEW_PATIENT) {
        // Defaults: completed, authored now.
        assert.equal(status, 'completed');
        assert.ok(typeof authored === 'string' && authored >= before.slice(0, 19) && recent(authored), String(authored));
        assert.equal(fhir.status, 'completed');
        assert.equal(fhir.questionnaire, NEW_PATIENT.questionnaire);
        assert.deepEqual(fhir.item[0].answer, [{ valueCoding: { system: SNOMED, code: '266919005', display: 'Never smoker' } }]);
        assert.deepEqual(fhir.item[1].answer, [{ valueQuantity: { value: 98.6, unit: '°F' } }]);
      } else {
        assert.equal(status, FULL.status);
        assert.equal(authored, FULL.authored);
        assert.equal(fhir.questionnaire, 'Questionnaire/new-patient-intake');
        assert.deepEqual(fhir.encounter, { reference: 'Encounter/enc-1' });
        assert.deepEqual(fhir.author, { reference: 'Practitioner/prac-1' });
        assert.deepEqual(fhir.source, { reference: 'RelatedPerson/rp-1' });
        assert.deepEqual(fhir.basedOn, [{ reference: 'ServiceRequest/sr-1' }, { reference: 'CarePlan/cp-1' }]);
        assert.deepEqual(fhir.partOf, [{ reference: 'Procedure/proc-1' }, { reference: 'Observation/obs-1' }]);
        const smoking = fhir.item[0].item[0];
        assert.equal(fhir.item[0].definition, FULL.items[0].definition);
        assert.deepEqual(smoking.answer[0].item, [{ linkId: 'history.smoking.quit', answer: [{ valueDate: '2019-06-01' }] }]);
        assert.equal(smoking.answer[0].items, undefined);
        assert.deepEqual(fhir.item.slice(1, 8).map((item: { answer: unknown[] }) => item.answer[0]), FULL.items.slice(1, 8).map((item) => item.answer![0]));
        assert.deepEqual(fhir.item[8], { linkId: 'comments' });
      }
    }
  });

  test('validation: required fields, enums, limits, answer types, exactly one value per answer, nesting', async () => {
    const res = await post(tenant.keys.test, {
      status: 'done', authored: 'today', questionnaire: 'not a url', basedOn: ['Patient/p1'], authorId: 'Location/l1', mood: 'good',
      items: [
        { text: 'x'.repeat(2001), answer: [{ valueInteger: 1.5, valueString: '' }] },
        { linkId: 'a', answer: [{ valueDate: '2025-02-30' }, { valueTime: '25:00:00' }, { valueCoding: { display: 'No code' } }, { valueQuantity: { unit: 'kg' } }, { valueUri: 'nope' }, { valueColor: 'red' }, { valueCoding: { code: ' padded ' } }] },
        { linkId: 'b', items: [{ linkId: 'b.1', answer: [{ valueBoolean: 'yes' }], extra: 1 }] },
      ],
    });
    assert.equal(res.status, 422);
    const diagnostics = diagnosticsOf(res);
    for (const expected of [
      'patientId: Required', "status: Invalid enum value. Expected 'in-progress' | 'completed' | 'amended' | 'stopped'", 'authored: Invalid fhir-date-time',
      'questionnaire: Invalid input', 'basedOn.0: Invalid format', 'authorId: Invalid format', 'mood: Unrecognized field',
      'items.0.linkId: Required', 'items.0.text: String must contain at most 2000 character(s)', 'items.0.answer.0.valueInteger: Expected integer',
      'items.0.answer.0.valueString: String must contain at least 1 character(s)', 'items.1.answer.0.valueDate: Invalid date', 'items.1.answer.1.valueTime: Invalid format',
      'items.1.answer.2.valueCoding.code: Required', 'items.1.answer.3.valueQuantity.value: Required', 'items.1.answer.4.valueUri: Invalid uri',
      'items.1.answer.5.valueColor: Unrecognized field', 'items.1.answer.6.valueCoding.code: Invalid format', 'items.2.items.0.answer.0.valueBoolean: Expected boolean', 'items.2.items.0.extra: Unrecognized field',
    ]) assert.ok(diagnostics.includes(expected), `${expected} in ${diagnostics.join('; ')}`);
    assert.deepEqual(diagnosticsOf(await post(tenant.keys.test, { patientId: 'p' })), ['items: Required']);
    const empty = await post(tenant.keys.test, { patientId: 'p', items: [] });
    assert.deepEqual(diagnosticsOf(empty), ['items: Array must contain at least 1 element(s)']);
    const emptyNested = await post(tenant.keys.test, { patientId: 'p', items: [{ linkId: 'a', answer: [] }, { linkId: 'b', items: [] }] });
    assert.deepEqual(diagnosticsOf(emptyNested), ['items.0.answer: Array must contain at least 1 element(s)', 'items.1.items: Array must contain at least 1 element(s)']);

    const tooMany = await post(tenant.keys.test, { patientId: 'p', items: Array.from({ length: 201 }, (_, i) => ({ linkId: `q${i}` })) });
    assert.deepEqual(diagnosticsOf(tooMany), ['items: Array must contain at most 200 element(s)']);
    assert.equal((await post(tenant.keys.test, { patientId: 'p', items: Array.from({ length: 200 }, (_, i) => ({ linkId: `q${i}` })) })).status, 201);

    // Exactly one value[x] per answer: none, or two, is a 422 naming the answer.
    const values = await post(tenant.keys.test, {
      patientId: 'p',
      items: [{ linkId: 'a', answer: [{ valueString: 'x', valueBoolean: true }, {}, { valueInteger: 1 }] }, { linkId: 'b', answer: [{ items: [{ linkId: 'b.1' }] }] }],
    });
    assert.equal(values.status, 422);
    const exactlyOne = 'Exactly one of valueString, valueBoolean, valueInteger, valueDecimal, valueDate, valueDateTime, valueTime, valueCoding, valueQuantity, valueUri must be given';
    assert.deepEqual(diagnosticsOf(values), [`items.0.answer.0: ${exactlyOne}`, `items.0.answer.1: ${exactlyOne}`, `items.1.answer.0: ${exactlyOne}`]);

    // qrs-1: answers and child items are not both on one item.
    const both = await post(tenant.keys.test, { patientId: 'p', items: [{ linkId: 'a', answer: [{ valueBoolean: true }], items: [{ linkId: 'a.1' }] }] });
    assert.deepEqual(diagnosticsOf(both), ['items.0: An item has answer or items, not both (nest follow-up items under an answer)']);

    // Nesting: 10 levels are accepted, the 11th is refused where it is.
    assert.equal((await post(tenant.keys.test, { patientId: 'p', items: [chain(10)] })).status, 201);
    const deep = await post(tenant.keys.test, { patientId: 'p', items: [chain(11)] });
    assert.deepEqual(diagnosticsOf(deep), [`items${'.0.items'.repeat(10)}.0: Items may nest at most 10 levels deep`]);
    // Under an answer counts as a level too.
    const underAnswer = await post(tenant.keys.test, { patientId: 'p', items: [{ ...chain(9), linkId: 'top', items: undefined, answer: [{ valueBoolean: true, items: [chain(10)] }] }] });
    assert.deepEqual(diagnosticsOf(underAnswer), [`items.0.answer.0.items${'.0.items'.repeat(9)}.0: Items may nest at most 10 levels deep`]);

    // Total: 200 items of 5 children each is 1200 items.
    const wide = await post(tenant.keys.test, {
      patientId: 'p', items: Array.from({ length: 200 }, (_, i) => ({ linkId: `g${i}`, items: Array.from({ length: 5 }, (__, j) => ({ linkId: `g${i}.${j}` })) })),
    });
    assert.deepEqual(diagnosticsOf(wide), ['items: At most 1000 items in all, nested ones included']);
    const full = await post(tenant.keys.test, {
      patientId: 'p', items: Array.from({ length: 200 }, (_, i) => ({ linkId: `g${i}`, items: Array.from({ length: 4 }, (__, j) => ({ linkId: `g${i}.${j}` })) })),
    });
    assert.equal(full.status, 201, 'exactly 1000 items');
  });

  test('PATCH replaces items whole, merges status and authored, refuses patientId; DELETE then 404', async () => {
    const created = (await post(tenant.keys.test, FULL)).json.data;
    const items = [{ linkId: 'smoking', answer: [{ valueCoding: { system: SNOMED, code: '266919005', display: 'Never smoker' } }] }];
    const patched = await t.request('PATCH', `/v1/intakes/${created.id}`, {
      key: tenant.keys.test, contentType: 'application/json-patch+json', body: { status: 'amended', items, authored: '2025-01-16', encounterId: 'enc-2' },
    });
    assert.equal(patched.status, 200, patched.body);
    assert.deepEqual(strip(patched.json.data), { ...FULL, status: 'amended', items, authored: '2025-01-16', encounterId: 'enc-2' });
    const fhir = await readValidFhir(t, tenant.keys.test, 'QuestionnaireResponse', created.id);
    assert.equal(fhir.item.length, 1);

    const refused = await t.request('PATCH', `/v1/intakes/${created.id}`, { key: tenant.keys.test, body: { patientId: 'pt-else', status: 'stopped' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(diagnosticsOf(refused), ['patientId: Cannot be changed']);
    const twoValues = await t.request('PATCH', `/v1/intakes/${created.id}`, { key: tenant.keys.test, body: { items: [{ linkId: 'x', answer: [{ valueInteger: 1, valueDecimal: 1.5 }] }] } });
    assert.equal(twoValues.status, 422);
    assert.deepEqual((await t.request('GET', `/v1/intakes/${created.id}`, { key: tenant.keys.test })).json.data.items, items);

    await assertDeleted(t, tenant.keys.test, '/v1/intakes', created.id, { patch: { status: 'stopped' } });
  });

  test('filters (patientId, status, dateFrom/dateTo on authored) and sorts', async () => {
    const own = await t.createTenant();
    const create = async (body: object) => {
      const res = await post(own.keys.test, { items: [{ linkId: 'q', answer: [{ valueBoolean: true }] }], ...body });
      assert.equal(res.status, 201, res.body);
      return res.json.data.id as string;
    };
    // Search takes FHIR ids ([A-Za-z0-9-.]), so these ids have no underscore.
    const early = await create({ patientId: 'pt-1', authored: '2025-01-10T08:00:00Z' });
    const middle = await create({ patientId: 'pt-2', authored: '2025-01-15T12:00:00Z', status: 'in-progress' });
    const late = await create({ patientId: 'pt-1', authored: '2025-01-20', status: 'stopped' });
    const ids = idLister(t, own.keys.test, '/v1/intakes');
    const same = async (query: string, expected: string[]) => assert.deepEqual((await ids(query)).sort(), [...expected].sort(), query);
    await same('', [early, middle, late]);
    await same('patientId=pt-1', [early, late]);
    await same('patientId=pt-2', [middle]);
    await same('status=completed', [early]);
    await same('status=in-progress,stopped', [middle, late]);
    await same('status=stopped&patientId=pt-1', [late]);
    await same('dateFrom=2025-01-15', [middle, late]);
    await same('dateTo=2025-01-15', [early, middle]);
    await same('dateFrom=2025-01-11&dateTo=2025-01-19', [middle]);
    assert.deepEqual(await ids('sort=date'), [early, middle, late]);
    assert.deepEqual(await ids('sort=-date'), [late, middle, early]);
    assert.deepEqual(await ids('sort=-authored&patientId=pt-1'), [late, early]);
    assert.deepEqual(await ids('sort=-updatedAt&count=1'), [late]);
    // Without sort, newest authored first (contract: `-date` is the default), not newest created.
    const backdated = await create({ patientId: 'pt-3', authored: '2024-12-01' });
    assert.deepEqual(await ids(''), [late, middle, early, backdated]);
    assert.equal((await t.request('GET', '/v1/intakes?sort=items', { key: own.keys.test })).status, 400);
  });

  test('another tenant and the other environment get 404 and see nothing', async () => {
    const created = (await post(tenant.keys.test, { ...NEW_PATIENT, patientId: 'pt-isolated' })).json.data;
    await assertIsolated(t, {
      owner: tenant, path: '/v1/intakes', id: created.id, patch: { status: 'stopped' }, lists: ['/v1/intakes?patientId=pt-isolated', '/v1/intakes'], fhirType: 'QuestionnaireResponse',
    });
    assert.equal((await t.request('GET', '/v1/intakes?patientId=pt-isolated', { key: tenant.keys.test })).json.data.data.length, 1);
  });

  test('every official R4 QuestionnaireResponse example loads through FHIR and projects through the simplified API', async () => {
    const own = await t.createTenant();
    const examples = await officialR4Examples('QuestionnaireResponse');
    assert.equal(examples.length, 5);
    await loadR4Examples(t, own.keys.test, { fhirType: 'QuestionnaireResponse', path: '/v1/intakes' }, examples, async ({ file, id, resource: example }, read) => {
      const data = read.json.data;
      assert.equal(data.status, example.status, file);
      assert.equal(data.authored, example.authored, file);
      assert.deepEqual(data.items.map((item: { linkId: string }) => item.linkId), example.item.map((item: { linkId: string }) => item.linkId), file);
      if (id === 'gcs') {
        assert.equal(data.patientId, 'example');
        assert.equal(data.questionnaire, 'gcs');
        assert.equal(data.sourceId, 'Practitioner/f007');
        assert.deepEqual(data.items[0].answer, [{ valueCoding: { system: 'http://loinc.org', code: 'LA6560-2', display: 'Confused' } }]);
      }
      // Every answer in the examples has one of the contract's types, so the items project whole.
      assert.deepEqual(data.items, simplifiedItems(example.item), file);
      // A PATCH through the simplified API keeps the resource valid and leaves what it does not name alone.
      const patched = await t.request('PATCH', `/v1/intakes/${id}`, { key: own.keys.test, body: { status: 'amended', encounterId: 'enc-9' } });
      assert.equal(patched.status, 200, `${file}: ${patched.body}`);
      const fhir = await readValidFhir(t, own.keys.test, 'QuestionnaireResponse', id, file);
      assert.deepEqual(fhir.item, example.item, file);
      assert.deepEqual(fhir.identifier, example.identifier, file);
    });
    await assertListLength(t, own.keys.test, '/v1/intakes?count=100&sort=-date', examples.length);
  });

  test('property: canonical inputs round-trip simplified → FHIR → simplified unchanged', async () => {
    const own = await t.createTenant();
    const str = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 30) });
    const id = fc.stringMatching(/^[A-Za-z0-9\-_.]{1,20}$/);
    const dateTime = fc.constantFrom('2024', '2024-03', '2024-03-15', '2024-03-15T09:30:00Z', '2024-03-15T09:30:00.123+02:00');
    const decimal = fc.double({ min: -1e9, max: 1e9, noNaN: true }).filter((value) => !Object.is(value, -0));
    const answerValue = fc.oneof(
      str(5000).map((valueString) => ({ valueString })),
      fc.boolean().map((valueBoolean) => ({ valueBoolean })),
      fc.integer({ min: -2147483648, max: 2147483647 }).map((valueInteger) => ({ valueInteger })),
      decimal.map((valueDecimal) => ({ valueDecimal })),
      fc.constantFrom('2024-02-29', '1999-12-31').map((valueDate) => ({ valueDate })),
      dateTime.map((valueDateTime) => ({ valueDateTime })),
      fc.constantFrom('00:00:00', '23:59:59.5').map((valueTime) => ({ valueTime })),
      fc.record({ system: fc.constantFrom(SNOMED, 'urn:x'), code: fc.stringMatching(/^[A-Za-z0-9.-]{1,20}$/), display: str(500) }, { requiredKeys: ['code'] }).map((valueCoding) => ({ valueCoding })),
      fc.record({ value: decimal, unit: fc.constantFrom('°F', 'kg', 'mm[Hg]') }, { requiredKeys: ['value'] })
        .map((valueQuantity) => ({ valueQuantity })),
      fc.constantFrom('https://example.org/a', 'urn:uuid:1').map((valueUri) => ({ valueUri })),
    );
    const { item } = fc.letrec((tie) => ({
      item: fc.record({
        linkId: str(255),
        definition: fc.constantFrom('https://forms.example/q#1', 'urn:def'),
        text: str(2000),
        // qrs-1: answers or child items, never both.
        content: fc.oneof(
          { maxDepth: 3, depthIdentifier: 'item' },
          fc.constant({}),
          fc.array(fc.tuple(answerValue, fc.option(fc.array(tie('item'), { minLength: 1, maxLength: 2 }), { nil: undefined, maxDepth: 3, depthIdentifier: 'item' }))
            .map(([value, items]) => (items ? { ...value, items } : value)), { minLength: 1, maxLength: 3 }).map((answer) => ({ answer })),
          fc.array(tie('item'), { minLength: 1, maxLength: 2 }).map((items) => ({ items })),
        ),
      }, { requiredKeys: ['linkId', 'content'] }).map(({ content, ...rest }) => ({ ...rest, ...(content as object) })),
    }));
    const input = fc.record({
      patientId: id,
      items: fc.array(item, { minLength: 1, maxLength: 4 }),
      encounterId: id,
      authorId: fc.oneof(id, id.map((value) => `Device/${value}`)),
      sourceId: fc.oneof(id, id.map((value) => `Practitioner/${value}`)),
      questionnaire: fc.oneof(id, fc.constantFrom('https://forms.clinikapi.com/new-patient-intake', 'urn:uuid:5')),
      status: fc.constantFrom('in-progress', 'completed', 'amended', 'stopped'),
      authored: dateTime,
      basedOn: fc.array(fc.oneof(id, id.map((value) => `CarePlan/${value}`)), { minLength: 1, maxLength: 3 }),
      partOf: fc.array(fc.oneof(id, id.map((value) => `Procedure/${value}`)), { minLength: 1, maxLength: 3 }),
    }, { requiredKeys: ['patientId', 'items', 'status', 'authored'] }).map((body) => JSON.parse(JSON.stringify(body)));
    await fc.assert(fc.asyncProperty(input, async (body) => {
      const res = await post(own.keys.test, body);
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(strip(res.json.data), body);
      const read = await t.request('GET', `/v1/intakes/${res.json.data.id}`, { key: own.keys.test });
      assert.deepEqual(strip(read.json.data), body);
    }), { numRuns: 25 });
  });
});
