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
 * A code with at most 100 index rows ('rare', 'sparse', 'common') is first searched by the short
 * statement driven by them alone, which answers these pages; test/unit/search-db.test.ts compares
 * its pages with the complete statement's. 'other' and `status=final` match too many for it.
 *
 * Chains to one type whose filter is one range are listed the same way (the references to the
 * named patients): each Observation's subject is one of ten patients, the first five's before
 * #250 and the last five's after it, so a name walks, part-walks or drives, by direction. One
 * named patient is deleted, some subjects dangle, and a crowd of CROWD patients sharing a name is
 * too many targets to list, so that chain is probed row by row instead.
 */

const SIZE = 300;
const BUNDLES = 6;
const RARE = new Set([17, 160, 290]);
const codeOf = (i: number) => (RARE.has(i) ? 'rare' : i % 4 === 0 ? 'common' : 'other');
const SPARSE = new Set([40, 41, 150, 151, 152, 260]);
const DELETED = 151;
const sparseCodings = (i: number) => (SPARSE.has(i) ? ['http://example.org/b', 'http://example.org/c'].map((system) => ({ system, code: 'sparse' })) : []);
const idOf = (i: number) => `walk-${String(i).padStart(3, '0')}`;
const FAMILIES = ['Alpha', 'Alpha', 'Beta', 'Gamma', 'Gamma', 'Delta', 'Delta', 'Delta', 'Delta', 'Epsilon'];
const DELETED_PATIENT = 1;
const CROWD = 120;
/** Observation i's subject: patient 0–4 before #250, 5–9 after; every 37th dangles, every 61st is one of the crowd. */
const subjectOf = (i: number) => (i % 37 === 0 ? 'missing' : i % 61 === 0 ? `crowd-${i % CROWD}` : i < 250 ? `p${i % 5}` : `p${5 + (i % 5)}`);

/** Observation i's effective day: a permutation of i (7 and SIZE are coprime), none for every 7th. */
const dated = (i: number) => i % 7 !== 0;
const dayOf = (i: number) => new Date(Date.UTC(2020, 0, 1) + ((i * 7) % SIZE) * 86_400_000).toISOString().slice(0, 10);

