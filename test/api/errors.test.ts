import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { KeyCache } from '../../src/auth/key-cache.js';
import { Database } from '../../src/store/database.js';
import { assertApiError, assertOutcome } from '../helpers/assertions.js';
import { PUBLIC_URL, startTestApp, type Response, type Tenant, type TestApp } from '../helpers/app.js';
import { freeLoopbackPort } from '../../src/store/embedded.js';

/**
 * Every error the server can answer with today, as a client sees it: status, code, the
 * documented body ({error, message, code, requestId, issues, issue}) on the simplified and admin
 * APIs, an OperationOutcome on the FHIR API, and X-Request-Id equal to the body's requestId.
 */

let t: TestApp;
let tenant: Tenant;

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
});
after(() => t.close());

const PATIENT = { firstName: 'Err', lastName: 'Case' };
const FHIR_PATIENT = { resourceType: 'Patient', name: [{ family: 'Case', given: ['Err'] }] };

async function keyFor(tenantId: string, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await t.admin('POST', `/admin/tenants/${tenantId}/keys`, body);
  assert.equal(res.status, 201, res.body);
  assert.match(res.json.data.key, /^clk_(test|live)_/);
  return { id: res.json.data.id, key: res.json.data.key };
}

describe('authentication errors (401)', () => {
  test('UNAUTHORIZED without a key, on the simplified and the FHIR API', async () => {
    assertApiError(await t.request('GET', '/v1/patients'), 401, 'UNAUTHORIZED');
    assertApiError(await t.request('POST', '/v1/patients', { body: PATIENT }), 401, 'UNAUTHORIZED');
    assertApiError(await t.request('GET', '/v1/patients', { headers: { 'x-api-key': '' } }), 401, 'UNAUTHORIZED');
    assertOutcome(await t.request('GET', '/v1/fhir/Patient'), 401, 'login');
  });

  test('INVALID_KEY_FORMAT for keys that are not clk_live_… or clk_test_…', async () => {
    for (const key of ['nope', 'clk_test_abc123def456', 'clk_prod_' + 'a'.repeat(43), 'Bearer clk_test_' + 'a'.repeat(43), 'clk_test_' + 'a'.repeat(42) + '!']) {
      assertApiError(await t.request('GET', '/v1/patients', { key }), 401, 'INVALID_KEY_FORMAT', key);
    }
    assertOutcome(await t.request('GET', '/v1/fhir/Patient', { key: 'nope' }), 401, 'login');
  });

  test('INVALID_KEY for a well-formed key that does not exist', async () => {
    assertApiError(await t.request('GET', '/v1/patients', { key: `clk_test_${'A'.repeat(43)}` }), 401, 'INVALID_KEY');
    assertApiError(await t.request('GET', '/v1/patients', { key: `clk_live_${'b'.repeat(43)}` }), 401, 'INVALID_KEY');
    // A key differing from a real one in its last character is a different key.
    const forged = tenant.keys.test.slice(0, -1) + (tenant.keys.test.endsWith('A') ? 'B' : 'A');
    assertApiError(await t.request('GET', '/v1/patients', { key: forged }), 401, 'INVALID_KEY');
  });

  test('KEY_REVOKED after DELETE /admin/keys/{id}, the id found through the key listing', async () => {
    const victim = await t.createTenant();
    assert.equal((await t.request('GET', '/v1/patients', { key: victim.keys.test })).status, 200);
    const listing = await t.admin('GET', `/admin/tenants/${victim.tenantId}/keys`);
    assert.equal(listing.status, 200);
    const entry = listing.json.data.find((key: { prefix: string; environment: string }) => key.environment === 'test' && victim.keys.test.startsWith(key.prefix));
    assert.ok(entry, 'the test key is listed');
    const revoked = await t.admin('DELETE', `/admin/keys/${entry.id}`);
    assert.equal(revoked.status, 204);
    assert.equal(revoked.body, '');
    assertApiError(await t.request('GET', '/v1/patients', { key: victim.keys.test }), 401, 'KEY_REVOKED');
    assertOutcome(await t.request('GET', '/v1/fhir/Patient', { key: victim.keys.test }), 401, 'login');
    // The live key of the same tenant is untouched.
    assert.equal((await t.request('GET', '/v1/patients', { key: victim.keys.live! })).status, 200);
    const after = (await t.admin('GET', `/admin/tenants/${victim.tenantId}/keys`)).json.data.find((key: { id: string }) => key.id === entry.id);
    assert.ok(after.revokedAt, 'the listing shows the revocation');
    // Revoking an unknown key is a 404 in the error shape.
    assertApiError(await t.admin('DELETE', '/admin/keys/key_doesnotexist'), 404, 'NOT_FOUND');
  });

  test('KEY_EXPIRED for a key whose expiresAt has passed; a future expiry still works', async () => {
    const expired = await keyFor(tenant.tenantId, { environment: 'test', expiresAt: '2020-01-01T00:00:00Z' });
    assertApiError(await t.request('GET', '/v1/patients', { key: expired.key }), 401, 'KEY_EXPIRED');
    assertOutcome(await t.request('GET', '/v1/fhir/Patient', { key: expired.key }), 401, 'login');
    const future = await keyFor(tenant.tenantId, { environment: 'test', expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal((await t.request('GET', '/v1/patients', { key: future.key })).status, 200);
  });
});

describe('FORBIDDEN (403): key scopes', () => {
  test('a read-scope key may GET but not POST, PATCH or DELETE', async () => {
    const { key } = await keyFor(tenant.tenantId, { environment: 'test', scope: 'read' });
    const id = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: PATIENT })).json.data.id;
    assert.equal((await t.request('GET', '/v1/patients', { key })).status, 200);
    assert.equal((await t.request('GET', `/v1/patients/${id}`, { key })).status, 200);
    assertApiError(await t.request('POST', '/v1/patients', { key, body: PATIENT }), 403, 'FORBIDDEN');
    assertApiError(await t.request('PATCH', `/v1/patients/${id}`, { key, body: { lastName: 'X' } }), 403, 'FORBIDDEN');
    assertApiError(await t.request('DELETE', `/v1/patients/${id}`, { key }), 403, 'FORBIDDEN');
    assertOutcome(await t.request('POST', '/v1/fhir/Patient', { key, body: FHIR_PATIENT }), 403, 'forbidden');
    assert.equal((await t.request('GET', `/v1/patients/${id}`, { key })).json.data.lastName, 'Case', 'nothing was changed');
  });

  test('a write-scope key may POST, PATCH and DELETE but not GET', async () => {
    const { key } = await keyFor(tenant.tenantId, { environment: 'test', scope: 'write' });
    const created = await t.request('POST', '/v1/patients', { key, body: PATIENT });
    assert.equal(created.status, 201);
    const { id } = created.json.data;
    assertApiError(await t.request('GET', '/v1/patients', { key }), 403, 'FORBIDDEN');
    assertApiError(await t.request('GET', `/v1/patients/${id}`, { key }), 403, 'FORBIDDEN');
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key }), 403, 'forbidden');
    assert.equal((await t.request('PATCH', `/v1/patients/${id}`, { key, body: { lastName: 'W' } })).status, 200);
    assert.equal((await t.request('DELETE', `/v1/patients/${id}`, { key })).status, 204);
  });
});

