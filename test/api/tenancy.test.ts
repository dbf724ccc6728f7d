import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertApiError, assertOutcome, sleep, tenantTags, TENANT_TAG_SYSTEM } from '../helpers/assertions.js';
import { startTestApp, type Response, type Tenant, type TestApp } from '../helpers/app.js';

/**
 * Tenant isolation as a client sees it: another tenant's (or environment's) record does not
 * exist — 404 on every path, never 403 or 410 — and the tenant tag can be neither forged nor
 * removed. Plus the admin API's own guarantees: key, erasure scope, secrets, revocation.
 */

let t: TestApp;
let a: Tenant;
let b: Tenant;
let sub: Tenant;

before(async () => {
  t = await startTestApp();
  a = await t.createTenant({ name: 'tenant-a' });
  b = await t.createTenant({ name: 'tenant-b' });
  sub = await t.createTenant({ name: 'a-sub', parentTenantId: a.tenantId });
});
after(() => t.close());

const OBS_CODE = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };
const observation = (patientId: string, value = 72) => ({
  resourceType: 'Observation', status: 'final', code: OBS_CODE, subject: { reference: `Patient/${patientId}` },
  valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
});

async function createPatient(key: string, lastName = 'Owner'): Promise<string> {
  const res = await t.request('POST', '/v1/patients', { key, body: { firstName: 'Iso', lastName } });
  assert.equal(res.status, 201, res.body);
  return res.json.data.id;
}

async function createFhir(key: string, resource: Record<string, unknown>): Promise<Response> {
  const res = await t.request('POST', `/v1/fhir/${String(resource.resourceType)}`, { key, body: resource, contentType: 'application/fhir+json' });
  assert.equal(res.status, 201, res.body);
  return res;
}

/** Every way another party could touch a simplified record: all must say it does not exist. */
async function assertSimplifiedInvisible(key: string, id: string, context: string): Promise<void> {
  assertApiError(await t.request('GET', `/v1/patients/${id}`, { key }), 404, 'NOT_FOUND', `${context} read`);
  assertApiError(await t.request('GET', `/v1/patients/${id}?_revinclude=Observation:subject`, { key }), 404, 'NOT_FOUND', `${context} _revinclude`);
  assertApiError(await t.request('PATCH', `/v1/patients/${id}`, { key, body: { lastName: 'Hijacked' }, contentType: 'application/json-patch+json' }), 404, 'NOT_FOUND', `${context} patch`);
  assertApiError(await t.request('PATCH', `/v1/patients/${id}`, { key, body: { lastName: 'Hijacked' }, headers: { 'if-match': 'W/"1"' } }), 404, 'NOT_FOUND', `${context} patch if-match`);
  assertApiError(await t.request('DELETE', `/v1/patients/${id}`, { key }), 404, 'NOT_FOUND', `${context} delete`);
  const list = await t.request('GET', '/v1/patients?count=100', { key });
  assert.equal(list.status, 200);
  assert.ok(!list.json.data.data.some((p: { id: string }) => p.id === id), `${context} list`);
  const byName = await t.request('GET', '/v1/patients?name=iso', { key });
  assert.ok(!byName.json.data.data.some((p: { id: string }) => p.id === id), `${context} search`);
}

/** The same on the FHIR API (read, PATCH both ways, DELETE, searches): 404 OperationOutcomes. */
async function assertFhirInvisible(key: string, type: string, id: string, context: string): Promise<void> {
  assertOutcome(await t.request('GET', `/v1/fhir/${type}/${id}`, { key }), 404, 'not-found', `${context} read`);
  assertOutcome(await t.request('PATCH', `/v1/fhir/${type}/${id}`, { key, body: [{ op: 'replace', path: '/active', value: false }], contentType: 'application/json-patch+json' }), 404, 'not-found', `${context} json patch`);
  assertOutcome(await t.request('PATCH', `/v1/fhir/${type}/${id}`, { key, body: [{ op: 'test', path: '/id', value: id }], contentType: 'application/json-patch+json' }), 404, 'not-found', `${context} json patch test`);
  assertOutcome(await t.request('PATCH', `/v1/fhir/${type}/${id}`, { key, body: { active: false }, contentType: 'application/fhir+json' }), 404, 'not-found', `${context} merge patch`);
  assertOutcome(await t.request('DELETE', `/v1/fhir/${type}/${id}`, { key }), 404, 'not-found', `${context} delete`);
  for (const query of [`_id=${id}`, '', `_tag=${encodeURIComponent(`${TENANT_TAG_SYSTEM}|${a.tenantId}`)}`, `_tag=${encodeURIComponent(`${TENANT_TAG_SYSTEM}|${b.tenantId}`)}`]) {
    const search = await t.request('GET', `/v1/fhir/${type}?${query}`, { key });
    assert.equal(search.status, 200, `${context} search ${query}: ${search.body}`);
    assert.equal(search.json.resourceType, 'Bundle');
    assert.ok(!(search.json.entry ?? []).some((e: { resource: { id: string } }) => e.resource.id === id), `${context} search ${query}`);
  }
}

