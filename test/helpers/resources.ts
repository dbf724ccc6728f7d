/**
 * Shared shapes of the resource test files (test/api/{practitioners,observations,…}.test.ts):
 * the per-file app set-up, tenant isolation, the official R4 examples, list checks and the
 * FHIR view. Each helper asserts exactly what the tests asserted inline before.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before } from 'node:test';
import { validateResource } from '../../src/fhir/validate.js';
import { startTestApp, type Response, type Tenant, type TestApp } from './app.js';
import { tenantTags } from './assertions.js';

/**
 * Starts one app (on a database of its own) and one tenant for the whole file, hands both to
 * `use` before the tests run, and closes the app after them.
 */
export function setUpAppWithTenant(use: (t: TestApp, tenant: Tenant) => void): void {
  let app: TestApp | undefined;
  before(async () => {
    app = await startTestApp();
    use(app, await app.createTenant());
  });
  after(() => app?.close());
}

/**
 * Reads the FHIR view of a resource and asserts it validates against R4 (no issues); returns it.
 * `message` labels the validation failure (e.g. the example file).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function readValidFhir(t: TestApp, key: string, fhirType: string, id: string, message?: string): Promise<any> {
  const fhir = (await t.request('GET', `/v1/fhir/${fhirType}/${id}`, { key })).json;
  assert.deepEqual(validateResource(fhir), [], message);
  return fhir;
}

/**
 * Asserts a FHIR resource carries the tenant tag; with `tenantId`, that the (first) tenant tag
 * is that tenant's.
 */
export function assertTenantTag(fhir: { meta?: { tag?: Array<{ system?: string; code?: string }> } }, tenantId?: string): void {
  const tags = tenantTags(fhir);
  if (tenantId === undefined) assert.ok(tags.length > 0, 'a tenant tag');
  else assert.equal(tags[0], tenantId);
}

/** The simplified fields of a response's `data`, after asserting the server set id, createdAt and updatedAt. */
export function strip(data: Record<string, unknown>): Record<string, unknown> {
  const { id, createdAt, updatedAt, ...fields } = data;
  assert.ok(id && createdAt && updatedAt);
  return fields;
}

/** The `diagnostics` of a 4xx error body's issues, in order. */
export function diagnosticsOf(res: { json: { issues: Array<{ diagnostics: string }> } }): string[] {
  return res.json.issues.map((issue) => issue.diagnostics);
}

export interface IsolationCheck {
  /** The tenant that owns the resource; its live key must not see it either. */
  owner: Tenant;
  /** The simplified route, e.g. '/v1/encounters'. */
  path: string;
  id: string;
  /** A valid PATCH body for the resource. */
  patch: unknown;
  /** List URLs that would find the resource for its owner; others must get an empty page. */
  lists: string[];
  /** When given, the FHIR read (`/v1/fhir/{fhirType}/{id}`) must be a 404 as well. */
  fhirType?: string;
}

/**
 * Tenant isolation: a new tenant's test key and the owner's live key get 404 on read, PATCH and
 * DELETE of the resource, an empty page on each list, and (optionally) 404 on the FHIR read.
 */
export async function assertIsolated(t: TestApp, check: IsolationCheck): Promise<void> {
  const { owner, path, id, patch, lists, fhirType } = check;
  const stranger = await t.createTenant();
  for (const key of [stranger.keys.test, owner.keys.live!]) {
    assert.equal((await t.request('GET', `${path}/${id}`, { key })).status, 404);
    assert.equal((await t.request('PATCH', `${path}/${id}`, { key, body: patch })).status, 404);
    assert.equal((await t.request('DELETE', `${path}/${id}`, { key })).status, 404);
    for (const list of lists) assert.equal((await t.request('GET', list, { key })).json.data.data.length, 0);
    if (fhirType) assert.equal((await t.request('GET', `/v1/fhir/${fhirType}/${id}`, { key })).status, 404);
  }
}

/**
 * DELETE answers 204, then the resource is gone: GET is a 404, and so are a PATCH with `patch`
 * (when given) and a second DELETE (unless `deleteAgain` is false).
 */