describe('VALIDATION_ERROR (422)', () => {
  test('simplified bodies that fail the schema, including the wrong JSON type', async () => {
    for (const body of [{}, { firstName: 'A' }, { firstName: 1, lastName: 2 }, [], [PATIENT], 'text', 42, null, true]) {
      const res = await t.request('POST', '/v1/patients', { key: tenant.keys.test, body });
      assertApiError(res, 422, 'VALIDATION_ERROR', JSON.stringify(body));
      assert.ok(res.json.issues.length > 0, 'issues are listed');
    }
    const res = await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'A' } });
    assert.deepEqual(res.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics), ['lastName: Required']);
    assert.equal(res.json.error, 'Validation Error');
  });

  test('a FHIR resource that fails validation is a 422 OperationOutcome', async () => {
    const res = await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: { resourceType: 'Patient', gender: 'not-a-gender', birthDate: 'yesterday' }, contentType: 'application/fhir+json' });
    assertOutcome(res, 422, 'invalid');
  });

  test('admin bodies that fail the schema', async () => {
    assertApiError(await t.admin('POST', '/admin/tenants', { plan: 'gold' }), 422, 'VALIDATION_ERROR');
    assertApiError(await t.admin('POST', `/admin/tenants/${tenant.tenantId}/keys`, { environment: 'prod' }), 422, 'VALIDATION_ERROR');
  });
});