describe('simplified API isolation', () => {
  test('another tenant, the other environment and a sub-organisation all get 404 on every path', async () => {
    const id = await createPatient(a.keys.test);
    await assertSimplifiedInvisible(b.keys.test, id, 'other tenant (test)');
    await assertSimplifiedInvisible(b.keys.live!, id, 'other tenant (live)');
    await assertSimplifiedInvisible(a.keys.live!, id, 'same tenant, live key');
    await assertSimplifiedInvisible(sub.keys.test, id, 'sub-organisation');
    const owner = await t.request('GET', `/v1/patients/${id}`, { key: a.keys.test });
    assert.equal(owner.status, 200);
    assert.equal(owner.json.data.lastName, 'Owner', 'no attempt changed it');
    assert.equal((await t.request('GET', `/v1/fhir/Patient/${id}`, { key: a.keys.test })).json.meta.versionId, '1');
  });

  test('live data is invisible to test keys', async () => {
    const id = await createPatient(a.keys.live!, 'Live');
    await assertSimplifiedInvisible(a.keys.test, id, 'test key on live data');
    assert.equal((await t.request('GET', `/v1/patients/${id}`, { key: a.keys.live! })).status, 200);
  });

  test('a deleted record of another tenant is 404, not 410, on the FHIR API too', async () => {
    const id = await createPatient(a.keys.test, 'Deleted');
    assert.equal((await t.request('DELETE', `/v1/patients/${id}`, { key: a.keys.test })).status, 204);
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key: a.keys.test }), 410, 'deleted');
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key: b.keys.test }), 404, 'not-found');
    assertApiError(await t.request('GET', `/v1/patients/${id}`, { key: b.keys.test }), 404, 'NOT_FOUND');
    assertOutcome(await t.request('DELETE', `/v1/fhir/Patient/${id}`, { key: b.keys.test }), 404, 'not-found');
  });
});

