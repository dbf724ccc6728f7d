import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { DATE_MAX, DATE_MIN, dateRange } from '../../src/fhir/indexing/dates.js';
import { INDEX_VERSION, indexResource } from '../../src/fhir/indexing/index.js';
import { parseReference } from '../../src/fhir/indexing/references.js';
import { canonicalizeQuantity, decimalRange } from '../../src/fhir/units.js';
import type { IndexRows } from '../../src/store/index-rows.js';

/** This test server's FHIR base: absolute references under it are local. */
const FHIR_BASE = 'http://clinik.test/v1/fhir';
const indexed = (resource: Resource) => indexResource(resource, FHIR_BASE);

/** The shared fixtures, read in place (never copied into the repository). */
const FIXTURES = new URL('../../../shared/fixtures/', import.meta.url);
const EXAMPLES = new URL('fhir-r4-examples/resources/', FIXTURES);
const SYNTHEA = new URL('synthea-r4/', FIXTURES);

function example(file: string): Resource {
  return JSON.parse(readFileSync(new URL(file, EXAMPLES), 'utf8')) as Resource;
}

function syntheaBundle(file: string): Bundle {
  return JSON.parse(readFileSync(new URL(file, SYNTHEA), 'utf8')) as Bundle;
}

function syntheaFiles(): string[] {
  return readdirSync(SYNTHEA)
    .filter((f) => f.endsWith('.json') && f !== 'index.json' && !f.startsWith('_'))
    .sort();
}

type Kind = 'token' | 'string' | 'reference' | 'uri' | 'date' | 'number' | 'quantity';

function rowsOf<K extends Kind>(rows: IndexRows, kind: K, param: string): IndexRows[K] {
  return (rows[kind] as { param: string }[]).filter((r) => r.param === param) as IndexRows[K];
}

function strings(rows: IndexRows, param: string): string[] {
  return rowsOf(rows, 'string', param).map((r) => r.value).sort();
}