describe('INVALID_JSON (400)', () => {
  const NESTED_65 = '['.repeat(65) + ']'.repeat(65);
  const NESTED_64 = '['.repeat(64) + ']'.repeat(64);
  const cases: Array<[string, string | Buffer, string?]> = [
    ['malformed', '{"firstName": "A", '],
    ['trailing garbage', '{"firstName":"A","lastName":"B"} x'],
    ['single quotes', "{'firstName':'A'}"],
    ['empty body', ''],
    ['empty body, fhir+json', '', 'application/fhir+json'],
    ['whitespace only', '   '],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"firstName":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('","lastName":"B"}')])],
    ['overlong UTF-8', Buffer.concat([Buffer.from('{"firstName":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('","lastName":"B"}')])],
    ['UTF-8 lone surrogate bytes', Buffer.concat([Buffer.from('{"firstName":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('","lastName":"B"}')])],
    ['raw NUL byte', Buffer.from('{"firstName":"A\u0000","lastName":"B"}')],
    ['\\u0000 escape', '{"firstName":"A\\u0000","lastName":"B"}'],
    ['\\u0000 escape in a key', '{"first\\u0000Name":"A","lastName":"B"}'],
    ['nesting deeper than 64', NESTED_65],
    ['nesting deeper than 64 inside an object', `{"firstName":"A","lastName":"B","address":${NESTED_65}}`],
  ];

  for (const [name, raw, contentType] of cases) {
    test(`simplified POST: ${name}`, async () => {
      const res = await t.request('POST', '/v1/patients', { key: tenant.keys.test, raw, contentType });
      assertApiError(res, 400, 'INVALID_JSON', name);
    });
  }

  test('PATCH on the simplified API and FHIR POST/PUT/PATCH refuse bad JSON too', async () => {
    const id = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: PATIENT })).json.data.id;
    assertApiError(await t.request('PATCH', `/v1/patients/${id}`, { key: tenant.keys.test, raw: '{', contentType: 'application/json-patch+json' }), 400, 'INVALID_JSON');
    assertOutcome(await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, raw: '{"resourceType":', contentType: 'application/fhir+json' }), 400, 'structure');
    assertOutcome(await t.request('PUT', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test, raw: Buffer.from([0x7b, 0xff, 0x7d]), contentType: 'application/fhir+json' }), 400, 'structure');
    assertOutcome(await t.request('PATCH', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test, raw: NESTED_65, contentType: 'application/json-patch+json' }), 400, 'structure');
    assertOutcome(await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, raw: '', contentType: 'application/fhir+json' }), 400, 'structure');
  });

  test('nesting of exactly 64 levels parses (and then fails the schema, not the parser)', async () => {
    const res = await t.request('POST', '/v1/patients', { key: tenant.keys.test, raw: NESTED_64 });
    assertApiError(res, 422, 'VALIDATION_ERROR');
    // Brackets inside strings do not count as nesting.
    const inString = await t.request('POST', '/v1/patients', { key: tenant.keys.test, raw: JSON.stringify({ firstName: '['.repeat(70), lastName: '{'.repeat(70) }) });
    assert.equal(inString.status, 201, inString.body);
  });

  test('admin routes refuse bad JSON in the error shape', async () => {
    const res = await t.request('POST', '/admin/tenants', { raw: '{"name":', headers: { 'x-admin-key': t.adminKey } });
    assertApiError(res, 400, 'INVALID_JSON');
  });
});

describe('METHOD_OVERRIDE_REJECTED (400)', () => {
  for (const header of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
    test(header, async () => {
      for (const value of ['DELETE', 'GET', 'anything']) {
        assertApiError(await t.request('GET', '/v1/patients', { key: tenant.keys.test, headers: { [header]: value } }), 400, 'METHOD_OVERRIDE_REJECTED', `${header}: ${value}`);
      }
      assertApiError(await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: PATIENT, headers: { [header]: 'PUT' } }), 400, 'METHOD_OVERRIDE_REJECTED');
      // Before authentication: even without a key the override is what gets refused.
      assertApiError(await t.request('GET', '/v1/patients', { headers: { [header]: 'DELETE' } }), 400, 'METHOD_OVERRIDE_REJECTED');
      assertOutcome(await t.request('GET', '/v1/fhir/Patient', { key: tenant.keys.test, headers: { [header]: 'DELETE' } }), 400, 'security');
    });
  }

  test('an overridden POST does not create anything', async () => {
    const quiet = await t.createTenant();
    await t.request('POST', '/v1/patients', { key: quiet.keys.test, body: PATIENT, headers: { 'x-http-method-override': 'POST' } });
    assert.equal((await t.request('GET', '/v1/patients', { key: quiet.keys.test })).json.data.total, 0);
  });
});

