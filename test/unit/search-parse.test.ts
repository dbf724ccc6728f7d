import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCursor, encodeCursor } from '../../src/fhir/search/cursor.js';
import { parseSearch, SearchError, type Criterion, type SearchQueryString } from '../../src/fhir/search/parse.js';
import { FHIR_DEFAULT_SORT, planSearch, SIMPLIFIED_DEFAULT_SORT } from '../../src/fhir/search/plan.js';
import type { SearchQuery } from '../../src/store/search-query.js';

function criteria(resourceType: string, query: SearchQueryString): Criterion[] {
  return parseSearch(resourceType, query).criteria;
}

function only(resourceType: string, query: SearchQueryString): Criterion {
  const parsed = criteria(resourceType, query);
  assert.equal(parsed.length, 1);
  return parsed[0];
}

describe('parseSearch: string parameters', () => {
  it('defaults to a prefix match and supports :exact and :contains', () => {
    assert.deepEqual(only('Patient', { name: 'Smith' }), { type: 'string', code: 'name', match: 'prefix', values: ['Smith'] });
    assert.deepEqual(only('Patient', { 'name:exact': 'Smith' }), { type: 'string', code: 'name', match: 'exact', values: ['Smith'] });
    assert.deepEqual(only('Patient', { 'name:contains': 'mit' }), { type: 'string', code: 'name', match: 'contains', values: ['mit'] });
  });

  it('ORs comma-separated values and ANDs repeated parameters', () => {
    assert.deepEqual(only('Patient', { name: 'a,b' }), { type: 'string', code: 'name', match: 'prefix', values: ['a', 'b'] });
    const anded = criteria('Patient', { name: ['a', 'b'] });
    assert.equal(anded.length, 2);
  });

  it('unescapes \\, \\| \\$ and \\\\', () => {
    assert.deepEqual(only('Patient', { name: 'a\\,b,c\\\\d' }), { type: 'string', code: 'name', match: 'prefix', values: ['a,b', 'c\\d'] });
  });

  it('ignores an empty parameter', () => {
    assert.deepEqual(criteria('Patient', { name: '' }), []);
  });
});

describe('parseSearch: token parameters', () => {
  it('parses code, system|code, |code and system|', () => {
    assert.deepEqual(only('Patient', { gender: 'male' }), { type: 'token', code: 'gender', not: false, values: [{ code: 'male' }] });
    assert.deepEqual(only('Patient', { identifier: 'http://sys|123' }), {
      type: 'token', code: 'identifier', not: false, values: [{ system: 'http://sys', code: '123' }],
    });
    assert.deepEqual(only('Patient', { identifier: '|123' }), { type: 'token', code: 'identifier', not: false, values: [{ system: '', code: '123' }] });
    assert.deepEqual(only('Patient', { identifier: 'http://sys|' }), { type: 'token', code: 'identifier', not: false, values: [{ system: 'http://sys' }] });
  });

  it('keeps an escaped | in the code', () => {
    assert.deepEqual(only('Patient', { identifier: 'a\\|b' }), { type: 'token', code: 'identifier', not: false, values: [{ code: 'a|b' }] });
  });

  it('supports :not and :text', () => {
    assert.deepEqual(only('Patient', { 'gender:not': 'male,female' }), {
      type: 'token', code: 'gender', not: true, values: [{ code: 'male' }, { code: 'female' }],
    });
    assert.deepEqual(only('Observation', { 'code:text': 'Blood pressure' }), { type: 'tokenText', code: 'code', values: ['Blood pressure'] });
  });

  it('treats _id as the resource id', () => {
    assert.deepEqual(only('Patient', { _id: 'a,b-1' }), { type: 'id', values: ['a', 'b-1'] });
  });
});