let t: TestApp;
let tenant: Tenant;

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
  // The patients first: ten named ones (the second half in an organisation) and the crowd.
  const patients = [
    ...FAMILIES.map((family, k) => ({ resourceType: 'Patient', id: `p${k}`, name: [{ family }], ...(k >= 5 ? { managingOrganization: { reference: 'Organization/acme' } } : {}) })),
    ...Array.from({ length: CROWD }, (_, k) => ({ resourceType: 'Patient', id: `crowd-${k}`, name: [{ family: 'Crowd' }] })),
    { resourceType: 'Organization', id: 'acme', name: 'Acme' },
  ];
  const people = await t.request('POST', '/v1/fhir', {
    key: tenant.keys.test, contentType: 'application/fhir+json',
    body: { resourceType: 'Bundle', type: 'transaction', entry: patients.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })) },
  });
  assert.equal(people.status, 200, people.body.slice(0, 500));
  const gone = await t.request('DELETE', `/v1/fhir/Patient/p${DELETED_PATIENT}`, { key: tenant.keys.test });
  assert.equal(gone.status, 204, gone.body);
  // Several transactions, so that last_updated takes several values: within one, the id breaks ties.
  const perBundle = SIZE / BUNDLES;
  for (let b = 0; b < BUNDLES; b++) {
    const entry = Array.from({ length: perBundle }, (_, k) => {
      const i = b * perBundle + k;
      const resource = {
        resourceType: 'Observation', id: idOf(i), status: 'final',
        code: { coding: [{ system: 'http://example.org/codes', code: codeOf(i) }, ...sparseCodings(i)] },
        subject: { reference: `Patient/${subjectOf(i)}` },
        valueQuantity: { value: i, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
        ...(dated(i) ? { effectiveDateTime: dayOf(i) } : {}),
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
/** Whether Observation i (live) has a live subject of that family. */
const subjectNamed = (family: string) => (i: number) => {
  const subject = /^p(\d)$/.exec(subjectOf(i));
  return i !== DELETED && (family === 'Crowd' ? subjectOf(i).startsWith('crowd-') : subject !== null && Number(subject[1]) !== DELETED_PATIENT && FAMILIES[Number(subject[1])] === family);
};

/** The indices in stored order (ascending last_updated, then id) that satisfy `keep`. */
function expected(keep: (i: number) => boolean, descending = false): string[] {
  const indices = Array.from({ length: SIZE }, (_, i) => i).filter(keep);
  return (descending ? indices.reverse() : indices).map((i) => `Observation/${idOf(i)}`);
}

/** The indices that satisfy `keep` by effective day, those without one after, by id; both in one direction. */
function byDay(keep: (i: number) => boolean, descending = false): string[] {
  const indices = Array.from({ length: SIZE }, (_, i) => i).filter(keep);
  const valued = indices.filter(dated).sort((a, b) => dayOf(a).localeCompare(dayOf(b)));
  const missing = indices.filter((i) => !dated(i));
  return (descending ? [...valued.reverse(), ...missing.reverse()] : [...valued, ...missing]).map((i) => `Observation/${idOf(i)}`);
}

const codePointOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The indices that satisfy `keep` by a text key (code point order), then by id, both in one direction. */
function byText(keep: (i: number) => boolean, key: (i: number) => string, descending = false): string[] {
  const indices = Array.from({ length: SIZE }, (_, i) => i).filter(keep).sort((a, b) => codePointOrder(key(a), key(b)) || a - b);
  return (descending ? indices.reverse() : indices).map((i) => `Observation/${idOf(i)}`);
}

/** The live patients, named by id, in id order. */
const patientIds = (keep: (id: string) => boolean) =>
  [...FAMILIES.map((_, k) => `p${k}`).filter((id) => id !== `p${DELETED_PATIENT}`), ...Array.from({ length: CROWD }, (_, k) => `crowd-${k}`)]
    .filter(keep).sort(codePointOrder).map((id) => `Patient/${id}`);

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
    // Chains listed by the patients' names: walked from the first rows ('alpha' ascending), walked
    // ten rows per match and then driven ('epsilon' ascending, whose Observations come last), or
    // driven alone (no more matches than the page holds); the deleted patient and the dangling
    // subjects match nothing.
    ['Observation?subject:Patient.name=alpha&_count=4', expected(subjectNamed('Alpha'))],
    ['Observation?subject:Patient.name=epsilon&_count=3', expected(subjectNamed('Epsilon'))],
    ['Observation?subject:Patient.name=epsilon&_count=3&_sort=-_lastUpdated', expected(subjectNamed('Epsilon'), true)],
    ['Observation?subject:Patient.family=epsilon&_count=20', expected(subjectNamed('Epsilon'))],
    ['Observation?subject:Patient.name=delta&code=common&_count=2&_sort=_id', expected((i) => subjectNamed('Delta')(i) && codeOf(i) === 'common')],
    ['Observation?subject:Patient.name=gamma&value-quantity=gt100&_count=5&_sort=-_lastUpdated', expected((i) => subjectNamed('Gamma')(i) && i > 100, true)],
    ['Observation?subject:Patient.name=nobody', []],
    // Too many patients share 'crowd' to list their references: probed from each walked row.
    ['Observation?subject:Patient.name=crowd&_count=2', expected(subjectNamed('Crowd'))],
    // Several target types, and two links, are probed from the walked row too.
    ['Observation?subject.name=beta&_count=3', expected(subjectNamed('Beta'))],
    ['Observation?subject:Patient.organization.name=acme&_count=6&_sort=-_lastUpdated', expected((i) => i !== DELETED && /^p[5-9]$/.test(subjectOf(i)), true)],
    // Sorted on a date: walked in the order of search_sort's date index (migration 012), the
    // resources without a date left to the search that completes the page.
    ['Observation?code=common&_count=2&_sort=date', byDay((i) => codeOf(i) === 'common')],
    ['Observation?code=common&_count=7&_sort=-date', byDay((i) => codeOf(i) === 'common', true)],
    ['Observation?code=rare&_count=2&_sort=-date', byDay((i) => RARE.has(i), true)],
    ['Observation?code=sparse&_count=3&_sort=date', byDay(isSparse)],
    ['Observation?status=final&_count=40&_sort=-date,-_id', byDay((i) => i !== DELETED, true)],
    ['Observation?code=other&value-quantity=gt250&_count=4&_sort=date', byDay((i) => codeOf(i) === 'other' && i > 250 && i !== DELETED)],
    ['Observation?subject:Patient.name=epsilon&_count=3&_sort=-date', byDay(subjectNamed('Epsilon'), true)],
    // Sorted on a number (each value is i mg, so value order is stored order): walked in the
    // order of the number index, past the rows a value range rejects, with a `:not`, or with a
    // code hashed and walked for fifty rows per match before its matches are sorted.
    ['Observation?value-quantity=lt0.1|http://unitsofmeasure.org|g&_count=6&_sort=-value-quantity', expected((i) => i < 100, true)],
    ['Observation?date=ge2020-06-01&_count=4&_sort=value-quantity,_id', expected((i) => i !== DELETED && dated(i) && dayOf(i) >= '2020-06-01')],
    ['Observation?code:not=other&_count=5&_sort=value-quantity', expected((i) => codeOf(i) !== 'other')],
    ['Observation?code=common&_count=3&_sort=-value-quantity', expected((i) => codeOf(i) === 'common', true)],
    ['Observation?status=final&_count=40&_sort=-value-quantity', expected((i) => i !== DELETED, true)],
    // The walk of the sort index has ids in hand: filters on the resource's own columns, and
    // negations, read its row.
    ['Observation?_lastUpdated=gt2000-01-01&_count=9&_sort=-value-quantity', expected((i) => i !== DELETED, true)],
    ['Observation?date:missing=true&_count=3&_sort=value-quantity', expected((i) => !dated(i))],
    ['Observation?code:not=common&date:missing=false&_count=6&_sort=-date', byDay((i) => i !== DELETED && dated(i) && codeOf(i) !== 'common', true)],
    // Sorted on a text (migration 013): a code, whose lowest value sorts ascending and highest
    // descending ('sparse' Observations have two), or a reference's target id; walked with filters,
    // read from the index without.
    ['Observation?status=final&_count=7&_sort=code', byText((i) => i !== DELETED, codeOf)],
    ['Observation?value-quantity=gt100&_count=5&_sort=-code', byText((i) => i > 100 && i !== DELETED, (i) => (isSparse(i) ? 'sparse' : codeOf(i)), true)],
    ['Observation?code=common,rare&_count=4&_sort=-subject', byText((i) => codeOf(i) !== 'other' && i !== DELETED, subjectOf, true)],
    ['Observation?_count=30&_sort=subject', byText((i) => i !== DELETED, subjectOf)],
    // A string (normalised), and a reference that most patients lack: those without come last, by id.
    ['Patient?name=crowd,delta&_count=9&_sort=-family', [...patientIds((id) => ['p5', 'p6', 'p7', 'p8'].includes(id)).reverse(), ...patientIds((id) => id.startsWith('crowd-')).reverse()]],
    ['Patient?_count=25&_sort=organization', [...patientIds((id) => /^p[5-9]$/.test(id)), ...patientIds((id) => !/^p[5-9]$/.test(id))]],
    ['Patient?_count=25&_sort=-organization,-_id', [...patientIds((id) => /^p[5-9]$/.test(id)).reverse(), ...patientIds((id) => !/^p[5-9]$/.test(id)).reverse()]],
  ];
  for (const [query, want] of cases) {
    test(query, async () => {
      const { entries } = await searchAllPages(t, tenant.keys.test, query);
      assert.deepEqual(entries, want);
    });
  }
});

/**
 * Pages merged from ordered references (src/store/search-sql.ts, mergedPage; migration 009): a
 * search by named targets, a compartment, or a chain to under 100 patients, sorted by
 * _lastUpdated alone. Observation k of MERGED has subject q0, q1 or q2 (every fifth dangles)
 * and, every third, two performers: its subject twice, or both other patients. So one resource
 * reaches a target twice, or two targets, or its compartment's owner through two parameters; it
 * must come once. After loading, two are updated (their last_updated becomes the latest, so they
 * move to the end) and one is deleted.
 */
describe('pages merged from ordered references', () => {
  const MERGED = 40;
  const mid = (k: number) => `m-${String(k).padStart(2, '0')}`;
  const subjectQ = (k: number) => (k % 5 === 4 ? 'nobody' : `q${k % 3}`);
  const performersQ = (k: number) => (k % 3 !== 0 ? [] : k % 2 === 0 ? [subjectQ(k), subjectQ(k)] : [`q${(k + 1) % 3}`, `q${(k + 2) % 3}`]);
  const coded = (k: number) => (k % 2 === 0 ? 'even' : 'odd');
  const UPDATED = [3, 10];
  const REMOVED = 7;
  let key: string;

  before(async () => {
    key = (await t.createTenant()).keys.test;
    const patients = ['q0', 'q1', 'q2'].map((id, n) => ({ resource: { resourceType: 'Patient', id, name: [{ family: n === 2 ? 'Other' : 'Merge' }] }, request: { method: 'PUT', url: `Patient/${id}` } }));
    assert.equal((await t.request('POST', '/v1/fhir', { key, contentType: 'application/fhir+json', body: { resourceType: 'Bundle', type: 'transaction', entry: patients } })).status, 200);
    const observation = (k: number, status: string) => ({
      resourceType: 'Observation', id: mid(k), status, code: { coding: [{ system: 'http://example.org/codes', code: coded(k) }] },
      subject: { reference: `Patient/${subjectQ(k)}` },
      ...(performersQ(k).length ? { performer: performersQ(k).map((q) => ({ reference: `Patient/${q}` })) } : {}),
    });
    // Four transactions of ten: last_updated rises by bundle, the id breaks ties within one.
    for (let b = 0; b < 4; b++) {
      const entry = Array.from({ length: 10 }, (_, n) => b * 10 + n).map((k) => ({ resource: observation(k, 'final'), request: { method: 'PUT', url: `Observation/${mid(k)}` } }));
      assert.equal((await t.request('POST', '/v1/fhir', { key, contentType: 'application/fhir+json', body: { resourceType: 'Bundle', type: 'transaction', entry } })).status, 200);
    }
    for (const k of UPDATED) {
      const res = await t.request('PUT', `/v1/fhir/Observation/${mid(k)}`, { key, contentType: 'application/fhir+json', body: observation(k, 'amended') });
      assert.equal(res.status, 200, res.body);
    }
    assert.equal((await t.request('DELETE', `/v1/fhir/Observation/${mid(REMOVED)}`, { key })).status, 204);
  });

  /** The live Observations that satisfy `keep`, in _lastUpdated order: as loaded, then the updated ones. */
  const inOrder = (keep: (k: number) => boolean, descending = false) => {
    const live = Array.from({ length: MERGED }, (_, k) => k).filter((k) => k !== REMOVED);
    const order = [...live.filter((k) => !UPDATED.includes(k)), ...UPDATED].filter(keep).map((k) => `Observation/${mid(k)}`);
    return descending ? order.reverse() : order;
  };
  const refers = (k: number, ...patients: string[]) => [subjectQ(k), ...performersQ(k)].some((q) => patients.includes(q));
  const status = (k: number) => (UPDATED.includes(k) ? 'amended' : 'final');
  /** The live Observations that satisfy `keep`, ordered by `value` and then by id, both in one direction. */
  const byValue = (keep: (k: number) => boolean, value: (k: number) => string, descending = false) => {
    const sorted = Array.from({ length: MERGED }, (_, k) => k)
      .filter((k) => k !== REMOVED && keep(k))
      .sort((a, b) => value(a).localeCompare(value(b)) || mid(a).localeCompare(mid(b)));
    return (descending ? sorted.reverse() : sorted).map((k) => `Observation/${mid(k)}`);
  };

  const cases: Array<[string, string[]]> = [
    ['Observation?subject=Patient/q0&_count=2', inOrder((k) => subjectQ(k) === 'q0')],
    ['Observation?subject=q1&_count=3&_sort=-_lastUpdated', inOrder((k) => subjectQ(k) === 'q1', true)],
    ['Observation?subject=q0,Patient/q2&code=odd&_count=2', inOrder((k) => ['q0', 'q2'].includes(subjectQ(k)) && coded(k) === 'odd')],
    // One Observation may reference both patients, or one patient twice: it comes once.
    ['Observation?performer=q0,q1,q2&_count=1', inOrder((k) => performersQ(k).some((q) => q !== 'nobody'))],
    ['Observation?performer=Patient/q1&_count=2&_sort=-_lastUpdated', inOrder((k) => performersQ(k).includes('q1'), true)],
    ['Patient/q0/Observation?_count=2', inOrder((k) => refers(k, 'q0'))],
    ['Patient/q1/Observation?_count=3', inOrder((k) => refers(k, 'q1'))],
    ['Patient/q2/Observation?_count=4&_sort=-_lastUpdated', inOrder((k) => refers(k, 'q2'), true)],
    ['Patient/q0/Observation?status=amended', inOrder((k) => UPDATED.includes(k) && refers(k, 'q0'))],
    ['Observation?subject:Patient.name=merge&_count=3', inOrder((k) => ['q0', 'q1'].includes(subjectQ(k)))],
    ['Observation?subject:Patient.name=other&_count=2&_sort=-_lastUpdated', inOrder((k) => subjectQ(k) === 'q2', true)],
    // A chain's targets are read up to the last row of the page of the target whose first comes
    // first (chain_bound), with another filter, in both directions; with a page larger than any
    // target's references there is no bound.
    ['Observation?subject:Patient.name=merge&code=odd&_count=2&_sort=-_lastUpdated', inOrder((k) => ['q0', 'q1'].includes(subjectQ(k)) && coded(k) === 'odd', true)],
    ['Observation?subject:Patient.name=merge&code=even&_count=4', inOrder((k) => ['q0', 'q1'].includes(subjectQ(k)) && coded(k) === 'even')],
    ['Observation?subject:Patient.name=merge&_count=30', inOrder((k) => ['q0', 'q1'].includes(subjectQ(k)))],
    ['Observation?subject=nobody&_count=5', inOrder((k) => subjectQ(k) === 'nobody')],
    ['Observation?subject=q9', []],
    // Sorted on a parameter, the same references drive the search (namedMatches): each resource
    // once, the deleted one never, the other filters tested on each.
    ['Observation?subject=q0&_sort=status&_count=2', byValue((k) => subjectQ(k) === 'q0', status)],
    ['Observation?performer=q0,q1,q2&_sort=-code&_count=3', byValue((k) => performersQ(k).some((q) => q !== 'nobody'), coded, true)],
    ['Observation?performer=Patient/q1&code=odd&_sort=-status&_count=1', byValue((k) => performersQ(k).includes('q1') && coded(k) === 'odd', status, true)],
    ['Patient/q2/Observation?_sort=code&_count=4', byValue((k) => refers(k, 'q2'), coded)],
  ];
  for (const [query, want] of cases) {
    test(query, async () => {
      assert.ok(want.length > 0 || query.endsWith('q9'), 'the case selects some Observations');
      const { entries } = await searchAllPages(t, key, query);
      assert.deepEqual(entries, want);
    });
  }
});

/**
 * Pages read in order from a code's quantities (src/store/search-sql.ts, quantityPage; migration
 * 010): a code and a quantity comparison, the only filter, sorted by _lastUpdated alone, matching
 * 200 or more. Observation k has code 'dense' (every third also in a second system, so it has two
 * lead rows and must come once) and value k. After loading, two are updated (they move to the end;
 * the first's value becomes 999) and one is deleted. Below 200 matches the scanned page answers.
 * LONG Observations of code 'long' (value k) come after them: above 290 its matches are many but
 * all at the end, so an ascending read stops after its budget (50 entries per page row) and the
 * scanned page answers the first page, while the pages after the cursor are read in order.
 */
describe('pages read in order from a code\'s quantities', () => {
  const DENSE = 260;
  const did = (k: number) => `d-${String(k).padStart(3, '0')}`;
  const UPDATED = [5, 100];
  const REMOVED = 40;
  const valueOf = (k: number) => (k === UPDATED[0] ? 999 : k);
  const inB = (k: number) => k % 3 === 0;
  const LONG = 500;
  const lid = (k: number) => `l-${String(k).padStart(3, '0')}`;
  let key: string;

  before(async () => {
    key = (await t.createTenant()).keys.test;
    const observation = (k: number, value: number) => ({
      resourceType: 'Observation', id: did(k), status: 'final',
      code: { coding: [{ system: 'http://example.org/a', code: 'dense' }, ...(inB(k) ? [{ system: 'http://example.org/b', code: 'dense' }] : [])] },
      valueQuantity: { value, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
    });
    // Four transactions: last_updated rises by bundle, the id breaks ties within one.
    for (let b = 0; b < 4; b++) {
      const entry = Array.from({ length: DENSE / 4 }, (_, n) => b * (DENSE / 4) + n).map((k) => ({ resource: observation(k, k), request: { method: 'PUT', url: `Observation/${did(k)}` } }));
      assert.equal((await t.request('POST', '/v1/fhir', { key, contentType: 'application/fhir+json', body: { resourceType: 'Bundle', type: 'transaction', entry } })).status, 200);
    }
    for (const k of UPDATED) {
      const res = await t.request('PUT', `/v1/fhir/Observation/${did(k)}`, { key, contentType: 'application/fhir+json', body: observation(k, valueOf(k)) });
      assert.equal(res.status, 200, res.body);
    }
    assert.equal((await t.request('DELETE', `/v1/fhir/Observation/${did(REMOVED)}`, { key })).status, 204);
    for (let b = 0; b < 2; b++) {
      const entry = Array.from({ length: LONG / 2 }, (_, n) => b * (LONG / 2) + n).map((k) => ({
        resource: { ...observation(k, k), id: lid(k), code: { coding: [{ system: 'http://example.org/a', code: 'long' }] } },
        request: { method: 'PUT', url: `Observation/${lid(k)}` },
      }));
      assert.equal((await t.request('POST', '/v1/fhir', { key, contentType: 'application/fhir+json', body: { resourceType: 'Bundle', type: 'transaction', entry } })).status, 200);
    }
  });
  const long = (keep: (k: number) => boolean, descending = false) => {
    const order = Array.from({ length: LONG }, (_, k) => k).filter(keep).map((k) => `Observation/${lid(k)}`);
    return descending ? order.reverse() : order;
  };

  /** The live Observations whose value passes `keep`, in _lastUpdated order: as loaded, then the updated ones. */
  const inOrder = (keep: (value: number, k: number) => boolean, descending = false) => {
    const live = Array.from({ length: DENSE }, (_, k) => k).filter((k) => k !== REMOVED);
    const order = [...live.filter((k) => !UPDATED.includes(k)), ...UPDATED].filter((k) => keep(valueOf(k), k)).map((k) => `Observation/${did(k)}`);
    return descending ? order.reverse() : order;
  };

  const cases: Array<[string, string[]]> = [
    ['Observation?code=dense&value-quantity=ge0&_count=9', inOrder(() => true)],
    ['Observation?code=dense&value-quantity=gt30&_count=8&_sort=-_lastUpdated', inOrder((value) => value > 30, true)],
    ['Observation?code=http://example.org/a|dense&value-quantity=lt250|http://unitsofmeasure.org|mg&_count=7', inOrder((value) => value < 250)],
    ['Observation?code-value-quantity=dense$gt10&_count=25&_sort=-_lastUpdated', inOrder((value) => value > 10, true)],
    // Fewer than 200 matches: the scanned page, the same answers.
    ['Observation?code=http://example.org/b|dense&value-quantity=ge0&_count=4', inOrder((_, k) => inB(k))],
    ['Observation?code=dense&value-quantity=gt240&_count=3', inOrder((value) => value > 240)],
    ['Observation?code=dense&value-quantity=gt1000', []],
    // Many matches, all at the end of the code's entries: ascending, the first page is scanned.
    ['Observation?code=long&value-quantity=gt290&_count=4', long((k) => k > 290)],
    ['Observation?code=long&value-quantity=gt290&_count=5&_sort=-_lastUpdated', long((k) => k > 290, true)],
  ];
  for (const [query, want] of cases) {
    test(query, async () => {
      assert.ok(want.length > 0 || query.includes('gt1000'), 'the case selects some Observations');
      const { entries } = await searchAllPages(t, key, query);
      assert.deepEqual(entries, want);
    });
  }
});