describe('RATE_LIMITED (429)', () => {
  test('the 4th request in a minute with rateLimitPerMinute 3 is refused, with Retry-After and X-RateLimit-*', async () => {
    const limited = await t.createTenant({ rateLimitPerMinute: 3 });
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.request('GET', '/v1/patients', { key: limited.keys.test });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.headers['x-ratelimit-limit'], '3');
      remaining.push(Number(res.headers['x-ratelimit-remaining']));
      assert.equal(res.json.meta.rateLimitTotal, 3);
      assert.equal(res.json.meta.rateLimitRemaining, remaining[i]);
    }
    assert.deepEqual(remaining, [2, 1, 0]);
    const refused = await t.request('GET', '/v1/patients', { key: limited.keys.test });
    assertApiError(refused, 429, 'RATE_LIMITED');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${refused.headers['retry-after']}`);
    assert.equal(refused.headers['x-ratelimit-limit'], '3');
    assert.equal(refused.headers['x-ratelimit-remaining'], '0');
    const reset = Number(refused.headers['x-ratelimit-reset']);
    assert.ok(Number.isInteger(reset) && reset >= 1 && reset <= 60);
    // The FHIR API shares the window and answers with an OperationOutcome.
    const fhir = await t.request('GET', '/v1/fhir/Patient', { key: limited.keys.test });
    assertOutcome(fhir, 429, 'throttled');
    assert.ok(Number(fhir.headers['retry-after']) >= 1);
    // Writes are limited too, and a refused write writes nothing.
    assertApiError(await t.request('POST', '/v1/patients', { key: limited.keys.test, body: PATIENT }), 429, 'RATE_LIMITED');
  });

  test('test and live keys share one window', async () => {
    const limited = await t.createTenant({ rateLimitPerMinute: 3 });
    assert.equal((await t.request('GET', '/v1/patients', { key: limited.keys.test })).status, 200);
    assert.equal((await t.request('GET', '/v1/patients', { key: limited.keys.live! })).status, 200);
    assert.equal((await t.request('GET', '/v1/patients', { key: limited.keys.test })).status, 200);
    assertApiError(await t.request('GET', '/v1/patients', { key: limited.keys.live! }), 429, 'RATE_LIMITED');
    assertApiError(await t.request('GET', '/v1/patients', { key: limited.keys.test }), 429, 'RATE_LIMITED');
  });

  test('a sub-organisation shares its parent\'s window', async () => {
    const parent = await t.createTenant({ rateLimitPerMinute: 3 });
    const child = await t.createTenant({ name: 'child', parentTenantId: parent.tenantId, rateLimitPerMinute: undefined });
    assert.equal((await t.request('GET', '/v1/patients', { key: child.keys.test })).headers['x-ratelimit-limit'], '3', 'the parent\'s limit applies');
    assert.equal((await t.request('GET', '/v1/patients', { key: parent.keys.test })).status, 200);
    assert.equal((await t.request('GET', '/v1/patients', { key: child.keys.live! })).status, 200);
    assertApiError(await t.request('GET', '/v1/patients', { key: parent.keys.live! }), 429, 'RATE_LIMITED');
    assertApiError(await t.request('GET', '/v1/patients', { key: child.keys.test }), 429, 'RATE_LIMITED');
    // Another organisation is unaffected.
    assert.equal((await t.request('GET', '/v1/patients', { key: tenant.keys.test })).status, 200);
  });

  test('failed authentications do not use up the window', async () => {
    const limited = await t.createTenant({ rateLimitPerMinute: 3 });
    for (let i = 0; i < 5; i++) assert.equal((await t.request('GET', '/v1/patients', { key: `clk_test_${'z'.repeat(43)}` })).status, 401);
    assert.equal((await t.request('GET', '/v1/patients', { key: limited.keys.test })).headers['x-ratelimit-remaining'], '2');
  });
});

describe('rate-limit headers and meta on success', () => {
  const limitOf = async (key: string) => {
    const res = await t.request('GET', '/v1/patients', { key });
    assert.equal(res.status, 200);
    return res;
  };

  test('the plan\'s number: sandbox 100, pro 1000, team 5000', async () => {
    for (const [plan, limit] of [['sandbox', 100], ['starter', 200], ['pro', 1000], ['team', 5000], ['enterprise', 10000]] as const) {
      const planned = await t.createTenant({ plan, rateLimitPerMinute: undefined });
      const res = await limitOf(planned.keys.test);
      assert.equal(res.headers['x-ratelimit-limit'], String(limit), plan);
      assert.equal(res.headers['x-ratelimit-remaining'], String(limit - 1), plan);
      const reset = Number(res.headers['x-ratelimit-reset']);
      assert.ok(reset >= 1 && reset <= 60, plan);
      assert.equal(res.json.meta.rateLimitTotal, limit);
      assert.equal(res.json.meta.rateLimitRemaining, limit - 1);
      assert.equal(res.json.meta.rateLimitReset, reset);
      assert.equal(res.json.meta.status, 200);
      assert.equal(res.headers['x-request-id'], res.json.meta.requestId);
    }
  });

  test('sandbox tenants have no live key', async () => {
    const sandbox = await t.createTenant({ plan: 'sandbox', rateLimitPerMinute: undefined });
    assert.equal(sandbox.keys.live, null);
  });

  test('PATCH /admin/tenants/{id} rateLimitPerMinute overrides the plan at once', async () => {
    const planned = await t.createTenant({ plan: 'pro', rateLimitPerMinute: undefined });
    assert.equal((await limitOf(planned.keys.test)).headers['x-ratelimit-limit'], '1000');
    const patched = await t.admin('PATCH', `/admin/tenants/${planned.tenantId}`, { rateLimitPerMinute: 7 });
    assert.equal(patched.status, 200, patched.body);
    assert.equal(patched.json.data.rateLimitPerMinute, 7);
    const res = await limitOf(planned.keys.test);
    assert.equal(res.headers['x-ratelimit-limit'], '7');
    assert.equal(res.headers['x-ratelimit-remaining'], '5');
    assert.equal(res.json.meta.rateLimitTotal, 7);
    // Back to unlimited: no limit headers at all.
    await t.admin('PATCH', `/admin/tenants/${planned.tenantId}`, { rateLimitPerMinute: null });
    const unlimited = await limitOf(planned.keys.test);
    assert.equal(unlimited.headers['x-ratelimit-limit'], undefined);
    assert.equal(unlimited.json.meta.rateLimitTotal, undefined);
  });

  test('the FHIR API carries the rate-limit headers too', async () => {
    const planned = await t.createTenant({ plan: 'starter', rateLimitPerMinute: undefined });
    const res = await t.request('GET', '/v1/fhir/Patient', { key: planned.keys.test });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-ratelimit-limit'], '200');
    assert.equal(res.headers['x-ratelimit-remaining'], '199');
    assert.ok(res.headers['x-ratelimit-reset']);
  });
});

describe('NOT_FOUND (404) and METHOD_NOT_ALLOWED (405)', () => {
  test('a missing resource, on both APIs', async () => {
    const id = '0190f0f0-0000-7000-8000-000000000000';
    assertApiError(await t.request('GET', `/v1/patients/${id}`, { key: tenant.keys.test }), 404, 'NOT_FOUND');
    assertApiError(await t.request('PATCH', `/v1/patients/${id}`, { key: tenant.keys.test, body: { lastName: 'X' } }), 404, 'NOT_FOUND');
    assertApiError(await t.request('DELETE', `/v1/patients/${id}`, { key: tenant.keys.test }), 404, 'NOT_FOUND');
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test }), 404, 'not-found');
    assertOutcome(await t.request('DELETE', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test }), 404, 'not-found');
    assertOutcome(await t.request('GET', '/v1/fhir/NotAType', { key: tenant.keys.test }), 404, 'not-found');
    assertOutcome(await t.request('GET', '/v1/fhir/NotAType/abc', { key: tenant.keys.test }), 404, 'not-found');
  });

  test('unknown routes are 404 in the error shape, not the framework default', async () => {
    for (const url of ['/', '/nope', '/v1', '/v1/', '/v1/nonexistent', '/v1/nonexistent/abc', '/v2/patients', '/v1/patients/a/b', '/admin', '/healthz']) {
      assertApiError(await t.request('GET', url), 404, 'NOT_FOUND', url);
    }
    assertApiError(await t.request('POST', '/v1/nonexistent', { body: {} }), 404, 'NOT_FOUND');
    assertOutcome(await t.request('GET', '/v1/fhir/Patient/a/b/c/d'), 404, 'not-found');
  });

  test('path segments longer than the router allows, or that do not decode, are answered in our format', async () => {
    const long = 'a'.repeat(250);
    assertApiError(await t.request('GET', `/v1/patients/${long}`, { key: tenant.keys.test }), 404, 'NOT_FOUND');
    assertApiError(await t.request('DELETE', `/admin/keys/${long}`, { headers: { 'x-admin-key': t.adminKey } }), 404, 'NOT_FOUND');
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${long}`, { key: tenant.keys.test }), 404, 'not-found');
    for (const bad of ['%E0%A4%A', '%zz', '%ED%A0%80', '%00']) {
      assertApiError(await t.request('GET', `/v1/patients/${bad}`, { key: tenant.keys.test }), 400, 'INVALID_REQUEST', bad);
      assertOutcome(await t.request('GET', `/v1/fhir/Patient/${bad}`, { key: tenant.keys.test }), 400, 'invalid', bad);
      assertApiError(await t.request('GET', `/v1/patients?name=${bad}`, { key: tenant.keys.test }), 400, 'INVALID_REQUEST', bad);
    }
  });

  test('405 with Allow on the simplified paths', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await t.request(method, '/v1/patients', { key: tenant.keys.test, body: PATIENT });
      assertApiError(res, 405, 'METHOD_NOT_ALLOWED', method);
      const allow = String(res.headers.allow).split(/,\s*/).sort();
      assert.deepEqual(allow, ['GET', 'HEAD', 'POST']);
    }
    for (const method of ['PUT', 'POST']) {
      const res = await t.request(method, '/v1/patients/abc', { key: tenant.keys.test, body: PATIENT });
      assertApiError(res, 405, 'METHOD_NOT_ALLOWED', method);
      assert.deepEqual(String(res.headers.allow).split(/,\s*/).sort(), ['DELETE', 'GET', 'HEAD', 'PATCH']);
    }
  });

  test('POST on a FHIR instance is a 405 OperationOutcome with Allow', async () => {
    const id = (await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: FHIR_PATIENT })).json.id;
    const res = await t.request('POST', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test, body: FHIR_PATIENT, contentType: 'application/fhir+json' });
    assertOutcome(res, 405, 'not-supported');
    assert.ok(String(res.headers.allow).includes('GET'));
    assert.ok(!String(res.headers.allow).includes('POST'));
  });
});

