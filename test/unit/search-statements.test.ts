import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSearch, type SearchQueryString } from '../../src/fhir/search/parse.js';
import { FHIR_DEFAULT_SORT, planSearch } from '../../src/fhir/search/plan.js';
import type { CursorPosition, SearchQuery, SortSpec } from '../../src/store/search-query.js';
import { PARTITION_PLACEHOLDER, shapeOf, skeletonOf, valueResolver } from '../../src/store/search-shape.js';
import { compileCount, compileSearch, drivenFirstFilter } from '../../src/store/search-sql.js';
import { searchStatements } from '../../src/store/search-statements.js';
import { CASES } from '../conformance/search-cases.js';

/**
 * Statements compiled once per shape (src/store/search-statements.ts) must be exactly what
 * compiling each query gives: the same text and the same values, whether the shape was compiled
 * for this query or for another one with other values.
 */

const PARTITION = 7;

function plan(type: string, query: SearchQueryString): SearchQuery {
  return planSearch(parseSearch(type, query, { baseUrl: 'https://api.example.org' }), { defaultSort: FHIR_DEFAULT_SORT, defaultCount: 20, maxCount: 100, defaultTotal: 'none' });
}

function fromUrl(url: string): SearchQuery | undefined {
  const [type, text = ''] = url.split('?');
  if (type.includes('/')) return undefined; // compartment and system forms: not a type search
  const query: SearchQueryString = {};
  for (const [key, value] of new URLSearchParams(text.replace('{boundary}', '2030-01-01T00:00:00Z'))) {
    const held = query[key];
    query[key] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
  }
  try {
    return plan(type, query);
  } catch {
    return undefined; // the conformance table also holds searches answered 400
  }
}

/** A position after which the page resumes, of the right type for each sort key (null where a parameter sort allows it). */
function cursorFor(sort: SortSpec[], variant: number): CursorPosition {
  const value = (spec: SortSpec, i: number) => {
    if (spec.by === 'param' && (variant + i) % 2 === 1) return null;
    if (spec.by === 'lastUpdated' || spec.by === 'created' || (spec.by === 'param' && spec.valueType === 'date')) return `2024-0${1 + variant}-01T00:00:00.000000Z`;
    if (spec.by === 'param' && spec.valueType === 'number') return `${variant}.5`;
    return `value-${variant}`;
  };
  return { values: sort.map(value), id: `id-${variant}` };
}

/** The shape compiles as such (its values as placeholders), rather than per query. */
function assertCompilesAsShape(query: SearchQuery, label: string): void {
  for (const form of drivenFirstFilter(query) ? (['complete', 'driven first'] as const) : (['complete'] as const)) {
    const skeleton = compileSearch(skeletonOf(shapeOf(query, PARTITION).key), PARTITION_PLACEHOLDER as unknown as number, form);
    assert.ok(!skeleton.text.includes('Symbol('), `${label} (${form})`);
    assert.doesNotThrow(() => valueResolver(skeleton.values), `${label} (${form})`);
  }
}

function assertSame(query: SearchQuery, label: string): void {
  const statements = searchStatements(query, PARTITION);
  const page = statements.page();
  const direct = compileSearch(query, PARTITION);
  assert.equal(page.text, direct.text, label);
  assert.deepEqual(page.values, direct.values, label);
  const short = statements.drivenFirst();
  assert.equal(short === undefined, drivenFirstFilter(query) === undefined, label);
  if (short) {
    const expected = compileSearch(query, PARTITION, 'driven first');
    assert.equal(short.text, expected.text, `${label} (driven first)`);
    assert.deepEqual(short.values, expected.values, `${label} (driven first)`);
  }
  for (const limit of [10_001, null]) {
    const count = statements.count(limit);
    const expected = compileCount(query, PARTITION, limit);
    assert.equal(count.text, expected.text, `${label} (count ${limit})`);
    assert.deepEqual(count.values, expected.values, `${label} (count ${limit})`);
  }
}

describe('search statements per shape', () => {
  const queries = CASES.flatMap((testCase) => {
    const query = fromUrl(testCase.query);
    return query ? [{ label: testCase.query, query }] : [];
  });

  it('are the statements each conformance query compiles to, on their first page and after a cursor', () => {
    assert.ok(queries.length >= 150, `${queries.length} conformance queries parsed`);
    const short = queries.filter(({ query }) => drivenFirstFilter(query)).length;
    assert.ok(short >= 40, `${short} conformance queries with a short statement`);
    for (const { label, query } of queries) {
      assertCompilesAsShape(query, label);
      assertSame(query, label);
      for (const variant of [1, 2]) assertSame({ ...query, after: cursorFor(query.sort, variant) }, `${label} after cursor ${variant}`);
    }
  });

  it('are shared by queries that differ only in their values, each with its own values', () => {
    const byShape = new Map<string, string[]>();
    for (const { label, query } of queries) {
      const { key } = shapeOf(query, PARTITION);
      byShape.set(key, [...(byShape.get(key) ?? []), label]);
    }
    const shared = [...byShape.values()].filter((labels) => labels.length > 1);
    // e.g. Patient?family=donald and Patient?family=Sol: one shape, two statements' worth of values.
    assert.ok(shared.length >= 15, `${shared.length} shapes shared by several conformance queries`);
    const first = plan('Patient', { name: 'ferry', birthdate: '1961-03-04' });
    const second = plan('Patient', { name: 'smith', birthdate: '1971-03' });
    assert.equal(shapeOf(first, 1).key, shapeOf(second, 2).key);
    assertSame(first, 'first of the shape');
    assertSame(second, 'second of the shape');
    assert.notDeepEqual(searchStatements(first, 1).page().values, searchStatements(second, 2).page().values);
  });

  it('keep apart the values the compiler reads: an empty prefix, a prefix without an upper bound, a missing system, the number of values', () => {
    const keys = (queries: Array<[string, SearchQueryString]>) => new Set(queries.map(([type, query]) => shapeOf(plan(type, query), PARTITION).key)).size;
    const distinct: Array<[string, SearchQueryString]> = [
      ['Patient', { 'name:exact': '' }], ['Patient', { 'name:exact': 'a' }],
      ['Patient', { name: '\u{10FFFF}' }], ['Patient', { name: 'a' }],
      ['Observation', { code: 'http://loinc.org|1234-5' }], ['Observation', { code: '|1234-5' }], ['Observation', { code: '1234-5' }], ['Observation', { code: 'http://loinc.org|' }],
      ['Observation', { _id: 'a' }], ['Observation', { _id: 'a,b' }],
      ['Observation', { 'value-quantity': 'gt5|http://unitsofmeasure.org|mg' }], ['Observation', { 'value-quantity': 'gt5||mg' }], ['Observation', { 'value-quantity': 'gt5' }],
      ['ValueSet', { 'url:below': 'http://example.org/a' }], ['ValueSet', { 'url:below': 'http://example.org/a/' }],
    ];
    assert.equal(keys(distinct), distinct.length);
    for (const [type, query] of distinct) assertSame(plan(type, query), `${type}?${new URLSearchParams(query as Record<string, string>)}`);
  });

  it('resolve the partition of each query', () => {
    const query = plan('Observation', { code: 'http://loinc.org|1234-5', date: 'ge2020' });
    for (const partition of [1, 2, 3]) assert.equal(searchStatements(query, partition).page().values[0], partition);
  });
});