describe('indexResource: Patient-example (official R4 example)', () => {
  const rows = indexed(example('Patient-example.json'));

  it('has an integer INDEX_VERSION', () => {
    assert.ok(Number.isInteger(INDEX_VERSION) && INDEX_VERSION >= 1);
  });

  it('indexes name parts as separate normalised strings', () => {
    assert.deepEqual(strings(rows, 'family'), ['chalmers', 'windsor']);
    assert.deepEqual(strings(rows, 'given'), ['james', 'jim', 'peter']);
    assert.deepEqual(strings(rows, 'name'), ['chalmers', 'james', 'jim', 'peter', 'windsor']);
    for (const row of rows.string) assert.equal(row.value, row.value.toLowerCase());
  });

  it('indexes address parts', () => {
    assert.deepEqual(strings(rows, 'address-city'), ['pleasantville']);
    assert.deepEqual(strings(rows, 'address-postalcode'), ['3999']);
    assert.ok(strings(rows, 'address').includes('534 erewhon st'));
    assert.ok(strings(rows, 'address').includes('rainbow'), 'district');
  });

  it('indexes birthDate as the whole day in UTC', () => {
    assert.deepEqual(rowsOf(rows, 'date', 'birthdate'), [
      { param: 'birthdate', grp: 0, low: '1974-12-25T00:00:00.000Z', high: '1974-12-25T23:59:59.999Z' },
    ]);
  });

  it('indexes gender, active and identifier tokens', () => {
    assert.deepEqual(rowsOf(rows, 'token', 'gender'), [{ param: 'gender', grp: 0, system: '', code: 'male', display: null, typeSystem: null, typeCode: null }]);
    assert.deepEqual(rowsOf(rows, 'token', 'active'), [{ param: 'active', grp: 0, system: '', code: 'true', display: null, typeSystem: null, typeCode: null }]);
    assert.deepEqual(rowsOf(rows, 'token', 'identifier'), [
      { param: 'identifier', grp: 0, system: 'urn:oid:1.2.36.146.595.217.0.1', code: '12345', display: null, typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', typeCode: 'MR' },
    ]);
  });

  it('indexes ContactPoint values as tokens, filtered by the phone expression', () => {
    const phones = rowsOf(rows, 'token', 'phone').map((r) => r.code).sort();
    assert.deepEqual(phones, ['(03) 3410 5613', '(03) 5555 6473', '(03) 5555 8834']);
    assert.equal(rowsOf(rows, 'token', 'email').length, 0);
  });

  it('indexes the managing organization reference', () => {
    assert.deepEqual(rowsOf(rows, 'reference', 'organization'), [
      { param: 'organization', grp: 0, targetType: 'Organization', targetId: '1', reference: null, identifierSystem: null, identifierValue: null },
    ]);
  });

  it('lists the parameters with values, without the resource-row ones', () => {
    for (const code of ['family', 'given', 'birthdate', 'gender', 'identifier', 'organization', 'active']) {
      assert.ok(rows.params.includes(code), code);
    }
    for (const code of ['_id', '_lastUpdated', 'general-practitioner', 'email', 'death-date']) {
      assert.ok(!rows.params.includes(code), code);
    }
    assert.ok(!rows.token.some((r) => r.param === '_id'));
  });

  it('writes one sort row per parameter', () => {
    const family = rows.sort.find((s) => s.param === 'family');
    assert.deepEqual(family, { param: 'family', ascText: 'chalmers', descText: 'windsor', ascNumber: null, descNumber: null, ascDate: null, descDate: null });
    const birthdate = rows.sort.find((s) => s.param === 'birthdate');
    assert.equal(birthdate?.ascDate, '1974-12-25T00:00:00.000Z');
    assert.equal(birthdate?.descDate, '1974-12-25T23:59:59.999Z');
    assert.equal(new Set(rows.sort.map((s) => s.param)).size, rows.sort.length);
  });

  it('cuts text sort keys to 500 code points, so that each fits an index entry', () => {
    // A reference elsewhere keeps its whole URL, and a code up to 2,000 bytes: neither fits a sort key.
    const far = `http://elsewhere.example/fhir/Patient/${'x'.repeat(3000)}`;
    const code = '\u{1F600}'.repeat(499) + 'ab';
    const observation = { resourceType: 'Observation', status: 'final', code: { coding: [{ code }] }, subject: { reference: far } } as Resource;
    const sorts = indexed(observation).sort;
    const subject = sorts.find((s) => s.param === 'subject');
    assert.equal(subject?.ascText, far.slice(0, 500));
    assert.equal(subject?.descText, far.slice(0, 500));
    const coded = sorts.find((s) => s.param === 'code');
    assert.equal(coded?.ascText, '\u{1F600}'.repeat(499) + 'a');
    assert.ok(Buffer.byteLength(coded!.ascText!, 'utf8') <= 2000);
  });
});

describe('indexResource: references', () => {
  it('indexes general-practitioner of Patient-glossy', () => {
    const rows = indexed(example('Patient-glossy.json'));
    assert.deepEqual(rowsOf(rows, 'reference', 'general-practitioner'), [
      { param: 'general-practitioner', grp: 0, targetType: 'Practitioner', targetId: 'example', reference: null, identifierSystem: null, identifierValue: null },
    ]);
    assert.equal(rowsOf(rows, 'reference', 'organization')[0]?.targetId, '2');
  });

  it('handles absolute, versioned, urn, contained, identifier and unknown-type references', () => {
    const rows = indexed({
      resourceType: 'Patient',
      generalPractitioner: [
        { reference: 'https://fhir.example.org/r4/Practitioner/pr1/_history/3' },
        { reference: `${FHIR_BASE}/Practitioner/pr2` },
        { reference: 'urn:uuid:4b7e2c3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c' },
        { reference: '#c1' },
        { identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: '9999' } },
        { display: 'display only' },
      ],
      managingOrganization: { reference: 'Organization/o1/_history/2' },
    } as Resource);
    const gp = rowsOf(rows, 'reference', 'general-practitioner');
    assert.deepEqual(gp, [
      // Another server's Practitioner: only the literal; one on this server's base: a local target.
      { param: 'general-practitioner', grp: 0, targetType: null, targetId: null, reference: 'https://fhir.example.org/r4/Practitioner/pr1/_history/3', identifierSystem: null, identifierValue: null },
      { param: 'general-practitioner', grp: 0, targetType: 'Practitioner', targetId: 'pr2', reference: `${FHIR_BASE}/Practitioner/pr2`, identifierSystem: null, identifierValue: null },
      { param: 'general-practitioner', grp: 0, targetType: null, targetId: null, reference: 'urn:uuid:4b7e2c3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c', identifierSystem: null, identifierValue: null },
      { param: 'general-practitioner', grp: 0, targetType: null, targetId: null, reference: '#c1', identifierSystem: null, identifierValue: null },
      { param: 'general-practitioner', grp: 0, targetType: null, targetId: null, reference: null, identifierSystem: 'http://hl7.org/fhir/sid/us-npi', identifierValue: '9999' },
    ]);
    assert.deepEqual(rowsOf(rows, 'reference', 'organization').map((r) => [r.targetType, r.targetId, r.reference]), [
      ['Organization', 'o1', 'Organization/o1/_history/2'],
    ]);
    assert.deepEqual(parseReference('Foo/1'), { targetType: null, targetId: null, reference: 'Foo/1' });
  });

  it('keeps only the branch of a shared parameter that resolves to the right type', () => {
    const rows = indexed({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `${FHIR_BASE}/Patient/p9` },
    } as Resource);
    assert.deepEqual(rowsOf(rows, 'reference', 'patient').map((r) => r.targetId), ['p9']);
    // On another server the type still decides the branch, but the target is only the literal.
    const foreign = indexed({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'http://example.org/fhir/Patient/p9' } } as Resource);
    assert.deepEqual(rowsOf(foreign, 'reference', 'patient').map((r) => [r.targetId, r.reference]), [[null, 'http://example.org/fhir/Patient/p9']]);
    const onGroup = indexed({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Group/g1' } } as Resource);
    assert.equal(rowsOf(onGroup, 'reference', 'patient').length, 0);
    assert.equal(rowsOf(onGroup, 'reference', 'subject')[0]?.targetId, 'g1');
  });

  it('indexes canonical values of reference parameters without their version', () => {
    const rows = indexed({ resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'http://example.org/Questionnaire/q1|2.0' } as Resource);
    assert.deepEqual(rowsOf(rows, 'reference', 'questionnaire'), [
      { param: 'questionnaire', grp: 0, targetType: null, targetId: null, reference: 'http://example.org/Questionnaire/q1', identifierSystem: null, identifierValue: null },
    ]);
  });
});