describe('CONFLICT (409)', () => {
  test('If-Match with a stale version on the simplified and the FHIR API', async () => {
    const id = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: PATIENT })).json.data.id;
    assert.equal((await t.request('PATCH', `/v1/patients/${id}`, { key: tenant.keys.test, body: { lastName: 'One' }, headers: { 'if-match': 'W/"1"' } })).status, 200);
    assertApiError(await t.request('PATCH', `/v1/patients/${id}`, { key: tenant.keys.test, body: { lastName: 'Two' }, headers: { 'if-match': 'W/"1"' } }), 409, 'CONFLICT');
    assertOutcome(await t.request('PUT', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test, body: { ...FHIR_PATIENT, id }, headers: { 'if-match': 'W/"1"' } }), 409, 'conflict');
    assertOutcome(await t.request('PATCH', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test, body: [{ op: 'replace', path: '/gender', value: 'male' }], headers: { 'if-match': '"1"' }, contentType: 'application/json-patch+json' }), 409, 'conflict');
    const current = await t.request('GET', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test });
    assert.equal(current.json.meta.versionId, '2');
    assert.equal(current.json.gender, undefined);
    assert.equal((await t.request('PUT', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test, body: { ...FHIR_PATIENT, id }, headers: { 'if-match': 'W/"2"' } })).status, 200);
  });
});