describe('parseSearch: reference parameters', () => {
  it('parses Type/id, id, :Type and absolute URLs', () => {
    assert.deepEqual(only('Patient', { 'general-practitioner': 'Practitioner/dr1' }), {
      type: 'reference', code: 'general-practitioner', values: [{ kind: 'local', type: 'Practitioner', id: 'dr1' }],
    });
    assert.deepEqual(only('Patient', { 'general-practitioner': 'dr1' }), {
      type: 'reference', code: 'general-practitioner', values: [{ kind: 'local', id: 'dr1' }],
    });
    assert.deepEqual(only('Patient', { 'general-practitioner:Organization': 'org1' }), {
      type: 'reference', code: 'general-practitioner', values: [{ kind: 'local', type: 'Organization', id: 'org1' }],
    });
    assert.deepEqual(only('Observation', { subject: 'https://example.org/fhir/Patient/1' }), {
      type: 'reference', code: 'subject', values: [{ kind: 'url', url: 'https://example.org/fhir/Patient/1' }],
    });
  });

  it('parses :identifier as system|value', () => {
    assert.deepEqual(only('Observation', { 'subject:identifier': 'http://mrn|42' }), {
      type: 'reference', code: 'subject', values: [{ kind: 'identifier', system: 'http://mrn', value: '42' }],
    });
    assert.deepEqual(only('Observation', { 'subject:identifier': '42' }), {
      type: 'reference', code: 'subject', values: [{ kind: 'identifier', value: '42' }],
    });
  });
});

describe('parseSearch: prefixed values', () => {
  it('parses date prefixes and precisions', () => {
    const dates = only('Patient', { birthdate: '2024-03,ge2024-03-01,lt2024-03-01T10:00:00Z,sa2024,eb2024-03-01T10:00,ap2024-03-01T10:00:00.5+02:00' });
    assert.deepEqual(dates, {
      type: 'date',
      code: 'birthdate',
      values: [
        { prefix: 'eq', value: '2024-03' },
        { prefix: 'ge', value: '2024-03-01' },
        { prefix: 'lt', value: '2024-03-01T10:00:00Z' },
        { prefix: 'sa', value: '2024' },
        { prefix: 'eb', value: '2024-03-01T10:00' },
        { prefix: 'ap', value: '2024-03-01T10:00:00.5+02:00' },
      ],
    });
  });

  it('reads a space before the zone as the + that form decoding turned into one', () => {
    assert.deepEqual(only('Patient', { birthdate: 'gt2024-03-01T10:00:00 02:00' }), {
      type: 'date', code: 'birthdate', values: [{ prefix: 'gt', value: '2024-03-01T10:00:00+02:00' }],
    });
  });

  it('parses every prefix on numbers', () => {
    const parsed = only('RiskAssessment', { probability: 'eq1,ne1,gt0.5,lt1e2,ge-3,le4,sa5,eb6,ap100' });
    assert.equal(parsed.type, 'number');
    assert.deepEqual(parsed.type === 'number' && parsed.values.map((value) => value.prefix), ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);
  });

  it('parses quantities with and without a unit', () => {
    assert.deepEqual(only('Observation', { 'value-quantity': '5.4|http://unitsofmeasure.org|mg,le5.4||mg,gt5' }), {
      type: 'quantity',
      code: 'value-quantity',
      values: [
        { prefix: 'eq', value: '5.4', system: 'http://unitsofmeasure.org', code: 'mg' },
        { prefix: 'le', value: '5.4', code: 'mg' },
        { prefix: 'gt', value: '5' },
      ],
    });
  });

  it('parses _lastUpdated as a date', () => {
    assert.deepEqual(only('Patient', { _lastUpdated: 'gt2024-01-01' }), { type: 'lastUpdated', values: [{ prefix: 'gt', value: '2024-01-01' }] });
  });
});

describe('parseSearch: uri and :missing', () => {
  it('parses uri values as written', () => {
    assert.deepEqual(only('Patient', { _profile: 'http://example.org/StructureDefinition/p' }), {
      type: 'uri', code: '_profile', match: 'equals', values: ['http://example.org/StructureDefinition/p'],
    });
  });

  it('supports :missing on every kind of parameter', () => {
    assert.deepEqual(only('Patient', { 'birthdate:missing': 'true' }), { type: 'missing', code: 'birthdate', missing: true });
    assert.deepEqual(only('Patient', { 'gender:missing': 'false' }), { type: 'missing', code: 'gender', missing: false });
    assert.deepEqual(only('Observation', { 'code-value-quantity:missing': 'true' }), { type: 'missing', code: 'code-value-quantity', missing: true });
  });
});