describe('FHIR API isolation', () => {
  test('read, PATCH, DELETE and search never reach another tenant\'s or environment\'s resource', async () => {
    const patient = (await createFhir(a.keys.test, { resourceType: 'Patient', active: true, name: [{ family: 'Fhir' }] })).json;
    const obs = (await createFhir(a.keys.test, observation(patient.id))).json;
    for (const [key, context] of [[b.keys.test, 'other tenant'], [b.keys.live!, 'other tenant live'], [a.keys.live!, 'live key'], [sub.keys.test, 'sub-organisation']] as const) {
      await assertFhirInvisible(key, 'Patient', patient.id, context);
      await assertFhirInvisible(key, 'Observation', obs.id, context);
      const bySubject = await t.request('GET', `/v1/fhir/Observation?subject=Patient/${patient.id}`, { key });
      assert.equal(bySubject.status, 200);
      assert.deepEqual(bySubject.json.entry ?? [], [], context);
    }
    const owner = await t.request('GET', `/v1/fhir/Patient/${patient.id}`, { key: a.keys.test });
    assert.equal(owner.json.meta.versionId, '1');
    assert.equal(owner.json.active, true);
    const ownSearch = await t.request('GET', `/v1/fhir/Observation?subject=Patient/${patient.id}`, { key: a.keys.test });
    assert.deepEqual(ownSearch.json.entry.map((e: { resource: { id: string } }) => e.resource.id), [obs.id]);
  });

  test('PUT on another tenant\'s id creates the caller\'s own resource and leaves theirs alone', async () => {
    const theirs = (await createFhir(a.keys.test, { resourceType: 'Patient', name: [{ family: 'Theirs' }] })).json;
    const put = await t.request('PUT', `/v1/fhir/Patient/${theirs.id}`, { key: b.keys.test, body: { resourceType: 'Patient', id: theirs.id, name: [{ family: 'Mine' }] }, contentType: 'application/fhir+json' });
    assert.equal(put.status, 201, 'a create in the caller\'s own space, not an update of theirs');
    assert.equal(put.json.meta.versionId, '1');
    assert.deepEqual(tenantTags(put.json), [b.tenantId]);
    assert.equal(put.json.name[0].family, 'Mine');
    const original = await t.request('GET', `/v1/fhir/Patient/${theirs.id}`, { key: a.keys.test });
    assert.equal(original.json.name[0].family, 'Theirs');
    assert.equal(original.json.meta.versionId, '1');
    assert.deepEqual(tenantTags(original.json), [a.tenantId]);
    // An If-Match PUT on another tenant's id does not learn its version either.
    const conditional = await t.request('PUT', `/v1/fhir/Patient/${theirs.id}`, { key: sub.keys.test, body: { resourceType: 'Patient', id: theirs.id }, headers: { 'if-match': 'W/"1"' } });
    assert.ok(conditional.status !== 200 && conditional.status !== 403 && conditional.status !== 410, String(conditional.status));
    assert.equal((await t.request('GET', `/v1/fhir/Patient/${theirs.id}`, { key: a.keys.test })).json.meta.versionId, '1');
  });

  test('_revinclude only includes the caller\'s resources, even for a shared id', async () => {
    const id = await createPatient(a.keys.test, 'Shared');
    const mine = await t.request('PUT', `/v1/fhir/Patient/${id}`, { key: b.keys.test, body: { resourceType: 'Patient', id, name: [{ family: 'SharedB' }] } });
    assert.equal(mine.status, 201);
    const obsA = (await createFhir(a.keys.test, observation(id, 60))).json;
    const obsB = (await createFhir(b.keys.test, observation(id, 90))).json;
    const obsLive = (await createFhir(a.keys.live!, observation(id, 99))).json;
    const obsSub = (await createFhir(sub.keys.test, observation(id, 98))).json;

    const entries = async (key: string) => {
      const res = await t.request('GET', `/v1/patients/${id}?_revinclude=Observation:subject&_revinclude=Observation:patient`, { key });
      assert.equal(res.status, 200, res.body);
      return res.json.data.entry.map((e: { resource: { resourceType: string; id: string; meta: { tag: Array<{ system?: string; code?: string }> } } }) => [e.resource.resourceType, e.resource.id, tenantTags(e.resource)]);
    };
    assert.deepEqual(await entries(a.keys.test), [['Patient', id, [a.tenantId]], ['Observation', obsA.id, [a.tenantId]]]);
    assert.deepEqual(await entries(b.keys.test), [['Patient', id, [b.tenantId]], ['Observation', obsB.id, [b.tenantId]]]);
    for (const other of [obsLive.id, obsSub.id]) assert.ok(![obsA.id, obsB.id].includes(other));
    // A sub-organisation or the live environment without its own patient: 404.
    assertApiError(await t.request('GET', `/v1/patients/${id}?_revinclude=Observation:subject`, { key: sub.keys.test }), 404, 'NOT_FOUND');
    assertApiError(await t.request('GET', `/v1/patients/${id}?_revinclude=Observation:subject`, { key: a.keys.live! }), 404, 'NOT_FOUND');
  });
});

describe('sub-organisations', () => {
  test('a sub-organisation\'s data is its own, tagged with its own id, and separate from its parent\'s', async () => {
    const created = await t.admin('GET', `/admin/tenants/${sub.tenantId}`);
    assert.equal(created.json.data.parentTenantId, a.tenantId);
    const id = await createPatient(sub.keys.test, 'SubOwned');
    const fhir = await t.request('GET', `/v1/fhir/Patient/${id}`, { key: sub.keys.test });
    assert.equal(fhir.status, 200);
    assert.deepEqual(tenantTags(fhir.json), [sub.tenantId]);
    assert.notEqual(sub.tenantId, a.tenantId);
    await assertSimplifiedInvisible(a.keys.test, id, 'parent on sub data');
    await assertFhirInvisible(a.keys.test, 'Patient', id, 'parent on sub data');
    await assertSimplifiedInvisible(sub.keys.live!, id, 'sub live key on sub test data');
    const parentId = await createPatient(a.keys.test, 'ParentOwned');
    await assertSimplifiedInvisible(sub.keys.test, parentId, 'sub on parent data');
    assert.deepEqual(tenantTags((await t.request('GET', `/v1/fhir/Patient/${parentId}`, { key: a.keys.test })).json), [a.tenantId]);
  });

  test('a sub-organisation cannot have sub-organisations, and an unknown parent is refused', async () => {
    assertApiError(await t.admin('POST', '/admin/tenants', { name: 'grandchild', parentTenantId: sub.tenantId }), 422, 'VALIDATION_ERROR');
    assertApiError(await t.admin('POST', '/admin/tenants', { name: 'orphan', parentTenantId: 'org_doesnotexist' }), 404, 'NOT_FOUND');
  });
});

