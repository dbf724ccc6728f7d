import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_CHAIN_DEPTH, parseSearch, SearchError, type SearchQueryString } from '../../src/fhir/search/parse.js';
import { planSearch } from '../../src/fhir/search/plan.js';
import type { SearchFilter } from '../../src/store/search-query.js';

const BASE = 'https://api.example';

function filters(resourceType: string, query: SearchQueryString): SearchFilter[] {
  return planSearch(parseSearch(resourceType, query, { baseUrl: BASE })).filters;
}

describe('chaining', () => {
  it('infers the target type of a single-target reference', () => {
    const name = { kind: 'string', param: 'name', anyOf: [{ mode: 'prefix', value: 'ann' }] } as const;
    assert.deepEqual(filters('Patient', { 'general-practitioner:Practitioner.name': 'Ann' }), [
      { kind: 'chain', param: 'general-practitioner', targets: [{ targetType: 'Practitioner', filter: name }] },
    ]);
    assert.deepEqual(filters('Observation', { 'patient.name': 'ann' }), [{ kind: 'chain', param: 'patient', targets: [{ targetType: 'Patient', filter: name }] }]);
  });

  it('without :Type, searches every target type that has the parameter', () => {
    const name = { kind: 'string', param: 'name', anyOf: [{ mode: 'prefix', value: 'ann' }] } as const;
    assert.deepEqual(filters('Observation', { 'subject.name': 'Ann' }), [
      { kind: 'chain', param: 'subject', targets: [{ targetType: 'Patient', filter: name }, { targetType: 'Location', filter: name }] },
    ]);
  });

  it('takes a :Type modifier and goes several levels deep, with modifiers on the last one', () => {
    const name = { kind: 'string', param: 'name', anyOf: [{ mode: 'exact', value: 'acme', raw: 'Acme' }] } as const;
    assert.deepEqual(filters('Encounter', { 'subject:Patient.organization.name:exact': 'Acme' }), [
      { kind: 'chain', param: 'subject', targets: [{ targetType: 'Patient', filter: { kind: 'chain', param: 'organization', targets: [{ targetType: 'Organization', filter: name }] } }] },
    ]);
  });

  it('rejects ambiguous, non-reference and too deep chains', () => {
    // manufacturer is a string on Device, a reference on Medication
    assert.throws(() => parseSearch('AdverseEvent', { 'substance.manufacturer': 'x' }), /ambiguous/);
    assert.throws(() => parseSearch('Observation', { 'code.name': 'x' }), /only reference parameters/);
    assert.throws(() => parseSearch('Observation', { 'subject:Medication.name': 'x' }), /cannot reference/);
    const deep = 'subject:Patient.organization.partof.partof.name';
    assert.equal(MAX_CHAIN_DEPTH, 3);
    assert.throws(() => parseSearch('Encounter', { [deep]: 'x' }), SearchError);
  });

  it('reports an unknown parameter at the end of a chain', () => {
    const request = parseSearch('Observation', { 'patient.nickname': 'x', code: '1' });
    assert.deepEqual(request.unknown, ['patient.nickname']);
    assert.equal(request.criteria.length, 1);
  });
});

describe('reverse chaining (_has)', () => {
  it('parses _has and nested _has', () => {
    assert.deepEqual(filters('Patient', { '_has:Observation:patient:code': 'http://loinc.org|1234-5' }), [
      { kind: 'has', sourceType: 'Observation', param: 'patient', filter: { kind: 'token', param: 'code', negate: false, anyOf: [{ match: 'code', system: 'http://loinc.org', code: '1234-5' }] } },
    ]);
    const [nested] = filters('Patient', { '_has:Observation:patient:_has:Provenance:target:agent': 'Practitioner/1' });
    assert.equal(nested.kind, 'has');
    assert.equal(nested.kind === 'has' && nested.filter.kind, 'has');
  });

  it('rejects malformed _has keys', () => {
    assert.throws(() => parseSearch('Patient', { '_has:Observation:patient': 'x' }), SearchError);
    assert.throws(() => parseSearch('Patient', { '_has:Observation:code:code': 'x' }), /reference parameter/);
  });
});

describe('unknown parameters', () => {
  it('are listed, not thrown, and the known ones still apply', () => {
    const request = parseSearch('Patient', { nickname: 'x', gender: 'male', _filter: 'name eq x', 'near:foo': 'y' });
    assert.deepEqual(request.unknown, ['nickname', '_filter', 'near:foo']);
    assert.equal(request.criteria.length, 1);
  });

  it('include special parameters (Location near)', () => {
    assert.deepEqual(parseSearch('Location', { near: '1|2|3|km' }).unknown, ['near']);
  });
});