describe('PAYLOAD_TOO_LARGE (413) and UNSUPPORTED_MEDIA_TYPE (415)', () => {
  const MiB = 1024 * 1024;
  const bodyOfSize = (size: number) => {
    const head = '{"firstName":"A","lastName":"B","note":"';
    return head + 'x'.repeat(size - head.length - 2) + '"}';
  };

  test('simplified bodies over 1 MiB are 413; just under is parsed', async () => {
    const over = await t.request('POST', '/v1/patients', { key: tenant.keys.test, raw: bodyOfSize(MiB + 1) });
    assertApiError(over, 413, 'PAYLOAD_TOO_LARGE');
    const id = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: PATIENT })).json.data.id;
    assertApiError(await t.request('PATCH', `/v1/patients/${id}`, { key: tenant.keys.test, raw: bodyOfSize(2 * MiB) }), 413, 'PAYLOAD_TOO_LARGE');
    const under = await t.request('POST', '/v1/patients', { key: tenant.keys.test, raw: bodyOfSize(MiB - 16) });
    assertApiError(under, 422, 'VALIDATION_ERROR');
  });

  test('the FHIR API accepts bodies over 1 MiB', async () => {
    const data = Buffer.alloc(1536 * 1024, 7).toString('base64');
    const res = await t.request('POST', '/v1/fhir/Binary', { key: tenant.keys.test, body: { resourceType: 'Binary', contentType: 'application/octet-stream', data }, contentType: 'application/fhir+json' });
    assert.notEqual(res.status, 413);
    assert.equal(res.status, 201, res.body.slice(0, 300));
  });

  test('non-JSON bodies are 415 on every surface', async () => {
    for (const contentType of ['text/plain', 'application/xml', 'application/fhir+xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'application/json-seq', 'text/json']) {
      assertApiError(await t.request('POST', '/v1/patients', { key: tenant.keys.test, raw: JSON.stringify(PATIENT), contentType }), 415, 'UNSUPPORTED_MEDIA_TYPE', contentType);
    }
    assertOutcome(await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, raw: JSON.stringify(FHIR_PATIENT), contentType: 'text/plain' }), 415, 'not-supported');
    assertApiError(await t.request('POST', '/admin/tenants', { raw: '{"name":"x"}', contentType: 'text/plain', headers: { 'x-admin-key': t.adminKey } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('a malformed Content-Type header is a client error, not a 500', async () => {
    for (const contentType of [';;;', 'application/', '/json', 'application/json; charset']) {
      const res = await t.request('POST', '/v1/patients', { key: tenant.keys.test, raw: JSON.stringify(PATIENT), contentType });
      assert.ok(res.status === 415 || res.status === 400 || res.status === 201, `${contentType} → ${res.status}`);
      if (res.status !== 201) assert.ok(['UNSUPPORTED_MEDIA_TYPE', 'INVALID_REQUEST', 'INVALID_JSON'].includes(res.json.code), res.body);
    }
  });
});

describe('all accepted content types', () => {
  const TYPES = ['application/json', 'application/fhir+json', 'application/json-patch+json'];
  const variants = TYPES.flatMap((type) => [type, `${type}; charset=utf-8`, `${type};charset=UTF-8`]);

  for (const contentType of variants) {
    test(contentType, async () => {
      const created = await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: PATIENT, contentType });
      assert.equal(created.status, 201, created.body);
      const patched = await t.request('PATCH', `/v1/patients/${created.json.data.id}`, { key: tenant.keys.test, body: { lastName: 'Typed' }, contentType });
      assert.equal(patched.status, 200, patched.body);
      assert.equal(patched.json.data.lastName, 'Typed');
      const fhir = await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: FHIR_PATIENT, contentType });
      assert.equal(fhir.status, 201, fhir.body);
      assert.match(String(fhir.headers['content-type']), /^application\/fhir\+json/);
    });
  }
});

describe('FHIR patch formats', () => {
  test('FHIR PATCH accepts every patchFormat the CapabilityStatement advertises', async () => {
    const formats: string[] = (await t.request('GET', '/v1/metadata')).json.patchFormat ?? [];
    assert.ok(formats.length > 0);
    const id = (await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: FHIR_PATIENT })).json.id;
    for (const format of formats) {
      const body = format.includes('json-patch') ? [{ op: 'add', path: '/active', value: true }] : { active: false };
      const res = await t.request('PATCH', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test, body, contentType: format });
      assert.equal(res.status, 200, `${format}: ${res.body}`);
    }
  });
});