describe('the tenant tag cannot be forged or removed', () => {
  const forged = () => ({
    resourceType: 'Patient',
    meta: { tag: [{ system: TENANT_TAG_SYSTEM, code: a.tenantId }, { system: 'http://example.org/tags', code: 'keep-me' }] },
    name: [{ family: 'Forger' }],
  });

  const assertOwnedByB = async (id: string, context: string) => {
    const res = await t.request('GET', `/v1/fhir/Patient/${id}`, { key: b.keys.test });
    assert.equal(res.status, 200, context);
    assert.deepEqual(tenantTags(res.json), [b.tenantId], context);
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key: a.keys.test }), 404, 'not-found', context);
    const search = await t.request('GET', `/v1/fhir/Patient?_id=${id}`, { key: a.keys.test });
    assert.deepEqual(search.json.entry ?? [], [], context);
    return res.json;
  };

  test('on create, a tag naming another tenant is replaced; other tags are kept', async () => {
    const created = await createFhir(b.keys.test, forged());
    assert.deepEqual(tenantTags(created.json), [b.tenantId]);
    assert.ok(created.json.meta.tag.some((tag: { code: string }) => tag.code === 'keep-me'));
    await assertOwnedByB(created.json.id, 'create');
    // Searching with the forged tag finds nothing, even for the forger.
    const spoofed = await t.request('GET', `/v1/fhir/Patient?_tag=${encodeURIComponent(`${TENANT_TAG_SYSTEM}|${a.tenantId}`)}`, { key: b.keys.test });
    assert.deepEqual(spoofed.json.entry ?? [], []);
  });

  test('on PUT, a tag naming another tenant is replaced', async () => {
    const id = (await createFhir(b.keys.test, { resourceType: 'Patient' })).json.id;
    const put = await t.request('PUT', `/v1/fhir/Patient/${id}`, { key: b.keys.test, body: { ...forged(), id } });
    assert.equal(put.status, 200, put.body);
    assert.deepEqual(tenantTags(put.json), [b.tenantId]);
    await assertOwnedByB(id, 'put');
    // PUT creating a new id with a forged tag.
    const fresh = await t.request('PUT', '/v1/fhir/Patient/forged-put-id', { key: b.keys.test, body: { ...forged(), id: 'forged-put-id' } });
    assert.equal(fresh.status, 201);
    await assertOwnedByB('forged-put-id', 'put-create');
  });

  test('JSON Patch cannot remove or rewrite the tag', async () => {
    const created = (await createFhir(b.keys.test, forged())).json;
    const index = created.meta.tag.findIndex((tag: { system: string }) => tag.system === TENANT_TAG_SYSTEM);
    const patches = [
      [{ op: 'remove', path: `/meta/tag/${index}` }],
      [{ op: 'replace', path: `/meta/tag/${index}/code`, value: a.tenantId }],
      [{ op: 'remove', path: '/meta/tag' }],
      [{ op: 'remove', path: '/meta' }],
      [{ op: 'add', path: '/meta/tag/-', value: { system: TENANT_TAG_SYSTEM, code: a.tenantId } }],
      [{ op: 'replace', path: '/meta', value: { tag: [{ system: TENANT_TAG_SYSTEM, code: a.tenantId }] } }],
    ];
    for (const patch of patches) {
      const res = await t.request('PATCH', `/v1/fhir/Patient/${created.id}`, { key: b.keys.test, body: patch, contentType: 'application/json-patch+json' });
      assert.equal(res.status, 200, `${JSON.stringify(patch)}: ${res.body}`);
      assert.deepEqual(tenantTags(res.json), [b.tenantId], JSON.stringify(patch));
      await assertOwnedByB(created.id, JSON.stringify(patch));
    }
  });

  test('merge patch cannot remove or rewrite the tag', async () => {
    const created = (await createFhir(b.keys.test, forged())).json;
    for (const patch of [{ meta: null }, { meta: { tag: null } }, { meta: { tag: [] } }, { meta: { tag: [{ system: TENANT_TAG_SYSTEM, code: a.tenantId }] } }]) {
      const res = await t.request('PATCH', `/v1/fhir/Patient/${created.id}`, { key: b.keys.test, body: patch, contentType: 'application/fhir+json' });
      assert.equal(res.status, 200, `${JSON.stringify(patch)}: ${res.body}`);
      assert.deepEqual(tenantTags(res.json), [b.tenantId], JSON.stringify(patch));
      await assertOwnedByB(created.id, JSON.stringify(patch));
    }
  });

  test('the simplified API does not accept a tag at all', async () => {
    const res = await t.request('POST', '/v1/patients', { key: b.keys.test, body: { firstName: 'A', lastName: 'B', meta: { tag: [{ system: TENANT_TAG_SYSTEM, code: a.tenantId }] } } });
    assertApiError(res, 422, 'VALIDATION_ERROR');
  });
});