describe('indexResource: Observations', () => {
  it('indexes valueQuantity with its precision range and canonical value (Observation-example, 185 [lb_av])', () => {
    const rows = indexed(example('Observation-example.json'));
    assert.deepEqual(rowsOf(rows, 'quantity', 'value-quantity'), [
      {
        param: 'value-quantity', grp: 0, value: '185', low: '184.5', high: '185.5',
        system: 'http://unitsofmeasure.org', code: '[lb_av]', unit: 'lbs', canonicalValue: '83914.58845', canonicalCode: 'g', leadSystem: null, leadCode: null,
      },
    ]);
    const code = rowsOf(rows, 'token', 'code');
    assert.ok(code.some((r) => r.system === 'http://loinc.org' && r.code === '29463-7' && r.display === 'body weight'));
    assert.deepEqual(rowsOf(rows, 'date', 'date'), [{ param: 'date', grp: 0, low: '2016-03-28T00:00:00.000Z', high: '2016-03-28T23:59:59.999Z' }]);
    assert.equal(rows.sort.find((s) => s.param === 'value-quantity')?.ascNumber, '83914.58845');
  });

  it('converts Celsius to kelvin (Observation-body-temperature)', () => {
    const rows = indexed(example('Observation-body-temperature.json'));
    const [q] = rowsOf(rows, 'quantity', 'value-quantity');
    assert.equal(q.value, '36.5');
    assert.equal(q.canonicalValue, '309.65');
    assert.equal(q.canonicalCode, 'K');
    assert.equal(q.low, '36.45');
  });

  it('links the parts of component-code-value-quantity by grp (Observation-blood-pressure)', () => {
    const rows = indexed(example('Observation-blood-pressure.json'));
    const codes = rows.token.filter((r) => r.param === 'component-code-value-quantity#0');
    const values = rows.quantity.filter((r) => r.param === 'component-code-value-quantity#1');
    const systolicGrp = codes.find((r) => r.system === 'http://loinc.org' && r.code === '8480-6')?.grp;
    const diastolicGrp = codes.find((r) => r.system === 'http://loinc.org' && r.code === '8462-4')?.grp;
    assert.ok(systolicGrp && systolicGrp > 0);
    assert.ok(diastolicGrp && diastolicGrp > 0);
    assert.notEqual(systolicGrp, diastolicGrp);
    // Each value once per coding of its component's code, that coding as its lead (migration 008).
    for (const [grp, value] of [[systolicGrp, '107'], [diastolicGrp, '60']] as const) {
      const leads = codes.filter((r) => r.grp === grp).map((r) => `${r.system}|${r.code}`).sort();
      const group = values.filter((r) => r.grp === grp);
      assert.deepEqual(group.map((r) => `${r.leadSystem}|${r.leadCode}`).sort(), leads);
      assert.deepEqual([...new Set(group.map((r) => `${r.value} ${r.code}`))], [`${value} mm[Hg]`]);
    }
    assert.equal(codes.filter((r) => r.grp === systolicGrp).length, 3, 'the example codes systolic pressure in three systems');
    assert.equal(values.length, codes.length);
    // every row of another composite uses other groups
    const otherGroups = new Set(rows.token.filter((r) => r.param === 'combo-code-value-quantity#0').map((r) => r.grp));
    assert.ok(!otherGroups.has(systolicGrp));
    assert.ok(rows.params.includes('component-code-value-quantity'));
    assert.ok(!rows.params.some((p) => p.includes('#')));
    // the Observation itself has no value: code-value-quantity has no group
    assert.equal(rows.token.filter((r) => r.param === 'code-value-quantity#0').length, 0);
    assert.ok(!rows.params.includes('code-value-quantity'));
    // plain component parameters
    assert.deepEqual(rowsOf(rows, 'quantity', 'component-value-quantity').map((r) => r.value).sort(), ['107', '60']);
  });

  it('gives a SampledData value no quantity, so code&value-quantity equals code-value-quantity (plan.ts, IMPLIED_COMPOSITES)', () => {
    const sampled = {
      resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '131328' }] },
      valueSampledData: { origin: { value: 2750, system: 'http://unitsofmeasure.org', code: 'uV' }, period: 10, dimensions: 1, data: '2041 2043 2037' },
    } as Resource;
    const rows = indexed(sampled);
    assert.equal(rowsOf(rows, 'token', 'code').length, 1);
    assert.deepEqual(rowsOf(rows, 'quantity', 'value-quantity'), []);
    assert.equal(rows.quantity.length, 0);
    assert.ok(!rows.params.includes('code-value-quantity'));
  });

  it('indexes CodeableConcept text as a text-only token', () => {
    const rows = indexed({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1234-5', display: 'Héllo Wörld' }], text: 'Free TEXT' } } as Resource);
    assert.deepEqual(rowsOf(rows, 'token', 'code'), [
      { param: 'code', grp: 0, system: 'http://loinc.org', code: '1234-5', display: 'hello world', typeSystem: null, typeCode: null },
      { param: 'code', grp: 0, system: '', code: null, display: 'free text', typeSystem: null, typeCode: null },
    ]);
  });

  it('fixes the swapped R4 component expressions of DocumentReference relationship', () => {
    const rows = indexed(example('DocumentReference-example.json'));
    const target = rows.reference.filter((r) => r.param === 'relationship#0');
    const relation = rows.token.filter((r) => r.param === 'relationship#1');
    assert.deepEqual(target.map((r) => [r.targetType, r.targetId, r.grp]), [['DocumentReference', 'example', 1]]);
    assert.deepEqual(relation.map((r) => [r.code, r.grp]), [['appends', 1]]);
  });
});