describe('parseSearch: result parameters', () => {
  it('reads _count, _sort, _total, _include and _revinclude', () => {
    const request = parseSearch('Patient', {
      _count: '10',
      _sort: '-birthdate,_id,name,-_lastUpdated',
      _total: 'accurate',
      _include: 'Patient:general-practitioner',
      _revinclude: ['Observation:subject', 'Encounter:subject'],
    });
    assert.equal(request.count, 10);
    assert.equal(request.total, 'accurate');
    assert.deepEqual(request.sort, [
      { code: 'birthdate', key: 'date', descending: true },
      { code: '_id', key: 'id', descending: false },
      { code: 'name', key: 'text', descending: false },
      { code: '_lastUpdated', key: 'lastUpdated', descending: true },
    ]);
    assert.deepEqual(request.include, ['Patient:general-practitioner']);
    assert.deepEqual(request.revinclude, ['Observation:subject', 'Encounter:subject']);
    assert.deepEqual(request.criteria, []);
  });

  it('ignores empty result parameters', () => {
    assert.deepEqual(parseSearch('Patient', { _count: '', _sort: '', _total: '' }), { resourceType: 'Patient', criteria: [], sort: [], include: [], revinclude: [], unknown: [] });
  });

  it('ignores _format, _pretty, _summary and _elements', () => {
    assert.deepEqual(criteria('Patient', { _format: 'json', _pretty: 'true', _summary: 'true', _elements: 'name' }), []);
  });
});

describe('parseSearch: _summary, _elements, :iterate, _contained', () => {
  it('reads _summary, _elements and the :iterate / :recurse include values', () => {
    const request = parseSearch('Observation', {
      _summary: 'data',
      _elements: ['value,note', 'status'],
      '_include:iterate': 'Patient:organization',
      '_revinclude:recurse': 'Provenance:target',
      _include: 'Observation:subject',
    });
    assert.equal(request.summary, 'data');
    assert.deepEqual(request.elements, ['value', 'note', 'status']);
    assert.deepEqual(request.include, ['Observation:subject']);
    assert.deepEqual(request.includeIterate, ['Patient:organization']);
    assert.deepEqual(request.revincludeIterate, ['Provenance:target']);
  });

  it('rejects bad values, other modifiers and _contained', () => {
    for (const query of [{ _summary: 'maybe' }, { _elements: 'Observation.value' }, { '_include:deep': '*' }, { '_summary:x': 'true' }, { _contained: 'true' }, { _containedType: 'container' }]) {
      assert.throws(() => parseSearch('Observation', query), SearchError, JSON.stringify(query));
    }
  });
});

describe('parseSearch: errors', () => {
  const secret = 'Jane.Doe@example.com';
  const cases: Array<[string, string, SearchQueryString]> = [
    ['unknown resource type', 'Patientz', { name: secret }],
    ['bad string modifier', 'Patient', { 'name:not': secret }],
    ['bad token modifier', 'Patient', { 'gender:below': secret }],
    ['modifier on a date', 'Patient', { 'birthdate:exact': secret }],
    ['bad date', 'Patient', { birthdate: `ge${secret}` }],
    ['impossible date', 'Patient', { birthdate: '1987-13-45' }],
    ['bad number', 'RiskAssessment', { probability: `gt${secret}` }],
    ['bad quantity', 'Observation', { 'value-quantity': `5|${secret}` }],
    ['bad reference', 'Observation', { subject: `Patient/${secret} x` }],
    ['reference to a type the parameter cannot target', 'Patient', { 'general-practitioner': 'Patient/p1' }],
    ['type modifier disagreeing with the value', 'Observation', { 'subject:Patient': 'Group/g1' }],
    ['empty item in a list', 'Patient', { name: `${secret},` }],
    ['empty token', 'Patient', { identifier: '|' }],
    ['bad :missing value', 'Patient', { 'birthdate:missing': secret }],
    ['bad _id', 'Patient', { _id: secret }],
    ['negative _count', 'Patient', { _count: '-1' }],
    ['repeated _count', 'Patient', { _count: ['1', '2'] }],
    ['bad _total', 'Patient', { _total: secret }],
    ['unsortable _sort', 'Patient', { _sort: secret }],
    ['unknown _sort', 'Patient', { _sort: 'nickname' }],
    ['composite value without its parts', 'Observation', { 'code-value-quantity': secret }],
    ['chain ambiguous over its target types', 'AdverseEvent', { 'substance.manufacturer': secret }],
    ['_has with an unknown type', 'Patient', { '_has:Observationz:patient:code': secret }],
    ['_has on a parameter that cannot point here', 'Patient', { '_has:Observation:encounter:code': secret }],
  ];
  for (const [what, resourceType, query] of cases) {
    it(`rejects: ${what}, without echoing the value`, () => {
      assert.throws(
        () => parseSearch(resourceType, query),
        (error: unknown) => {
          assert.ok(error instanceof SearchError);
          assert.equal(error.code, 'INVALID_SEARCH');
          assert.ok(!error.message.includes(secret), error.message);
          assert.ok(!error.message.includes('1987-13-45'), error.message);
          return true;
        },
      );
    });
  }

  it('names the parameter in the message', () => {
    assert.throws(() => parseSearch('Patient', { birthdate: 'soon' }), /"birthdate"/);
  });
});