describe('admin API', () => {
  test('sandbox tenants get keys.live null and cannot create live keys', async () => {
    const res = await t.admin('POST', '/admin/tenants', { name: 'sandboxed', plan: 'sandbox' });
    assert.equal(res.status, 201);
    assert.equal(res.json.data.keys.live, null);
    assert.match(res.json.data.keys.test, /^clk_test_[A-Za-z0-9_-]{32,}$/);
    assert.equal(res.json.data.plan, 'sandbox');
    assertApiError(await t.admin('POST', `/admin/tenants/${res.json.data.tenantId}/keys`, { environment: 'live' }), 422, 'VALIDATION_ERROR');
    const paid = await t.admin('POST', '/admin/tenants', { name: 'paid', plan: 'starter' });
    assert.match(paid.json.data.keys.live, /^clk_live_[A-Za-z0-9_-]{32,}$/);
  });

  test('every admin route requires x-admin-key: 401 without it or with a wrong one, and nothing happens', async () => {
    const listing = (await t.admin('GET', `/admin/tenants/${b.tenantId}/keys`)).json.data;
    const keyId = listing[0].id;
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/admin/tenants', { name: 'sneaky' }],
      ['GET', `/admin/tenants/${a.tenantId}`],
      ['PATCH', `/admin/tenants/${b.tenantId}`, { rateLimitPerMinute: 1 }],
      ['POST', `/admin/tenants/${b.tenantId}/keys`, { environment: 'test' }],
      ['GET', `/admin/tenants/${b.tenantId}/keys`],
      ['DELETE', `/admin/keys/${keyId}`],
      ['DELETE', `/admin/tenants/${a.tenantId}/test/resources/Patient/x`],
      ['POST', '/admin/reindex', {}],
    ];
    for (const [method, url, body] of routes) {
      assertApiError(await t.request(method, url, { body }), 401, 'UNAUTHORIZED', `${method} ${url} without`);
      for (const wrong of ['wrong', `${t.adminKey}x`, t.adminKey.slice(0, -1), b.keys.test]) {
        assertApiError(await t.request(method, url, { body, headers: { 'x-admin-key': wrong } }), 401, 'INVALID_KEY', `${method} ${url} wrong`);
      }
      // An API key is not an admin key.
      assertApiError(await t.request(method, url, { body, key: b.keys.test }), 401, 'UNAUTHORIZED', `${method} ${url} api key`);
    }
    // Nothing was done: B's keys still work, and its limit was not changed.
    const still = await t.request('GET', '/v1/patients', { key: b.keys.test });
    assert.equal(still.status, 200);
    assert.equal(still.headers['x-ratelimit-limit'], undefined);
    assert.equal((await t.admin('GET', `/admin/tenants/${b.tenantId}/keys`)).json.data.length, listing.length);
  });

  test('key listing never returns secrets', async () => {
    const extra = await t.admin('POST', `/admin/tenants/${a.tenantId}/keys`, { environment: 'test', scope: 'read' });
    assert.equal(extra.status, 201);
    const secrets = [a.keys.test, a.keys.live!, extra.json.data.key as string];
    const res = await t.admin('GET', `/admin/tenants/${a.tenantId}/keys`);
    assert.equal(res.status, 200);
    assert.ok(res.json.data.length >= 3);
    for (const entry of res.json.data) {
      assert.equal(entry.key, undefined);
      assert.ok(!('key' in entry));
      assert.ok(!('keyHash' in entry) && !('key_hash' in entry));
      assert.ok(entry.prefix.length <= 'clk_test_'.length + 8, 'only a short display prefix');
    }
    for (const secret of secrets) {
      assert.ok(!res.body.includes(secret), 'the full key is not in the listing');
      // Nor any long piece of its random part.
      const random = secret.slice('clk_test_'.length);
      for (let i = 0; i + 16 <= random.length; i += 4) assert.ok(!res.body.includes(random.slice(i, i + 16)));
    }
    const tenantView = await t.admin('GET', `/admin/tenants/${a.tenantId}`);
    for (const secret of secrets) assert.ok(!tenantView.body.includes(secret));
  });

  test('unknown tenants and keys are 404 in the error shape', async () => {
    assertApiError(await t.admin('GET', '/admin/tenants/org_nope'), 404, 'NOT_FOUND');
    assertApiError(await t.admin('GET', '/admin/tenants/org_nope/keys'), 404, 'NOT_FOUND');
    assertApiError(await t.admin('POST', '/admin/tenants/org_nope/keys', { environment: 'test' }), 404, 'NOT_FOUND');
    assertApiError(await t.admin('PATCH', '/admin/tenants/org_nope', { name: 'x' }), 404, 'NOT_FOUND');
  });
});