describe('NOT_IMPLEMENTED (501) on reserved FHIR paths', () => {
  const RESERVED: Array<[string, string, unknown?]> = [
    ['GET', '/v1/fhir/Patient/_history'],
    ['GET', '/v1/fhir/Patient/x/_history'],
    ['GET', '/v1/fhir/Patient/x/_history/1'],
    ['GET', '/v1/fhir/_history'],
    ['GET', '/v1/fhir/Patient/x/$export'],
    ['POST', '/v1/fhir/Patient/$validate', { resourceType: 'Parameters' }],
    ['GET', '/v1/fhir/Patient/$validate'],
    ['POST', '/v1/fhir/Patient/$everything', { resourceType: 'Parameters' }],
    ['GET', '/v1/fhir/Patient/x/$everything'],
    ['POST', '/v1/fhir/Patient/x/$everything', { resourceType: 'Parameters' }],
    ['GET', '/v1/fhir/Encounter/x/Observation'],
  ];
  for (const [method, url, body] of RESERVED) {
    test(`${method} ${url}`, async () => {
      const res = await t.request(method, url, { key: tenant.keys.test, body, contentType: body ? 'application/fhir+json' : undefined });
      assertOutcome(res, 501, 'not-supported', `${method} ${url}`);
      assert.match(res.json.issue[0].diagnostics, /not implemented/i);
    });
  }

  test('reserved paths still require a key', async () => {
    assertOutcome(await t.request('GET', '/v1/fhir/Patient/x/$everything'), 401, 'login');
    assertOutcome(await t.request('POST', '/v1/fhir', { body: { resourceType: 'Bundle', type: 'batch' } }), 401, 'login');
  });
});

describe('FHIR-surface errors are OperationOutcomes', () => {
  test('every error status on /v1/fhir comes back as application/fhir+json', async () => {
    assertOutcome(await t.request('GET', '/v1/fhir/Patient', { key: 'bad' }), 401, 'login');
    assertOutcome(await t.request('GET', '/v1/fhir/Patient/bad_id', { key: tenant.keys.test }), 400);
    assertOutcome(await t.request('GET', '/v1/fhir/Patient?birthdate=not-a-date', { key: tenant.keys.test }), 400);
    assertOutcome(await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: { resourceType: 'Observation' } }), 400);
    assertOutcome(await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: [FHIR_PATIENT] }), 400);
    const created = await t.request('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: FHIR_PATIENT });
    assert.equal(created.status, 201);
    assert.equal((await t.request('DELETE', `/v1/fhir/Patient/${created.json.id}`, { key: tenant.keys.test })).status, 204);
    assertOutcome(await t.request('GET', `/v1/fhir/Patient/${created.json.id}`, { key: tenant.keys.test }), 410, 'deleted');
    // The simplified API answers 404 for the same deleted record.
    assertApiError(await t.request('GET', `/v1/patients/${created.json.id}`, { key: tenant.keys.test }), 404, 'NOT_FOUND');
  });
});

describe('requests the HTTP parser rejects', () => {
  const connect = (onConnect?: () => void) => net.connect((t.app.server.address() as net.AddressInfo).port, '127.0.0.1', onConnect);

  /** What the server sends on `socket` until it closes the connection, read as one HTTP response. */
  async function responseOn(socket: net.Socket): Promise<Response> {
    const text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      // The server closes the connection after answering: a hang would fail the test's timeout.
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    const [head, body = ''] = text.split('\r\n\r\n');
    const [statusLine, ...lines] = head.split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    assert.equal(Number(headers['content-length']), Buffer.byteLength(body), text);
    return { status: Number(statusLine.split(' ')[1]), headers, body, json: JSON.parse(body) };
  }

  /** Sends raw bytes to the listening app and reads its answer. */
  function raw(bytes: Buffer): Promise<Response> {
    const socket = connect(() => socket.write(bytes));
    return responseOn(socket);
  }
  const request = (line: string, extraHeaders = '') => Buffer.concat([Buffer.from(line, 'utf8'), Buffer.from(`\r\nhost: x\r\n${extraHeaders}\r\n`)]);

  before(() => t.app.listen({ port: 0, host: '127.0.0.1' }));

  test('a raw non-ASCII character in the URL: 400 in the documented shape, an OperationOutcome on the FHIR API', async () => {
    const api = await raw(request(`GET /v1/patients?name=M\u00d6HR HTTP/1.1`));
    assertApiError(api, 400, 'INVALID_REQUEST');
    assert.equal(api.headers.connection, 'close');
    assert.ok(!api.body.includes('HR'), 'the URL is not echoed');
    assertOutcome(await raw(request(`GET /v1/fhir/Patient?family=M\u00d6HR HTTP/1.1`)), 400, 'invalid');
    assertApiError(await raw(Buffer.from('NOT HTTP AT ALL\r\n\r\n')), 400, 'INVALID_REQUEST');
  });

  test('headers over the size limit: 431, and the server keeps serving', async () => {
    assertApiError(await raw(request('GET /v1/patients HTTP/1.1', `x-big: ${'a'.repeat(20_000)}\r\n`)), 431, 'HEADERS_TOO_LARGE');
    assertOutcome(await raw(request('GET /v1/fhir/Patient HTTP/1.1', `x-big: ${'a'.repeat(20_000)}\r\n`)), 431, 'too-long');
    const after = await raw(request('GET /health HTTP/1.1', 'connection: close\r\n'));
    assert.equal(after.status, 200);
  });

  test('a request that did not arrive in time: 408', async () => {
    // Node raises this after its request timeout (minutes); the server-side socket gets the
    // same error event here, at once.
    const accepted = new Promise<net.Socket>((resolve) => t.app.server.once('connection', resolve));
    const answer = responseOn(connect());
    const timeout = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    t.app.server.emit('clientError', timeout, await accepted);
    const res = await answer;
    assert.equal(res.status, 408, res.body);
    assert.equal(res.json.code, 'REQUEST_TIMEOUT');
  });

  test('each answer is logged as a request line without the URL', async () => {
    const answer = await raw(request(`GET /v1/patients?name=Z\u00fcrich HTTP/1.1`));
    const line = t.logs.find((entry) => entry.includes(answer.json.requestId));
    assert.ok(line, 'logged');
    assert.match(line, /"route":"unparsable"/);
    assert.ok(!line.includes('rich'), line);
  });
});

