/**
 * Drives a FHIR search through HTTP the way a client pages through it: GET the first page, then
 * follow each Bundle's `next` link (an absolute URL on the test app's public base) to the end.
 * Shared by the conformance suite and the differential property test.
 */
import assert from 'node:assert/strict';
import { PUBLIC_URL, type TestApp } from './app.js';

export interface SearchBundle {
  resourceType: string;
  type: string;
  total?: number;
  link?: Array<{ relation: string; url: string }>;
  entry?: Array<{ fullUrl?: string; resource: { resourceType: string; id: string; [key: string]: unknown }; search?: { mode?: string } }>;
}

export interface SearchWalk {
  /** Every entry in page order, as 'Type/id', with a '+' in front of `search.mode = include` entries. */
  entries: string[];
  pages: SearchBundle[];
}

const FHIR_BASE = `${PUBLIC_URL}/v1/fhir/`;

/** A safety stop so that a cursor that never ends fails the test instead of hanging it. */
const MAX_PAGES = 60;

/** `query` is the part after /v1/fhir/, e.g. 'Patient?name=x'. Asserts every page is a 200 searchset Bundle. */
export async function searchAllPages(t: TestApp, key: string, query: string): Promise<SearchWalk> {
  const entries: string[] = [];
  const pages: SearchBundle[] = [];
  let path: string | undefined = `/v1/fhir/${query}`;
  while (path) {
    assert.ok(pages.length < MAX_PAGES, `${query}: more than ${MAX_PAGES} pages`);
    const res = await t.request('GET', path, { key });
    assert.equal(res.status, 200, `${query} (page ${pages.length + 1}): ${res.body.slice(0, 500)}`);
    const bundle = res.json as SearchBundle;
    assert.equal(bundle.resourceType, 'Bundle', query);
    assert.equal(bundle.type, 'searchset', query);
    pages.push(bundle);
    for (const entry of bundle.entry ?? []) {
      entries.push(`${entry.search?.mode === 'include' ? '+' : ''}${entry.resource.resourceType}/${entry.resource.id}`);
    }
    const next = bundle.link?.find((link) => link.relation === 'next')?.url;
    if (next) assert.ok(next.startsWith(FHIR_BASE), `${query}: next link ${next} is not on ${FHIR_BASE}`);
    path = next ? `/v1/fhir/${next.slice(FHIR_BASE.length)}` : undefined;
  }
  return { entries, pages };
}