describe('indexResource: dates', () => {
  it('expands partial dates to their range', () => {
    assert.deepEqual(dateRange('2024'), { low: '2024-01-01T00:00:00.000Z', high: '2024-12-31T23:59:59.999Z' });
    assert.deepEqual(dateRange('2024-02'), { low: '2024-02-01T00:00:00.000Z', high: '2024-02-29T23:59:59.999Z' });
    assert.deepEqual(dateRange('2023-02'), { low: '2023-02-01T00:00:00.000Z', high: '2023-02-28T23:59:59.999Z' });
    assert.deepEqual(dateRange('2024-03-05'), { low: '2024-03-05T00:00:00.000Z', high: '2024-03-05T23:59:59.999Z' });
    assert.deepEqual(dateRange('2024-12-31T23:59+00:00'), { low: '2024-12-31T23:59:00.000Z', high: '2024-12-31T23:59:59.999Z' });
    assert.deepEqual(dateRange('2024-03-05T10:30:15+02:00'), { low: '2024-03-05T08:30:15.000Z', high: '2024-03-05T08:30:15.999Z' });
    assert.deepEqual(dateRange('2024-03-05T01:00:00.5-05:00'), { low: '2024-03-05T06:00:00.500Z', high: '2024-03-05T06:00:00.599Z' });
    assert.deepEqual(dateRange('2024-03-05T10:30:15.1234Z'), { low: '2024-03-05T10:30:15.123Z', high: '2024-03-05T10:30:15.123Z' });
    assert.deepEqual(dateRange('0050-06'), { low: '0050-06-01T00:00:00.000Z', high: '0050-06-30T23:59:59.999Z' });
    for (const bad of ['2024-13', '2023-02-29', '2024-03-05T25:00Z', 'yesterday', '', '2024-3-5']) {
      assert.equal(dateRange(bad), undefined, bad);
    }
  });

  it('indexes partial birth dates, Periods with open ends and the outer limits of a Timing', () => {
    const patient = indexed({ resourceType: 'Patient', birthDate: '1974-06' } as Resource);
    assert.deepEqual(rowsOf(patient, 'date', 'birthdate').map((r) => [r.low, r.high]), [['1974-06-01T00:00:00.000Z', '1974-06-30T23:59:59.999Z']]);

    const encounter = indexed({ resourceType: 'Encounter', status: 'in-progress', class: { code: 'AMB' }, period: { start: '2024-03' } } as Resource);
    assert.deepEqual(rowsOf(encounter, 'date', 'date').map((r) => [r.low, r.high]), [['2024-03-01T00:00:00.000Z', DATE_MAX]]);
    const ended = indexed({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { end: '2024-03-05T10:00:00Z' } } as Resource);
    assert.deepEqual(rowsOf(ended, 'date', 'date').map((r) => [r.low, r.high]), [[DATE_MIN, '2024-03-05T10:00:00.999Z']]);

    const request = indexed({
      resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' },
      medicationCodeableConcept: { text: 'x' }, dosageInstruction: [{ timing: { event: ['2024-01-02', '2024-01-03T08:00:00Z'] } }],
    } as Resource);
    // The expression selects the events themselves (timing.event): one range each.
    assert.deepEqual(rowsOf(request, 'date', 'date').map((r) => [r.low, r.high]), [
      ['2024-01-02T00:00:00.000Z', '2024-01-02T23:59:59.999Z'],
      ['2024-01-03T08:00:00.000Z', '2024-01-03T08:00:00.999Z'],
    ]);
    // A whole Timing: "only the outer limits matter" (FHIR R4 search, date), events and repeat bounds.
    const plan = indexed({
      resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/1' },
      activity: [{ detail: { status: 'scheduled', scheduledTiming: { event: ['2013-04-02'], repeat: { boundsPeriod: { start: '2013-01-31', end: '2013-03-24' }, frequency: 1, period: 2, periodUnit: 'd' } } } }],
    } as Resource);
    assert.deepEqual(rowsOf(plan, 'date', 'activity-date').map((r) => [r.low, r.high]), [['2013-01-31T00:00:00.000Z', '2013-04-02T23:59:59.999Z']]);
  });
});

