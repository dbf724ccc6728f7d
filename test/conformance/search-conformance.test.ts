/**
 * FHIR R4 search conformance over the official examples: every example of the 14 supported
 * types is loaded with PUT into one tenant (many refer to resources that are not in the set, and
 * search must not care), then each query of the table in search-cases.ts runs through HTTP, every
 * page followed, and must answer exactly the hand-derived result. Paging, _elements and tenant
 * isolation, which are not one-query-one-result, are checked below the table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sleep } from '../helpers/assertions.js';
import { startTestApp, type Tenant, type TestApp } from '../helpers/app.js';
import { searchAllPages } from '../helpers/fhir-search.js';
import { officialR4Examples } from '../helpers/resources.js';
import { CASES, EXAMPLE_TYPES, SUPPLEMENTS, type ConformanceCase } from './search-cases.js';

const FHIR = 'application/fhir+json';

let t: TestApp;
let tenant: Tenant;
/** An instant after every example was written and before any supplement was. */
let boundary: string;
const loaded = new Map<string, string[]>();

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
  for (const type of EXAMPLE_TYPES) {
    const examples = await officialR4Examples(type);
    for (const { file, id, resource } of examples) {
      const res = await t.request('PUT', `/v1/fhir/${type}/${id}`, { key: tenant.keys.test, body: resource, contentType: FHIR });
      assert.equal(res.status, 201, `${file}: ${res.body.slice(0, 300)}`);
    }
    loaded.set(type, examples.map(({ id }) => `${type}/${id}`));
  }
  await sleep(20);
  boundary = new Date().toISOString();
  await sleep(20);
  for (const resource of SUPPLEMENTS) {
    const res = await t.request('PUT', `/v1/fhir/${resource.resourceType}/${resource.id}`, { key: tenant.keys.test, body: resource, contentType: FHIR });
    assert.equal(res.status, 201, `${resource.resourceType}/${resource.id}: ${res.body.slice(0, 300)}`);
  }
});
after(() => t?.close());

const key = () => tenant.keys.test;
const sorted = (refs: string[]) => [...refs].sort();

async function check(c: ConformanceCase): Promise<void> {
  const query = c.query.replaceAll('{boundary}', boundary);
  const paged = /[?&]_(count|summary)=/.test(query) ? query : `${query}&_count=100`;
  const { entries, pages } = await searchAllPages(t, key(), paged);
  const message = `${c.query}\n  why: ${c.why}`;
  assert.deepEqual(c.ordered ? entries : sorted(entries), c.ordered ? c.expected : sorted(c.expected), message);
  if (c.total !== undefined) assert.equal(pages[0].total, c.total, `total of ${message}`);
}

describe('FHIR search conformance (official R4 examples)', () => {
  for (const c of CASES) test(c.query, () => check(c));
});

describe('FHIR search paging over the examples', () => {
  test('_count=7 pages through all 64 observations once, keeping the parameters, with no empty last page', async () => {
    for (const query of ['Observation?_count=7', 'Observation?_count=7&_sort=-date', 'Observation?_count=7&_sort=code,-_lastUpdated']) {
      const { entries, pages } = await searchAllPages(t, key(), query);
      assert.deepEqual(sorted(entries), sorted(loaded.get('Observation')!), `${query}: every observation exactly once`);
      assert.equal(pages.length, 10, `${query}: 9 full pages and one of 1`);
      for (const page of pages) assert.ok((page.entry ?? []).length > 0, `${query}: no empty page`);
      for (const page of pages.slice(0, -1)) {
        const next = new URL(page.link!.find((link) => link.relation === 'next')!.url);
        for (const [name, value] of new URL(`http://x/${query}`).searchParams) assert.equal(next.searchParams.get(name), value, `${query}: next keeps ${name}`);
      }
    }
  });

  test('a result that fills its last page exactly has no next link after it', async () => {
    const { entries, pages } = await searchAllPages(t, key(), 'MedicationRequest?_count=10');
    assert.equal(entries.length, 40);
    assert.equal(new Set(entries).size, 40);
    assert.equal(pages.length, 4, 'four full pages, no empty fifth');
  });

  test('paging a filtered, sorted search keeps the filter and the order across pages', async () => {
    const query = 'MedicationRequest?status=active&_sort=-_id&_count=5';
    const { entries, pages } = await searchAllPages(t, key(), query);
    const active = (await searchAllPages(t, key(), 'MedicationRequest?status=active&_count=100')).entries;
    assert.equal(active.length, 18);
    assert.deepEqual(entries, [...active].sort().reverse(), 'descending id order across 4 pages');
    assert.equal(pages.length, 4);
    const next = new URL(pages[0].link!.find((link) => link.relation === 'next')!.url);
    assert.equal(next.searchParams.get('status'), 'active');
    assert.equal(next.searchParams.get('_sort'), '-_id');
  });
});

describe('FHIR search result forms over the examples', () => {
  test('_elements returns only the asked elements and tags the entry SUBSETTED', async () => {
    const { pages } = await searchAllPages(t, key(), 'Patient?_id=example&_elements=gender,birthDate');
    const resource = pages[0].entry![0].resource as Record<string, unknown> & { meta?: { tag?: Array<{ code?: string }> } };
    assert.equal(resource.gender, 'male');
    assert.equal(resource.birthDate, '1974-12-25');
    assert.equal(resource.name, undefined, 'name was not asked for');
    assert.equal(resource.address, undefined, 'address was not asked for');
    assert.ok(resource.meta?.tag?.some((tag) => tag.code === 'SUBSETTED'), 'SUBSETTED tag');
  });

  test('another tenant finds none of the examples', async () => {
    const stranger = await t.createTenant();
    for (const query of ['Patient?family=donald', 'Observation?code=http://loinc.org|15074-8', 'Patient?_has:Observation:patient:code=http://loinc.org|15074-8']) {
      const { entries } = await searchAllPages(t, stranger.keys.test, query);
      assert.deepEqual(entries, [], query);
    }
  });
});