describe('planSearch', () => {
  function plan(resourceType: string, query: SearchQueryString): SearchQuery {
    return planSearch(parseSearch(resourceType, query));
  }

  it('normalises string values like the index', () => {
    assert.deepEqual(plan('Patient', { 'name:contains': 'ZOË' }).filters, [{ kind: 'string', param: 'name', anyOf: [{ mode: 'contains', value: 'zoe' }] }]);
  });

  it('turns a partial date into its whole UTC range, half-open', () => {
    assert.deepEqual(plan('Patient', { birthdate: '2024-03' }).filters, [
      { kind: 'date', param: 'birthdate', anyOf: [{ comparator: 'eq', low: '2024-03-01T00:00:00.000Z', high: '2024-04-01T00:00:00.000Z' }] },
    ]);
    assert.deepEqual(plan('Patient', { birthdate: 'gt2024-03-01T10:00+02:00' }).filters, [
      { kind: 'date', param: 'birthdate', anyOf: [{ comparator: 'gt', low: '2024-03-01T08:00:00.000Z', high: '2024-03-01T08:01:00.000Z' }] },
    ]);
    assert.deepEqual(plan('Patient', { _lastUpdated: 'le2024' }).filters, [
      { kind: 'lastUpdated', anyOf: [{ comparator: 'le', low: '2024-01-01T00:00:00.000Z', high: '2025-01-01T00:00:00.000Z' }] },
    ]);
  });

  it('widens ap dates around the value', () => {
    const [filter] = plan('Patient', { birthdate: 'ap2000-01-01' }).filters;
    assert.equal(filter.kind, 'date');
    const [match] = filter.kind === 'date' ? filter.anyOf : [];
    assert.ok(match.low < '2000-01-01T00:00:00.000Z' && match.high > '2000-01-02T00:00:00.000Z');
  });

  it('gives numbers their precision range, widened for ap', () => {
    assert.deepEqual(plan('RiskAssessment', { probability: '100,ap100,gt1e2' }).filters, [
      {
        kind: 'number',
        param: 'probability',
        anyOf: [
          { comparator: 'eq', value: '100', low: '99.5', high: '100.5' },
          { comparator: 'ap', value: '100', low: '89.5', high: '110.5' },
          { comparator: 'gt', value: '100', low: '50', high: '150' },
        ],
      },
    ]);
  });

  it('canonicalises quantities with a known UCUM unit and keeps others as written', () => {
    assert.deepEqual(plan('Observation', { 'value-quantity': '5.4|http://unitsofmeasure.org|mg,5||[iU]' }).filters, [
      {
        kind: 'quantity',
        param: 'value-quantity',
        anyOf: [
          {
            comparator: 'eq', value: '5.4', low: '5.35', high: '5.45', system: 'http://unitsofmeasure.org', code: 'mg',
            canonical: { code: 'g', value: '0.0054', low: '0.00535', high: '0.00545' },
          },
          { comparator: 'eq', value: '5', low: '4.5', high: '5.5', system: undefined, code: '[iU]' },
        ],
      },
    ]);
  });

  it('maps tokens, references, :missing and _id', () => {
    const query = plan('Observation', {
      code: 'http://loinc.org|1234-5',
      'status:not': 'cancelled',
      subject: 'Patient/p1',
      'subject:identifier': 'http://mrn|42',
      'value-quantity:missing': 'true',
      _id: 'o1',
    });
    assert.deepEqual(query.filters, [
      { kind: 'token', param: 'code', negate: false, anyOf: [{ match: 'code', system: 'http://loinc.org', code: '1234-5' }] },
      { kind: 'token', param: 'status', negate: true, anyOf: [{ match: 'code', system: undefined, code: 'cancelled' }] },
      { kind: 'reference', param: 'subject', anyOf: [{ match: 'target', targetType: 'Patient', targetId: 'p1' }] },
      { kind: 'reference', param: 'subject', anyOf: [{ match: 'identifier', system: 'http://mrn', value: '42' }] },
      { kind: 'missing', param: 'value-quantity', missing: true },
      { kind: 'id', anyOf: ['o1'] },
    ]);
  });

  it('uses the caller default sort when there is no _sort', () => {
    assert.deepEqual(plan('Patient', {}).sort, FHIR_DEFAULT_SORT);
    assert.deepEqual(planSearch(parseSearch('Patient', {}), { defaultSort: SIMPLIFIED_DEFAULT_SORT }).sort, SIMPLIFIED_DEFAULT_SORT);
    assert.deepEqual(plan('Patient', { _sort: '-birthdate' }).sort, [{ by: 'param', param: 'birthdate', valueType: 'date', direction: 'desc' }]);
  });

  it('sizes the page and the total', () => {
    assert.equal(plan('Patient', {}).pageSize, 20);
    assert.equal(plan('Patient', { _count: '0' }).pageSize, 0);
    assert.equal(plan('Patient', { _count: '5000' }).pageSize, 1000);
    assert.equal(planSearch(parseSearch('Patient', { _count: '500' }), { maxCount: 100 }).pageSize, 100);
    assert.equal(plan('Patient', {}).total, 'none');
    assert.equal(plan('Patient', { _total: 'accurate' }).total, 'exact');
    assert.equal(plan('Patient', { _total: 'estimate' }).total, 'estimate');
    assert.equal(planSearch(parseSearch('Patient', { _total: 'none' }), { defaultTotal: 'bounded' }).total, 'none');
  });
});