describe('modifiers', () => {
  it(':of-type takes type-system|type-code|value', () => {
    assert.deepEqual(filters('Patient', { 'identifier:of-type': 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|123' }), [
      { kind: 'token', param: 'identifier', negate: false, anyOf: [{ match: 'ofType', typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', typeCode: 'MR', value: '123' }] },
    ]);
    assert.throws(() => parseSearch('Patient', { 'identifier:of-type': 'MR|123' }), /of-type/);
  });

  it(':in and :not-in are a clear 400', () => {
    assert.throws(() => parseSearch('Observation', { 'code:in': 'http://vs' }), /ValueSets/);
    assert.throws(() => parseSearch('Observation', { 'code:not-in': 'http://vs' }), /ValueSets/);
  });

  it('uri :below and :above', () => {
    assert.deepEqual(filters('ValueSet', { 'url:below': 'http://a.org/fhir' }), [{ kind: 'uri', param: 'url', anyOf: [{ match: 'below', value: 'http://a.org/fhir' }] }]);
    assert.deepEqual(filters('ValueSet', { 'url:above': 'http://a.org/fhir/ValueSet/1' }), [
      { kind: 'uri', param: 'url', anyOf: [{ match: 'equals', values: ['http://a.org/fhir/ValueSet/1', 'http://a.org', 'http://a.org/', 'http://a.org/fhir', 'http://a.org/fhir/', 'http://a.org/fhir/ValueSet', 'http://a.org/fhir/ValueSet/'] }] },
    ]);
  });

  it(':missing on every kind, including composites', () => {
    assert.deepEqual(filters('Observation', { 'code-value-quantity:missing': 'true' }), [{ kind: 'missing', param: 'code-value-quantity', missing: true }]);
  });
});

describe('references on the server base', () => {
  it('an absolute URL on our base is the local reference; another base stays a URL', () => {
    assert.deepEqual(filters('Observation', { subject: `${BASE}/v1/fhir/Patient/123` }), [
      { kind: 'reference', param: 'subject', anyOf: [{ match: 'target', targetType: 'Patient', targetId: '123' }] },
    ]);
    assert.deepEqual(filters('Observation', { subject: 'https://other.example/fhir/Patient/123' }), [
      { kind: 'reference', param: 'subject', anyOf: [{ match: 'url', reference: 'https://other.example/fhir/Patient/123' }] },
    ]);
  });
});

describe('composite parameters', () => {
  it('split on $ into one filter per part, each with its own type', () => {
    const [filter] = filters('Observation', { 'code-value-quantity': 'http://loinc.org|8480-6$gt100|http://unitsofmeasure.org|mm[Hg]' });
    assert.equal(filter.kind, 'composite');
    if (filter.kind !== 'composite') return;
    assert.equal(filter.anyOf.length, 1);
    const [code, value] = filter.anyOf[0];
    assert.deepEqual(code, { kind: 'token', param: 'code-value-quantity#0', negate: false, anyOf: [{ match: 'code', system: 'http://loinc.org', code: '8480-6' }] });
    assert.equal(value.kind, 'quantity');
    assert.equal(value.param, 'code-value-quantity#1');
  });

  it('keeps an escaped \\$ inside a part and rejects a wrong part count', () => {
    const [filter] = filters('Observation', { 'code-value-concept': 'a\\$b$c' });
    const part = filter.kind === 'composite' ? filter.anyOf[0][0] : undefined;
    assert.ok(part?.kind === 'token');
    assert.equal(part.param, 'code-value-concept#0');
    assert.equal(part.anyOf[0].match === 'code' && part.anyOf[0].code, 'a$b');
    assert.throws(() => parseSearch('Observation', { 'code-value-concept': 'a$b$c' }), /2 parts/);
  });
});

describe('code and value pairs', () => {
  it('a code and a value comparison on Observation are searched as code-value-quantity, in the code\'s place', () => {
    const plain = { code: 'http://loinc.org|8480-6', 'value-quantity': 'gt100|http://unitsofmeasure.org|mm[Hg]' };
    const [status, code, value] = filters('Observation', { status: 'final', ...plain });
    assert.equal(status.kind, 'token');
    assert.equal(value, undefined);
    const [part0, part1] = code.kind === 'composite' && code.param === 'code-value-quantity' ? code.anyOf[0] : [];
    assert.deepEqual(part0, { kind: 'token', param: 'code-value-quantity#0', negate: false, anyOf: [{ match: 'code', system: 'http://loinc.org', code: '8480-6' }] });
    // The same meaning as the composite the request could have named.
    const [named] = filters('Observation', { 'code-value-quantity': 'http://loinc.org|8480-6$gt100|http://unitsofmeasure.org|mm[Hg]' });
    assert.deepEqual(code, named);
    assert.equal(part1?.kind, 'quantity');
  });

  it('not for OR lists, negations, a system alone, another type, or one of the pair missing', () => {
    const none = [
      ['Observation', { code: 'a,b', 'value-quantity': 'gt1' }],
      ['Observation', { code: 'a', 'value-quantity': 'gt1,lt0' }],
      ['Observation', { 'code:not': 'a', 'value-quantity': 'gt1' }],
      ['Observation', { 'code:text': 'a', 'value-quantity': 'gt1' }],
      ['Observation', { code: 'http://loinc.org|', 'value-quantity': 'gt1' }],
      ['Observation', { code: 'a' }],
      ['Observation', { 'combo-code': 'a', 'combo-value-quantity': 'gt1' }],
      ['DiagnosticReport', { code: 'a' }],
    ] as const;
    for (const [type, query] of none) {
      assert.ok(!filters(type, query).some((filter) => filter.kind === 'composite'), JSON.stringify(query));
    }
  });
});

describe('number sa / eb', () => {
  it('plan the precision range of the search value', () => {
    assert.deepEqual(filters('RiskAssessment', { probability: 'sa0.5' }), [{ kind: 'number', param: 'probability', anyOf: [{ comparator: 'sa', value: '0.5', low: '0.45', high: '0.55' }] }]);
  });
});