describe('indexResource: strings and numbers', () => {
  it('strips accents and lower-cases', () => {
    const rows = indexed({ resourceType: 'Patient', name: [{ family: 'Núñez', given: ['José', 'ÅSA'] }] } as Resource);
    assert.deepEqual(strings(rows, 'given'), ['asa', 'jose']);
    assert.deepEqual(strings(rows, 'family'), ['nunez']);
  });

  it('strips accents in a Synthea patient (Alcántar)', () => {
    const bundle = syntheaBundle('Cristobal_Alcantar_87ece1a1-c9d1-4c00-a7e0-8af5f4f71cf0.json');
    const patient = bundle.entry!.map((e) => e.resource!).find((r) => r.resourceType === 'Patient')!;
    assert.deepEqual(strings(indexed(patient), 'family'), ['alcantar']);
  });

  it('keeps the precision of numbers as a range, exactly', () => {
    assert.deepEqual(decimalRange(100), { value: '100', low: '99.5', high: '100.5' });
    assert.deepEqual(decimalRange('1.50'), { value: '1.50', low: '1.495', high: '1.505' });
    assert.deepEqual(decimalRange(0.1), { value: '0.1', low: '0.05', high: '0.15' });
    assert.deepEqual(decimalRange(-2), { value: '-2', low: '-2.5', high: '-1.5' });
    assert.deepEqual(decimalRange('1.5e2'), { value: '150', low: '145', high: '155' });
    assert.deepEqual(decimalRange(1e-7), { value: '0.0000001', low: '0.00000005', high: '0.00000015' });
    assert.equal(decimalRange('abc'), undefined);

    const risk = indexed({
      resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' },
      prediction: [{ probabilityDecimal: 0.25 }, { probabilityRange: { low: { value: 10 }, high: { value: 20 } } }],
    } as Resource);
    assert.deepEqual(rowsOf(risk, 'number', 'probability'), [
      { param: 'probability', grp: 0, value: '0.25', low: '0.245', high: '0.255' },
      { param: 'probability', grp: 0, value: '10', low: '10', high: '20' },
    ]);
    const sequence = indexed({ resourceType: 'MolecularSequence', coordinateSystem: 0, variant: [{ start: 100, end: 101 }] } as Resource);
    assert.deepEqual(rowsOf(sequence, 'number', 'variant-start'), [{ param: 'variant-start', grp: 0, value: '100', low: '99.5', high: '100.5' }]);
  });

  it('canonicalises the units of the UCUM table', () => {
    assert.deepEqual(canonicalizeQuantity('250', 'http://unitsofmeasure.org', 'mg'), { value: '0.25', code: 'g' });
    assert.deepEqual(canonicalizeQuantity('1.5', undefined, 'kg'), { value: '1500', code: 'g' });
    assert.deepEqual(canonicalizeQuantity('98.6', 'http://unitsofmeasure.org', '[degF]'), { value: '310.15', code: 'K' });
    assert.deepEqual(canonicalizeQuantity('2', 'http://unitsofmeasure.org', 'wk'), { value: '1209600', code: 's' });
    // quotients of table units: mmol/L → mol/L, mg/dL and g/dL → g/L
    assert.deepEqual(canonicalizeQuantity('5.4', 'http://unitsofmeasure.org', 'mmol/L'), { value: '0.0054', code: 'mol/L' });
    assert.deepEqual(canonicalizeQuantity('7200', 'http://unitsofmeasure.org', 'mg/dL'), { value: '72', code: 'g/L' });
    assert.deepEqual(canonicalizeQuantity('7.2', 'http://unitsofmeasure.org', 'g/dL'), { value: '72', code: 'g/L' });
    assert.equal(canonicalizeQuantity('1', 'http://unitsofmeasure.org', 'Cel/min'), null, 'no offsets in a quotient');
    assert.deepEqual(canonicalizeQuantity('12', 'http://unitsofmeasure.org', 'cm'), { value: '0.12', code: 'm' });
    assert.deepEqual(canonicalizeQuantity('5', 'http://unitsofmeasure.org', 'dL'), { value: '0.5', code: 'L' });
    assert.equal(canonicalizeQuantity('5', 'http://unitsofmeasure.org', '{score}'), null);
    assert.equal(canonicalizeQuantity('5', 'http://snomed.info/sct', 'kg'), null);
  });

  it('de-duplicates identical rows', () => {
    const rows = indexed({ resourceType: 'Patient', name: [{ given: ['Ann'] }, { given: ['Ann', 'ANN'] }], identifier: [{ system: 's', value: '1' }, { system: 's', value: '1' }] } as Resource);
    // one row per spelling: :exact tells them apart
    assert.deepEqual(rowsOf(rows, 'string', 'given').map((row) => [row.value, row.raw]), [['ann', 'Ann'], ['ann', 'ANN']]);
    assert.equal(rowsOf(rows, 'token', 'identifier').length, 1);
  });
});