describe('public endpoints', () => {
  test('/health answers 200 {status:"ok", timestamp} without a key', async () => {
    const res = await t.request('GET', '/health');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json).sort(), ['status', 'timestamp']);
    assert.equal(res.json.status, 'ok');
    assert.ok(Math.abs(Date.parse(res.json.timestamp) - Date.now()) < 60_000);
    assert.match(res.json.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.match(String(res.headers['x-request-id']), /^req_/);
  });

  for (const url of ['/v1/metadata', '/v1/fhir/metadata']) {
    test(`${url} is a CapabilityStatement without a key`, async () => {
      const res = await t.request('GET', url);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
      const statement = res.json;
      assert.equal(statement.resourceType, 'CapabilityStatement');
      assert.equal(statement.fhirVersion, '4.0.1');
      assert.equal(statement.status, 'active');
      assert.equal(statement.kind, 'instance');
      assert.ok(statement.format.includes('application/fhir+json'));
      const rest = statement.rest[0];
      assert.equal(rest.mode, 'server');
      const patient = rest.resource.find((resource: { type: string }) => resource.type === 'Patient');
      assert.ok(patient, 'Patient is listed');
      const params = patient.searchParam.map((param: { name: string }) => param.name);
      for (const name of ['_id', '_lastUpdated', 'name', 'family', 'given', 'birthdate', 'gender', 'email', 'phone', 'identifier']) assert.ok(params.includes(name), name);
      const interactions = patient.interaction.map((interaction: { code: string }) => interaction.code);
      for (const code of ['read', 'create', 'patch', 'delete', 'search-type']) assert.ok(interactions.includes(code), code);
      for (const type of ['Observation', 'Encounter', 'MedicationRequest']) assert.ok(rest.resource.some((resource: { type: string }) => resource.type === type), type);
    });
  }

  /** The app on a store at `port` that is no PostgreSQL, for `fn`. */
  async function withBrokenStore(port: number, fn: (app: ReturnType<typeof buildApp>) => Promise<void>): Promise<void> {
    const connectionString = `postgres://nobody:nothing@127.0.0.1:${port}/nowhere`;
    const db = new Database({ connectionString, max: 1 });
    const keyCache = new KeyCache(db, connectionString);
    const app = buildApp({ db, keyCache, adminKey: 'admin', publicUrl: PUBLIC_URL, logLevel: 'silent' });
    try {
      await app.ready();
      await fn(app);
    } finally {
      await app.close();
      await keyCache.close();
      await db.close();
    }
  }

  test('/health answers 503 when the store is unreachable', async () => {
    await withBrokenStore(await freeLoopbackPort(), async (app) => {
      const started = Date.now();
      const res = await app.inject({ method: 'GET', url: '/health' });
      assert.equal(res.statusCode, 503);
      assert.ok(Date.now() - started < 3000, 'answers promptly');
      const body = JSON.parse(res.body);
      assert.notEqual(body.status, 'ok');
      assert.ok(body.timestamp);
      // Authenticated routes fail cleanly (no hang, no stack in the body).
      const api = await app.inject({ method: 'GET', url: '/v1/patients', headers: { 'x-api-key': `clk_test_${'a'.repeat(43)}` } });
      assert.ok(api.statusCode >= 500, String(api.statusCode));
      const error = JSON.parse(api.body);
      assert.ok(['INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'].includes(error.code), api.body);
      assert.doesNotMatch(api.body, /ECONNREFUSED|127\.0\.0\.1|at \w+ \(/);
    });
  });

  test('/health answers 503 within about a second when the store accepts connections but never answers', async () => {
    // A listener that takes connections and stays silent, until released: the ping hangs and the
    // deadline answers; released before the app closes, which would otherwise wait on the connection.
    const silent = new Set<net.Socket>();
    let holding = true;
    const server = net.createServer((socket) => (holding ? silent.add(socket) : socket.destroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await withBrokenStore((server.address() as net.AddressInfo).port, async (app) => {
        try {
          const started = Date.now();
          const noAnswer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref());
          const res = await Promise.race([app.inject({ method: 'GET', url: '/health' }), noAnswer]);
          const elapsed = Date.now() - started;
          assert.equal(res.statusCode, 503);
          assert.equal(JSON.parse(res.body).status, 'unavailable');
          assert.ok(elapsed >= 900 && elapsed < 3000, `answered after ${elapsed} ms`);
        } finally {
          holding = false;
          for (const socket of silent) socket.destroy();
        }
      });
    } finally {
      server.close();
    }
  });
});
