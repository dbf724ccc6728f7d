import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type Tenant, type TestApp } from '../helpers/app.js';
import { searchAllPages } from '../helpers/fhir-search.js';

/**
 * The walk-first page query (src/store/search-sql.ts): with `_count=N` the walk reads 200 × (N + 1)
 * resources in sort order before the planned search supplies the rest, so small pages over a few
 * hundred resources exercise every case: the walk fills the page, finds some, or finds none, on
 * every page of a cursor, in both directions. The expected order is derived from the data.
 * A code on fewer than 10,000 resources also limits the walk to ten rows per match, after which a
 * search driven by that code's matches completes the page: 'rare' and 'sparse' take that path.
 * 'sparse' is coded in two systems (two index rows per resource) and one of its resources is
 * deleted, so that path must neither repeat nor resurrect a resource. With no more matching index
 * rows than the page holds (`_count` + 1) the walk reads nothing ('rare' by 2 and by 10, 'sparse' by 20).
 */

const SIZE = 300;
const BUNDLES = 6;
const RARE = new Set([17, 160, 290]);
const codeOf = (i: number) => (RARE.has(i) ? 'rare' : i % 4 === 0 ? 'common' : 'other');
const SPARSE = new Set([40, 41, 150, 151, 152, 260]);
const DELETED = 151;
const sparseCodings = (i: number) => (SPARSE.has(i) ? ['http://example.org/b', 'http://example.org/c'].map((system) => ({ system, code: 'sparse' })) : []);
const idOf = (i: number) => `walk-${String(i).padStart(3, '0')}`;

let t: TestApp;
let tenant: Tenant;

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
  // Several transactions, so that last_updated takes several values: within one, the id breaks ties.
  const perBundle = SIZE / BUNDLES;
  for (let b = 0; b < BUNDLES; b++) {
    const entry = Array.from({ length: perBundle }, (_, k) => {
      const i = b * perBundle + k;
      const resource = {
        resourceType: 'Observation', id: idOf(i), status: 'final',
        code: { coding: [{ system: 'http://example.org/codes', code: codeOf(i) }, ...sparseCodings(i)] },
        valueQuantity: { value: i, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
      };
      return { resource, request: { method: 'PUT', url: `Observation/${idOf(i)}` } };
    });
    const res = await t.request('POST', '/v1/fhir', { key: tenant.keys.test, body: { resourceType: 'Bundle', type: 'transaction', entry }, contentType: 'application/fhir+json' });
    assert.equal(res.status, 200, res.body.slice(0, 500));
  }
  const deleted = await t.request('DELETE', `/v1/fhir/Observation/${idOf(DELETED)}`, { key: tenant.keys.test });
  assert.equal(deleted.status, 204, deleted.body);
});
after(() => t.close());

const isSparse = (i: number) => SPARSE.has(i) && i !== DELETED;

/** The indices in stored order (ascending last_updated, then id) that satisfy `keep`. */
function expected(keep: (i: number) => boolean, descending = false): string[] {
  const indices = Array.from({ length: SIZE }, (_, i) => i).filter(keep);
  return (descending ? indices.reverse() : indices).map((i) => `Observation/${idOf(i)}`);
}

describe('walk-first search pages', () => {
  const cases: Array<[string, string[]]> = [
    ['Observation?code=common&_count=2', expected((i) => codeOf(i) === 'common')],
    ['Observation?code=common&_count=7&_sort=-_lastUpdated', expected((i) => codeOf(i) === 'common', true)],
    ['Observation?code=rare&_count=1', expected((i) => RARE.has(i))],
    ['Observation?code=rare&_count=2&_sort=-_lastUpdated', expected((i) => RARE.has(i), true)],
    ['Observation?code=common,rare&value-quantity=gt150&_count=3', expected((i) => codeOf(i) !== 'other' && i > 150)],
    ['Observation?code=other&value-quantity=lt40&_count=4&_sort=_id', expected((i) => codeOf(i) === 'other' && i < 40)],
    ['Observation?code=nothing&_count=1', []],
    ['Observation?code=sparse&_count=2', expected(isSparse)],
    ['Observation?code=sparse&_count=10&_sort=-_lastUpdated', expected(isSparse, true)],
    ['Observation?code=sparse&value-quantity=gt100&_count=1', expected((i) => isSparse(i) && i > 100)],
    ['Observation?code=http://example.org/b|sparse&value-quantity=lt200&_count=3&_sort=_id', expected((i) => isSparse(i) && i < 200)],
    ['Observation?status=final&code=sparse&_count=2&_sort=-_lastUpdated', expected(isSparse, true)],
    ['Observation?code=rare&_count=10', expected((i) => RARE.has(i))],
    // No more index rows than the page holds: the walk reads nothing and the driven search
    // supplies every row, each once, without the deleted one.
    ['Observation?code=sparse&_count=20', expected(isSparse)],
    ['Observation?code=sparse&status=final&_count=11&_sort=_id', expected(isSparse)],
    // A code and a value: the implied code-value-quantity lists the pair's matches from its lead
    // index (migration 008) and drives the search, whether they fit the page or not; every coding
    // of a code leads its own rows ('sparse' by system b or c), the deleted resource has none.
    ['Observation?code=common&value-quantity=gt280&_count=2', expected((i) => codeOf(i) === 'common' && i > 280)],
    ['Observation?code=common&value-quantity=gt280&_count=5', expected((i) => codeOf(i) === 'common' && i > 280)],
    ['Observation?code=common&value-quantity=ge100&_count=7&_sort=-_lastUpdated', expected((i) => codeOf(i) === 'common' && i >= 100, true)],
    ['Observation?code=http://example.org/codes|common&value-quantity=lt0.03|http://unitsofmeasure.org|g&_count=3', expected((i) => codeOf(i) === 'common' && i < 30)],
    ['Observation?code=http://example.org/c|sparse&value-quantity=ge150&_count=1', expected((i) => isSparse(i) && i >= 150)],
    ['Observation?code=http://example.org/codes|sparse&value-quantity=ge0', []],
    ['Observation?code-value-quantity=common$gt280&_count=2', expected((i) => codeOf(i) === 'common' && i > 280)],
    ['Observation?code-value-quantity=http://example.org/b|sparse$lt200&_count=3&_sort=_id', expected((i) => isSparse(i) && i < 200)],
  ];
  for (const [query, want] of cases) {
    test(query, async () => {
      const { entries } = await searchAllPages(t, tenant.keys.test, query);
      assert.deepEqual(entries, want);
    });
  }
});
