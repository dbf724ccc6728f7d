import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PUBLIC_URL, startTestApp, type Tenant, type TestApp } from '../helpers/app.js';
import { searchAllPages } from '../helpers/fhir-search.js';

/** Search semantics through HTTP: chains, _has, common parameters, modifiers, composites. */

const FHIR = 'application/fhir+json';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

let t: TestApp;
let tenant: Tenant;

/** Writes as the file's tenant, or as the holder of `key`. */
const put = async (resource: Record<string, unknown> & { resourceType: string; id: string }, key = tenant.keys.test) => {
  const res = await t.request('PUT', `/v1/fhir/${resource.resourceType}/${resource.id}`, { key, body: resource, contentType: FHIR });
  assert.ok(res.status === 200 || res.status === 201, res.body);
};

const search = (path: string, key = tenant.keys.test) => t.request('GET', `/v1/fhir/${path}`, { key });

/** The ids a search finds (as the file's tenant, or as the holder of `key`), sorted; fails on anything but 200. */
async function ids(path: string, key = tenant.keys.test): Promise<string[]> {
  const res = await search(path, key);
  assert.equal(res.status, 200, `${path}: ${res.body}`);
  return ((res.json.entry ?? []) as Array<{ resource: { id: string } }>).map((entry) => entry.resource.id).sort();
}

const quantity = (value: number, code: string) => ({ value, unit: code, system: UCUM, code });

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
  await put({ resourceType: 'Organization', id: 'org1', name: 'Acme Health' });
  await put({
    resourceType: 'Patient',
    id: 'pat1',
    active: true,
    name: [{ family: 'Chalmers', given: ['Peter'] }],
    address: [{ city: 'Zürich' }],
    identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'urn:mrn', value: '12345' }],
    managingOrganization: { reference: 'Organization/org1' },
    meta: { tag: [{ system: 'http://example.org/tags', code: 'vip' }], profile: ['http://example.org/fhir/StructureDefinition/pat'], security: [{ system: 'http://example.org/sec', code: 'R' }], source: 'http://example.org/src' },
  });
  await put({ resourceType: 'Patient', id: 'pat2', active: false, name: [{ family: 'chalmers', given: ['Anna'] }] });
  await put({
    resourceType: 'Observation',
    id: 'bp1',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '85354-9' }] },
    subject: { reference: 'Patient/pat1' },
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: quantity(120, 'mm[Hg]') },
      { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: quantity(80, 'mm[Hg]') },
    ],
  });
  await put({
    resourceType: 'Observation',
    id: 'wt1',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '29463-7' }] },
    subject: { reference: `${PUBLIC_URL}/v1/fhir/Patient/pat2` },
    valueQuantity: quantity(72000, 'g'),
  });
  await put({ resourceType: 'Observation', id: 'other1', status: 'final', code: { text: 'x' }, subject: { identifier: { system: 'urn:mrn', value: '999' } } });
  await put({ resourceType: 'Encounter', id: 'enc1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/pat1' } });
  await put({ resourceType: 'RiskAssessment', id: 'risk1', status: 'final', subject: { reference: 'Patient/pat1' }, prediction: [{ probabilityDecimal: 0.8 }] });
  await put({ resourceType: 'ValueSet', id: 'vs1', status: 'active', url: 'http://a.org/fhir/ValueSet/vs1' });
});
after(() => t.close());