export async function assertDeleted(t: TestApp, key: string, path: string, id: string, options: { patch?: unknown; deleteAgain?: boolean } = {}): Promise<void> {
  assert.equal((await t.request('DELETE', `${path}/${id}`, { key })).status, 204);
  assert.equal((await t.request('GET', `${path}/${id}`, { key })).status, 404);
  if (options.patch !== undefined) assert.equal((await t.request('PATCH', `${path}/${id}`, { key, body: options.patch })).status, 404);
  if (options.deleteAgain ?? true) assert.equal((await t.request('DELETE', `${path}/${id}`, { key })).status, 404);
}

/** A lister for filter tests: `ids(query)` GETs `${path}?${query}`, asserts 200 and returns the ids in order. */
export function idLister(t: TestApp, key: string, path: string): (query: string) => Promise<string[]> {
  return async (query) => {
    const res = await t.request('GET', `${path}?${query}`, { key });
    assert.equal(res.status, 200, res.body);
    return res.json.data.data.map((item: { id: string }) => item.id);
  };
}

/** GETs a list URL and asserts it answers 200 with exactly `count` items on the page. */
export async function assertListLength(t: TestApp, key: string, url: string, count: number): Promise<void> {
  const list = await t.request('GET', url, { key });
  assert.equal(list.status, 200, list.body);
  assert.equal(list.json.data.data.length, count);
}

/** Each `${path}?${query}&count=100` answers 200. */
export async function assertQueriesAnswer(t: TestApp, key: string, path: string, queries: string[]): Promise<void> {
  for (const query of queries) {
    const res = await t.request('GET', `${path}?${query}&count=100`, { key });
    assert.equal(res.status, 200, `${query}: ${res.body}`);
  }
}

export interface R4Example {
  /** The file under resources/ in the fixtures. */
  file: string;
  id: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  resource: any;
}

const R4_EXAMPLES = new URL('../../../shared/fixtures/fhir-r4-examples/', import.meta.url);

/** Every official R4 example of `fhirType`, as listed by the fixtures' index.json. */
export async function officialR4Examples(fhirType: string): Promise<R4Example[]> {
  const index = JSON.parse(await readFile(new URL('index.json', R4_EXAMPLES), 'utf8'));
  const listed: Array<{ file: string; id: string }> = index.resources[fhirType];
  return Promise.all(listed.map(async ({ file, id }) => ({ file, id, resource: JSON.parse(await readFile(new URL(`resources/${file}`, R4_EXAMPLES), 'utf8')) })));
}

/**
 * Loads each example through `PUT /v1/fhir/{fhirType}/{id}` (201), reads it back through the
 * simplified route `${path}/${id}` (200, same id) and hands the simplified read to `check`.
 */
export async function loadR4Examples(
  t: TestApp,
  key: string,
  target: { fhirType: string; path: string },
  examples: R4Example[],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  check: (example: R4Example, read: Response & { json: { data: any } }) => Promise<void> | void = () => undefined,
): Promise<void> {
  for (const example of examples) {
    const { file, id, resource } = example;
    const put = await t.request('PUT', `/v1/fhir/${target.fhirType}/${id}`, { key, body: resource, contentType: 'application/fhir+json' });
    assert.equal(put.status, 201, `${file}: ${put.body}`);
    const read = await t.request('GET', `${target.path}/${id}`, { key });
    assert.equal(read.status, 200, `${file}: ${read.body}`);
    assert.equal(read.json.data.id, id);
    await check(example, read);
  }
}

/**
 * A read with `_include` (the `url`) answers 200 with a searchset Bundle whose entries are
 * exactly `expected` ('Type/id', in any order).
 */
export async function assertIncludeBundle(t: TestApp, key: string, url: string, expected: string[]): Promise<void> {
  const res = await t.request('GET', url, { key });
  assert.equal(res.status, 200, res.body);
  const bundle = res.json.data ?? res.json;
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'searchset');
  const refs = bundle.entry.map((entry: { resource: { resourceType: string; id: string } }) => `${entry.resource.resourceType}/${entry.resource.id}`).sort();
  assert.deepEqual(refs, [...expected].sort());
}