describe('cursor', () => {
  const query = planSearch(parseSearch('Patient', { name: 'smith', _sort: '-birthdate,name' }));
  const position = { values: ['1980-05-10T00:00:00.000000Z', null], id: 'p1' };

  it('round-trips a position for the same query', () => {
    const cursor = encodeCursor(position, query);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(cursor, planSearch(parseSearch('Patient', { name: 'smith', _sort: '-birthdate,name', _count: '5' }))), position);
  });

  it('rejects a cursor made for other filters or another sort', () => {
    const cursor = encodeCursor(position, query);
    assert.equal(decodeCursor(cursor, planSearch(parseSearch('Patient', { name: 'smyth', _sort: '-birthdate,name' }))), undefined);
    assert.equal(decodeCursor(cursor, planSearch(parseSearch('Patient', { name: 'smith', _sort: 'birthdate,name' }))), undefined);
  });

  it('rejects garbage and positions that do not fit the sort', () => {
    for (const garbage of [undefined, '', 'not a cursor', 'AAAA', Buffer.from('[1,2,3]').toString('base64url'), 'x'.repeat(10000)]) {
      assert.equal(decodeCursor(garbage, query), undefined);
    }
    assert.equal(decodeCursor(encodeCursor({ values: ['yesterday', null], id: 'p1' }, query), query), undefined);
    assert.equal(decodeCursor(encodeCursor({ values: [null], id: 'p1' }, query), query), undefined);
    assert.equal(decodeCursor(encodeCursor({ values: [null, null], id: "p1'; --" }, query), query), undefined);
    const byUpdate = planSearch(parseSearch('Patient', {}));
    assert.equal(decodeCursor(encodeCursor({ values: [null], id: 'p1' }, byUpdate), byUpdate), undefined);
  });
});