describe('chaining and _has', () => {
  test('chains with a :Type modifier, an inferred type, and several levels', async () => {
    assert.deepEqual(await ids('Observation?subject:Patient.name=peter'), ['bp1']);
    assert.deepEqual(await ids('Observation?patient.name=chalmers'), ['bp1', 'wt1']);
    assert.deepEqual(await ids('Encounter?subject:Patient.organization.name=acme'), ['enc1']);
    assert.deepEqual(await ids('Encounter?subject:Patient.organization.name=other'), []);
    assert.deepEqual(await ids('Observation?patient._id=pat2'), ['wt1']);
  });

  test('without :Type, every target type with the parameter is searched; an ambiguous chain is a 400', async () => {
    await put({ resourceType: 'Location', id: 'loc1', name: 'Peterhouse' });
    await put({ resourceType: 'Observation', id: 'at-loc', status: 'final', code: { text: 'x' }, subject: { reference: 'Location/loc1' } });
    assert.deepEqual(await ids('Observation?subject.name=peter'), ['at-loc', 'bp1']);
    const res = await search('AdverseEvent?substance.manufacturer=acme');
    assert.equal(res.status, 400, res.body);
    assert.equal(res.json.resourceType, 'OperationOutcome');
  });

  test('_has, nested', async () => {
    assert.deepEqual(await ids(`Patient?_has:Observation:patient:code=${encodeURIComponent(`${LOINC}|85354-9`)}`), ['pat1']);
    assert.deepEqual(await ids('Patient?_has:Observation:patient:code=29463-7'), ['pat2']);
    assert.deepEqual(await ids('Organization?_has:Patient:organization:_has:Observation:patient:code=85354-9'), ['org1']);
    assert.deepEqual(await ids('Organization?_has:Patient:organization:_has:Observation:patient:code=29463-7'), []);
  });

  test('_has on one code reads the code\'s references: any coding, with or without a system, to the right target type, as of the current version', async () => {
    const own = await t.createTenant();
    const write = (resource: Record<string, unknown> & { resourceType: string; id: string }) => put(resource, own.keys.test);
    const found = (path: string) => ids(path, own.keys.test);
    const SNOMED = 'http://snomed.info/sct';
    await write({ resourceType: 'Patient', id: 'a' });
    await write({ resourceType: 'Patient', id: 'b' });
    await write({ resourceType: 'Group', id: 'a', type: 'person', actual: true });
    await write({ resourceType: 'Encounter', id: 'e', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/a' } });
    const observation = (id: string, subject: string, coding: Array<{ system?: string; code: string }>, extra: Record<string, unknown> = {}) =>
      write({ resourceType: 'Observation', id, status: 'final', code: { coding, text: 'shown' }, subject: { reference: subject }, ...extra });
    await observation('two-codings', 'Patient/b', [{ system: SNOMED, code: '123' }, { system: LOINC, code: '777-7' }]);
    await observation('no-system', 'Patient/a', [{ code: 'local1' }], { encounter: { reference: 'Encounter/e' } });
    await observation('of-group', 'Group/a', [{ system: LOINC, code: '999-9' }]);
    assert.deepEqual(await found('Patient?_has:Observation:subject:code=777-7'), ['b']);
    assert.deepEqual(await found(`Patient?_has:Observation:subject:code=${encodeURIComponent(`${SNOMED}|123`)}`), ['b']);
    assert.deepEqual(await found(`Patient?_has:Observation:subject:code=${encodeURIComponent(`${LOINC}|123`)}`), []);
    assert.deepEqual(await found('Patient?_has:Observation:subject:code=local1'), ['a']);
    assert.deepEqual(await found(`Patient?_has:Observation:subject:code=${encodeURIComponent('|local1')}`), ['a']);
    assert.deepEqual(await found(`Patient?_has:Observation:subject:code=${encodeURIComponent(`${LOINC}|local1`)}`), []);
    assert.deepEqual(await found('Patient?_has:Observation:subject:code=shown'), [], 'the text is no code');
    // The same id under another type is another target.
    assert.deepEqual(await found('Patient?_has:Observation:subject:code=999-9'), []);
    assert.deepEqual(await found('Group?_has:Observation:subject:code=999-9'), ['a']);
    assert.deepEqual(await found('Encounter?_has:Observation:encounter:code=local1'), ['e']);
    assert.deepEqual(await found('Encounter?_has:Observation:encounter:code=777-7'), []);
    // A new version's codes replace the old ones; a deleted resource has none.
    await observation('two-codings', 'Patient/b', [{ system: LOINC, code: '888-8' }]);
    assert.deepEqual(await found('Patient?_has:Observation:subject:code=777-7'), []);
    assert.deepEqual(await found('Patient?_has:Observation:subject:code=888-8'), ['b']);
    assert.equal((await t.request('DELETE', '/v1/fhir/Observation/no-system', { key: own.keys.test })).status, 204);
    assert.deepEqual(await found('Patient?_has:Observation:subject:code=local1'), []);
    // Another tenant's patient of the same id is not the target of these references.
    const other = await t.createTenant();
    await put({ resourceType: 'Patient', id: 'b' }, other.keys.test);
    assert.deepEqual(await ids('Patient?_has:Observation:subject:code=888-8', other.keys.test), []);
  });
});

describe('common parameters', () => {
  test('_tag, _profile, _security and _source', async () => {
    assert.deepEqual(await ids(`Patient?_tag=${encodeURIComponent('http://example.org/tags|vip')}`), ['pat1']);
    assert.deepEqual(await ids(`Patient?_profile=${encodeURIComponent('http://example.org/fhir/StructureDefinition/pat')}`), ['pat1']);
    assert.deepEqual(await ids(`Patient?_security=${encodeURIComponent('http://example.org/sec|R')}`), ['pat1']);
    assert.deepEqual(await ids(`Patient?_source=${encodeURIComponent('http://example.org/src')}`), ['pat1']);
  });

  test('the tenant tag is never indexed, so never matched', async () => {
    assert.deepEqual(await ids(`Patient?_tag=${encodeURIComponent(`https://clinikapi.com/tenant|${tenant.tenantId}`)}`), []);
    assert.deepEqual(await ids(`Patient?_tag=${encodeURIComponent('https://clinikapi.com/tenant|')}`), []);
    assert.deepEqual(await ids('Patient?_tag:missing=true'), ['pat2']);
  });
});

describe('references', () => {
  test('our own absolute base matches local references and the reverse; :Type and :identifier', async () => {
    assert.deepEqual(await ids(`Observation?subject=${encodeURIComponent(`${PUBLIC_URL}/v1/fhir/Patient/pat1`)}`), ['bp1']);
    assert.deepEqual(await ids('Observation?subject=Patient/pat2'), ['wt1']);
    assert.deepEqual(await ids('Observation?subject:Patient=pat1'), ['bp1']);
    assert.deepEqual(await ids(`Observation?subject:identifier=${encodeURIComponent('urn:mrn|999')}`), ['other1']);
  });
});

describe('modifiers', () => {
  test('string :exact is case sensitive, :contains matches inside; address parts are indexed', async () => {
    assert.deepEqual(await ids('Patient?family:exact=Chalmers'), ['pat1']);
    assert.deepEqual(await ids('Patient?family:exact=chalmers'), ['pat2']);
    assert.deepEqual(await ids('Patient?family:contains=ALM'), ['pat1', 'pat2']);
    assert.deepEqual(await ids('Patient?address-city=zurich'), ['pat1']);
    assert.deepEqual(await ids(`Patient?address-city:exact=${encodeURIComponent('Zürich')}`), ['pat1']);
  });

  test('token :of-type, :not, booleans; :in is a clear 400', async () => {
    assert.deepEqual(await ids(`Patient?identifier:of-type=${encodeURIComponent('http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345')}`), ['pat1']);
    assert.deepEqual(await ids(`Patient?identifier:of-type=${encodeURIComponent('http://terminology.hl7.org/CodeSystem/v2-0203|SS|12345')}`), []);
    assert.deepEqual(await ids('Patient?active=true'), ['pat1']);
    assert.deepEqual(await ids('Patient?active:not=true'), ['pat2']);
    const res = await search('Observation?code:in=http://example.org/vs');
    assert.equal(res.status, 400);
    assert.match(res.body, /ValueSet/);
  });

  test('uri :below and :above', async () => {
    assert.deepEqual(await ids('ValueSet?url:below=http://a.org/fhir'), ['vs1']);
    assert.deepEqual(await ids('ValueSet?url:below=http://a.org/fh'), []);
    assert.deepEqual(await ids('ValueSet?url:above=http://a.org/fhir/ValueSet/vs1/_history/2'), ['vs1']);
    assert.deepEqual(await ids('ValueSet?url:above=http://a.org/fhir'), []);
  });
});

describe('composite, number and quantity', () => {
  test('composite parts match within one component', async () => {
    const query = (value: string) => `Observation?component-code-value-quantity=${encodeURIComponent(value)}`;
    assert.deepEqual(await ids(query(`${LOINC}|8480-6$gt100`)), ['bp1']);
    assert.deepEqual(await ids(query(`${LOINC}|8462-4$gt100`)), [], 'the diastolic component is 80');
    assert.deepEqual(await ids(query(`${LOINC}|8462-4$lt100|${UCUM}|mm[Hg]`)), ['bp1']);
    assert.deepEqual(await ids(`Observation?code-value-quantity=${encodeURIComponent(`${LOINC}|29463-7$ge72|${UCUM}|kg`)}`), ['wt1']);
  });

  test('a composite with a reference part, in the definition\'s component order (relatesto, relation)', async () => {
    await put({
      resourceType: 'DocumentReference', id: 'doc2', status: 'current', content: [{ attachment: { contentType: 'text/plain', data: 'eA==' } }],
      relatesTo: [{ code: 'appends', target: { reference: 'DocumentReference/doc1' } }, { code: 'replaces', target: { reference: 'DocumentReference/doc0' } }],
    });
    assert.deepEqual(await ids('DocumentReference?relationship=DocumentReference/doc1$appends'), ['doc2']);
    assert.deepEqual(await ids('DocumentReference?relationship=DocumentReference/doc0$appends'), [], 'doc0 is replaced, not appended');
  });

  test('number sa / eb', async () => {
    assert.deepEqual(await ids('RiskAssessment?probability=sa0.5'), ['risk1']);
    assert.deepEqual(await ids('RiskAssessment?probability=eb0.5'), []);
    assert.deepEqual(await ids('RiskAssessment?probability=eb0.9'), ['risk1']);
    assert.deepEqual(await ids('RiskAssessment?probability=sa0.8'), []);
  });
});

describe('sorting a whole type on a parameter (read from the sort index)', () => {
  let own: Tenant;
  const observation = (id: string, extra: Record<string, unknown>) => ({ resourceType: 'Observation', id, status: 'final', code: { text: 'sorted' }, ...extra });
  // A reference elsewhere is kept whole, and its sort key cut: 3,000 characters that do not
  // compress would not fit an entry of the text sort index, and the write would fail.
  let seed = 7;
  const noise = Array.from({ length: 3000 }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(seed / 65536) % 36];
  }).join('');
  const elsewhere = { reference: `http://elsewhere.example/fhir/Patient/${noise}` };

  before(async () => {
    own = await t.createTenant();
    const other = await t.createTenant();
    await put(observation('s-a', { effectiveDateTime: '2020-01-01', valueQuantity: quantity(5, 'mg'), subject: { reference: 'Patient/zed' } }), own.keys.test);
    await put(observation('s-b', { effectivePeriod: { start: '2019-06-01', end: '2021-01-01' }, valueQuantity: quantity(7, 'mg'), subject: elsewhere }), own.keys.test);
    await put(observation('s-c', { effectiveDateTime: '2020-01-01', subject: { reference: 'Patient/abc' } }), own.keys.test);
    await put(observation('s-d', { valueQuantity: quantity(1, 'mg') }), own.keys.test);
    await put(observation('s-e', {}), own.keys.test);
    await put(observation('s-f', { effectiveDateTime: '2018-01-01', valueQuantity: quantity(3, 'mg'), subject: { reference: 'Patient/aaa' } }), own.keys.test);
    const deleted = await t.request('DELETE', '/v1/fhir/Observation/s-f', { key: own.keys.test });
    assert.equal(deleted.status, 204);
    await put(observation('s-g', { effectiveDateTime: '2000-01-01', valueQuantity: quantity(0.5, 'mg'), subject: { reference: 'Patient/aaa' } }), other.keys.test);
  });

  const cases: Array<[string, string[], string]> = [
    ['_sort=date', ['s-b', 's-a', 's-c', 's-d', 's-e'], 'by start: 2019-06-01, then 2020-01-01 twice (by id); no date last, by id'],
    ['_sort=-date', ['s-b', 's-c', 's-a', 's-e', 's-d'], "by end: s-b's period ends 2021; the 2020-01-01 pair by id descending; no date last, by id descending"],
    ['_sort=date,_id', ['s-b', 's-a', 's-c', 's-d', 's-e'], 'the same as _sort=date'],
    ['_sort=value-quantity', ['s-d', 's-a', 's-b', 's-c', 's-e'], '1, 5, 7 mg; no value last'],
    ['_sort=-value-quantity', ['s-b', 's-a', 's-d', 's-e', 's-c'], '7, 5, 1 mg; no value last, by id descending'],
    ['_sort=subject', ['s-c', 's-b', 's-a', 's-d', 's-e'], 'by target id or URL: abc, http://elsewhere…, zed; no subject last'],
    ['_sort=-subject,-_id', ['s-a', 's-b', 's-c', 's-e', 's-d'], 'zed, http://elsewhere…, abc; no subject last, by id descending'],
  ];
  for (const [query, expected, why] of cases) {
    test(`${query}: ${why}; the deleted one and another tenant's never appear`, async () => {
      for (const count of [1, 2, 3, 5]) {
        const walk = await searchAllPages(t, own.keys.test, `Observation?${query}&_count=${count}`);
        assert.deepEqual(walk.entries, expected.map((id) => `Observation/${id}`), `_count=${count}`);
        assert.equal(walk.pages.length, Math.ceil(expected.length / count), `_count=${count}: no empty last page`);
      }
    });
  }
});

describe('dates as ranges', () => {
  // Encounter period 2013-04-10 … 2013-04-20 (whole days), searched with partial and full dates.
  before(async () => {
    await put({ resourceType: 'Encounter', id: 'enc-april', status: 'finished', class: { code: 'AMB' }, period: { start: '2013-04-10', end: '2013-04-20' } });
  });
  const cases: Array<[string, boolean]> = [
    ['2013-04', true], // eq: the month contains the period
    ['eq2013-04-15', false], // the day does not contain it
    ['ne2013-04', false],
    ['ne2013-04-15', true],
    ['ap2013-04-15', true],
    ['gt2013-04-15', true], // the period goes on after the 15th
    ['gt2013-04-20', false],
    ['lt2013-04-10', false],
    ['lt2013-04-11', true],
    // ge/le are the spec's literal rules: gt or eq, lt or eq. A period ending on the 20th has
    // nothing above the 20th and is not contained in it, so ge2013-04-20 does not match it.
    ['ge2013-04-20', false],
    ['ge2013-04-19', true],
    ['le2013-04-10', false],
    ['le2013-04-11', true],
    ['sa2013-04-09', true], // starts after the 9th
    ['sa2013-04-10', false],
    ['eb2013-04-21', true], // ends before the 21st
    ['eb2013-04-20', false],
    ['2013', true],
    ['gt2013', false],
  ];
  for (const [value, matches] of cases) {
    test(`date=${value} ${matches ? 'matches' : 'does not match'}`, async () => {
      assert.deepEqual(await ids(`Encounter?_id=enc-april&date=${value}`), matches ? ['enc-april'] : []);
    });
  }
});

describe('quantities: UCUM canonical, with a fallback as written', () => {
  before(async () => {
    await put({ resourceType: 'Observation', id: 'hb1', status: 'final', code: { text: 'Hb' }, valueQuantity: { value: 7.2, unit: 'g/dL', system: UCUM, code: 'g/dL' } });
    await put({ resourceType: 'Observation', id: 'glu1', status: 'final', code: { text: 'glucose' }, valueQuantity: { value: 28, unit: 'mmol/L', system: 'http://snomed.info/sct', code: '258813002' } });
  });

  test('compound units convert (g/dL, mg/dL, g/L)', async () => {
    assert.deepEqual(await ids(`Observation?value-quantity=${encodeURIComponent(`72|${UCUM}|g/L`)}`), ['hb1']);
    assert.deepEqual(await ids(`Observation?value-quantity=${encodeURIComponent(`7200|${UCUM}|mg/dL`)}`), ['hb1']);
    assert.deepEqual(await ids(`Observation?value-quantity=${encodeURIComponent(`72|${UCUM}|mg/dL`)}`), []);
  });

  test('a row without a canonical unit matches its code or unit as written', async () => {
    assert.deepEqual(await ids(`Observation?value-quantity=${encodeURIComponent('28||mmol/L')}`), ['glu1']);
    assert.deepEqual(await ids(`Observation?value-quantity=${encodeURIComponent('29||mmol/L')}`), []);
  });
});