describe('indexResource: robustness', () => {
  it('indexes every official example without throwing, with rows for each', () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 204);
    for (const file of files) {
      const rows = indexed(example(file));
      assert.ok(rows.params.length > 0, file);
      for (const row of rows.date) assert.ok(row.low <= row.high, file);
    }
  });

  it('indexes every resource of several Synthea bundles without throwing', () => {
    const files = syntheaFiles().slice(0, 3);
    let count = 0;
    const types = new Set<string>();
    for (const file of files) {
      for (const entry of syntheaBundle(file).entry ?? []) {
        const rows = indexed(entry.resource!);
        assert.ok(rows.params.length > 0, entry.resource!.resourceType);
        types.add(entry.resource!.resourceType);
        count++;
      }
    }
    assert.ok(count > 100);
    assert.ok(types.has('Observation') && types.has('Patient') && types.has('Claim'));
  });

  it('never throws on odd data, and skips values that do not fit', () => {
    const odd = [
      { resourceType: 'Patient', birthDate: 'not a date', name: 'not an array', gender: { weird: true }, identifier: [null, 5, { value: { nested: 1 } }] },
      { resourceType: 'Observation', valueQuantity: { value: 'NaN', code: 7 }, effectivePeriod: { start: 'x' }, component: 'nope' },
      { resourceType: 'Encounter', period: { start: '2024-05-01', end: '2024-01-01' } },
      { resourceType: 'NotAType', id: 'x' },
      { resourceType: 5 },
      {},
      null,
    ];
    for (const resource of odd) {
      assert.doesNotThrow(() => indexed(resource as unknown as Resource));
    }
    const patient = indexed(odd[0] as unknown as Resource);
    assert.equal(patient.date.length, 0);
    assert.equal(rowsOf(patient, 'token', 'gender').length, 0);
    const encounter = indexed(odd[2] as unknown as Resource);
    assert.equal(rowsOf(encounter, 'date', 'date').length, 0, 'a period that ends before it starts is skipped');
    assert.deepEqual(indexed(odd[3] as unknown as Resource).params, []);
  });
});