describe('admin erasure', () => {
  const historyRows = async (id: string) =>
    Number((await t.database.db.pool.query('SELECT count(*)::int AS n FROM resource_history WHERE id = $1', [id])).rows[0].n);
  const indexRows = async (id: string) =>
    Number((await t.database.db.pool.query('SELECT count(*)::int AS n FROM search_string WHERE resource_id = $1', [id])).rows[0].n);

  test('removes the resource and its history; a FHIR read then answers 404, not 410', async () => {
    const id = await createPatient(a.keys.test, 'Erasable');
    assert.equal((await t.request('PATCH', `/v1/patients/${id}`, { key: a.keys.test, body: { lastName: 'Erasable2' } })).status, 200);
    assert.equal(await historyRows(id), 2);
    assert.ok((await indexRows(id)) > 0);
    const erased = await t.admin('DELETE', `/admin/tenants/${a.tenantId}/test/resources/Patient/${id}`);
    assert.equal(erased.status, 204, erased.body);
    assert.equal(erased.body, '');
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key: a.keys.test }), 404, 'not-found');
    assertApiError(await t.request('GET', `/v1/patients/${id}`, { key: a.keys.test }), 404, 'NOT_FOUND');
    assert.deepEqual((await t.request('GET', '/v1/patients?name=erasable', { key: a.keys.test })).json.data.data, []);
    assert.equal(await historyRows(id), 0);
    assert.equal(await indexRows(id), 0);
    assertApiError(await t.admin('DELETE', `/admin/tenants/${a.tenantId}/test/resources/Patient/${id}`), 404, 'NOT_FOUND');
  });

  test('erasing a deleted resource removes the tombstone (410 becomes 404)', async () => {
    const id = await createPatient(a.keys.test, 'Tomb');
    assert.equal((await t.request('DELETE', `/v1/patients/${id}`, { key: a.keys.test })).status, 204);
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key: a.keys.test }), 410, 'deleted');
    assert.equal((await t.admin('DELETE', `/admin/tenants/${a.tenantId}/test/resources/Patient/${id}`)).status, 204);
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key: a.keys.test }), 404, 'not-found');
    assert.equal(await historyRows(id), 0);
  });

  test('is tenant- and environment-scoped: the wrong tenant, environment or type leaves the record alone', async () => {
    const id = await createPatient(a.keys.test, 'Keep');
    for (const url of [
      `/admin/tenants/${b.tenantId}/test/resources/Patient/${id}`,
      `/admin/tenants/${sub.tenantId}/test/resources/Patient/${id}`,
      `/admin/tenants/${a.tenantId}/live/resources/Patient/${id}`,
      `/admin/tenants/${a.tenantId}/prod/resources/Patient/${id}`,
      `/admin/tenants/${a.tenantId}/test/resources/Observation/${id}`,
      `/admin/tenants/${a.tenantId}/test/resources/NotAType/${id}`,
      `/admin/tenants/org_nope/test/resources/Patient/${id}`,
      `/admin/tenants/${a.tenantId}/test/resources/Patient/bad_id`,
    ]) {
      assertApiError(await t.admin('DELETE', url), 404, 'NOT_FOUND', url);
    }
    const still = await t.request('GET', `/v1/patients/${id}`, { key: a.keys.test });
    assert.equal(still.status, 200);
    assert.equal(still.json.data.lastName, 'Keep');
    assert.equal(await historyRows(id), 1);
  });

  test('erasure of one tenant\'s copy of a shared id leaves the other tenant\'s copy', async () => {
    const id = await createPatient(a.keys.test, 'CopyA');
    assert.equal((await t.request('PUT', `/v1/fhir/Patient/${id}`, { key: b.keys.test, body: { resourceType: 'Patient', id, name: [{ family: 'CopyB' }] } })).status, 201);
    assert.equal((await t.admin('DELETE', `/admin/tenants/${b.tenantId}/test/resources/Patient/${id}`)).status, 204);
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key: b.keys.test }), 404, 'not-found');
    const survivor = await t.request('GET', `/v1/patients/${id}`, { key: a.keys.test });
    assert.equal(survivor.status, 200);
    assert.equal(survivor.json.data.lastName, 'CopyA');
    assert.equal(await historyRows(id), 1);
  });
});

describe('key revocation across nodes', () => {
  test('a revoked key is refused at once on the revoking node and within 1 s on another node', async () => {
    const second = await startTestApp({ database: t.database, adminKey: t.adminKey });
    try {
      const owner = await t.createTenant({ name: 'revocable' });
      // A key created on one node works on the other immediately.
      const fresh = await t.admin('POST', `/admin/tenants/${owner.tenantId}/keys`, { environment: 'test' });
      assert.equal((await second.request('GET', '/v1/patients', { key: fresh.json.data.key })).status, 200);

      for (const [revoker, other, label] of [[t, second, 'node 1 revokes'], [second, t, 'node 2 revokes']] as const) {
        const created = await revoker.admin('POST', `/admin/tenants/${owner.tenantId}/keys`, { environment: 'test' });
        const { id, key } = created.json.data;
        // Both nodes have the key cached.
        for (let i = 0; i < 3; i++) {
          assert.equal((await revoker.request('GET', '/v1/patients', { key })).status, 200);
          assert.equal((await other.request('GET', '/v1/patients', { key })).status, 200);
        }
        assert.equal((await revoker.admin('DELETE', `/admin/keys/${id}`)).status, 204);
        assertApiError(await revoker.request('GET', '/v1/patients', { key }), 401, 'KEY_REVOKED', label);
        const started = Date.now();
        let res: Response;
        do {
          res = await other.request('GET', '/v1/patients', { key });
          if (res.status === 401) break;
          await sleep(25);
        } while (Date.now() - started < 2000);
        const elapsed = Date.now() - started;
        assertApiError(res, 401, 'KEY_REVOKED', label);
        assert.ok(elapsed < 1000, `${label}: refused on the other node after ${elapsed} ms`);
      }
      // The tenant's other keys keep working on both nodes.
      assert.equal((await second.request('GET', '/v1/patients', { key: owner.keys.test })).status, 200);
      assert.equal((await t.request('GET', '/v1/patients', { key: owner.keys.test })).status, 200);
    } finally {
      await second.close();
    }
  });

  test('a plan change on one node reaches the other node\'s cached keys', async () => {
    const second = await startTestApp({ database: t.database, adminKey: t.adminKey });
    try {
      const owner = await t.createTenant({ name: 'replanned', plan: 'pro', rateLimitPerMinute: undefined });
      assert.equal((await second.request('GET', '/v1/patients', { key: owner.keys.test })).headers['x-ratelimit-limit'], '1000');
      assert.equal((await t.admin('PATCH', `/admin/tenants/${owner.tenantId}`, { plan: 'team' })).status, 200);
      const started = Date.now();
      let limit: unknown;
      do {
        limit = (await second.request('GET', '/v1/patients', { key: owner.keys.test })).headers['x-ratelimit-limit'];
        if (limit === '5000') break;
        await sleep(25);
      } while (Date.now() - started < 2000);
      assert.equal(limit, '5000');
      assert.ok(Date.now() - started < 1000);
    } finally {
      await second.close();
    }
  });
});
