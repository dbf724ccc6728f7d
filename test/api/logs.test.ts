import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { KeyCache } from '../../src/auth/key-cache.js';
import { Database } from '../../src/store/database.js';
import { sleep } from '../helpers/assertions.js';
import { PUBLIC_URL, startTestApp, type RequestOptions, type Response, type Tenant, type TestApp } from '../helpers/app.js';
import { freeLoopbackPort } from '../../src/store/embedded.js';

/**
 * The PHI rule for logs and errors: after a realistic session — creates, searches, validation
 * errors, 404s — no log line holds a name, email, birth date, phone number, address, or key,
 * and every request left exactly one line with its id, route pattern, status and latency.
 */

const PERSON = {
  firstName: 'Zebulonius',
  lastName: 'Quixotically',
  email: 'zebulonius.quixotic@example.org',
  phone: '+1-555-0199-7731',
  birthDate: '1937-11-23',
  address: { line: ['742 Evergreenia Terrace'], city: 'Springfieldham', state: 'TX', postalCode: '73301' },
  contact: [{ relationship: 'sibling', firstName: 'Marzipania', lastName: 'Quixotically', email: 'marzipania@example.org', phone: '+1-555-0144-0001' }],
};
const SECOND = { firstName: 'Ottoline', lastName: 'Pemberthwaite', email: 'ottoline.p@example.net', birthDate: '1951-02-14', phone: '555-867-5309' };
const FHIR_PERSON = {
  resourceType: 'Patient',
  name: [{ family: 'Vandersloot', given: ['Hieronyma'] }],
  birthDate: '1962-07-04',
  telecom: [{ system: 'email', value: 'hieronyma.v@example.com' }, { system: 'phone', value: '+44 20 7946 0958' }],
};
/** Values sent only in requests that fail validation. */
const INVALID = { email: 'not-an-email-bartholomew', firstName: 'Bartholomew'.repeat(12), birthDate: '1977-02-30', secret: 'Ulysandra-Secret-Field' };

let t: TestApp;
let tenant: Tenant;
const responses: Response[] = [];
let firstLogLine = 0;

async function call(method: string, url: string, options: RequestOptions = {}): Promise<Response> {
  const res = await t.request(method, url, options);
  responses.push(res);
  return res;
}

function phiValues(): string[] {
  return [
    PERSON.firstName, PERSON.lastName, PERSON.email, PERSON.phone, PERSON.birthDate, PERSON.address.line[0], PERSON.address.city,
    PERSON.contact[0].firstName, PERSON.contact[0].email, PERSON.contact[0].phone,
    SECOND.firstName, SECOND.lastName, SECOND.email, SECOND.birthDate, SECOND.phone,
    FHIR_PERSON.name[0].family, FHIR_PERSON.name[0].given[0], FHIR_PERSON.birthDate, FHIR_PERSON.telecom[0].value, FHIR_PERSON.telecom[1].value,
    INVALID.email, INVALID.firstName, INVALID.birthDate, INVALID.secret, 'Bartholomew',
  ];
}

/** Each value as it could appear: as is, lower-cased, URL-encoded, form-encoded. */
function variants(value: string): string[] {
  return [...new Set([value, value.toLowerCase(), encodeURIComponent(value), encodeURIComponent(value).replace(/%20/g, '+')])];
}

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
  firstLogLine = t.logs.length;

  // A realistic session.
  const created = await call('POST', '/v1/patients', { key: tenant.keys.test, body: PERSON, contentType: 'application/fhir+json' });
  assert.equal(created.status, 201, created.body);
  const second = await call('POST', '/v1/patients', { key: tenant.keys.live!, body: SECOND });
  assert.equal(second.status, 201, second.body);
  const fhir = await call('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: FHIR_PERSON, contentType: 'application/fhir+json' });
  assert.equal(fhir.status, 201, fhir.body);
  const id = created.json.data.id;

  const searches = [
    `/v1/patients?name=${encodeURIComponent(PERSON.lastName.toLowerCase())}`,
    `/v1/patients?email=${encodeURIComponent(PERSON.email)}`,
    `/v1/patients?birthDate=${PERSON.birthDate}`,
    `/v1/patients?phone=${encodeURIComponent(PERSON.phone)}&name=${PERSON.firstName}`,
    `/v1/fhir/Patient?family=${FHIR_PERSON.name[0].family}&birthdate=${FHIR_PERSON.birthDate}`,
    `/v1/fhir/Patient?email=${encodeURIComponent(FHIR_PERSON.telecom[0].value)}`,
    `/v1/fhir/Patient?name=${encodeURIComponent(SECOND.lastName)}&_count=5`,
  ];
  for (const url of searches) assert.equal((await call('GET', url, { key: tenant.keys.test })).status, 200, url);
  assert.equal((await call('GET', `/v1/patients?email=${encodeURIComponent(SECOND.email)}`, { key: tenant.keys.live! })).json.data.total, 1);

  assert.equal((await call('GET', `/v1/patients/${id}`, { key: tenant.keys.test })).status, 200);
  assert.equal((await call('PATCH', `/v1/patients/${id}`, { key: tenant.keys.test, body: { phone: PERSON.phone, address: PERSON.address } })).status, 200);
  assert.equal((await call('GET', `/v1/fhir/Patient/${fhir.json.id}`, { key: tenant.keys.test })).status, 200);
  assert.equal((await call('GET', `/v1/patients/${id}?_revinclude=Observation:subject`, { key: tenant.keys.test })).status, 200);

  // Validation errors carrying PHI-looking values.
  const invalid = [
    await call('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: INVALID.firstName, lastName: PERSON.lastName, email: INVALID.email, birthDate: INVALID.birthDate, favourite: INVALID.secret } }),
    await call('PATCH', `/v1/patients/${id}`, { key: tenant.keys.test, body: { email: INVALID.email, gender: INVALID.secret } }),
    await call('POST', '/v1/fhir/Patient', { key: tenant.keys.test, body: { ...FHIR_PERSON, birthDate: INVALID.birthDate, gender: INVALID.secret } }),
    await call('GET', `/v1/fhir/Patient?birthdate=${INVALID.birthDate}x&name:bogus=${INVALID.secret}`, { key: tenant.keys.test }),
    // An unknown parameter (an error under strict handling): its name may be echoed (it is
    // vocabulary, not data), its value never.
    await call('GET', `/v1/fhir/Patient?favouriteColour=${encodeURIComponent(PERSON.email)}`, { key: tenant.keys.test, headers: { prefer: 'handling=strict' } }),
    await call('POST', '/v1/patients', { key: tenant.keys.test, raw: `{"firstName":"${PERSON.firstName}",`, contentType: 'application/json' }),
    await call('POST', '/v1/patients', { key: tenant.keys.test, raw: `{"firstName":"${PERSON.firstName}"}`, contentType: 'text/plain' }),
  ];
  for (const res of invalid) assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${res.body}`);

  // 404s, including ids and paths that look like PHI.
  assert.equal((await call('GET', '/v1/patients/0190f0f0-0000-7000-8000-000000000000', { key: tenant.keys.test })).status, 404);
  assert.equal((await call('GET', `/v1/patients/${encodeURIComponent(PERSON.email)}`, { key: tenant.keys.test })).status, 404);
  assert.equal((await call('GET', `/v1/fhir/Patient/${PERSON.lastName}`, { key: tenant.keys.test })).status, 404);
  // Longer than the router takes: answered (and logged) before any hook runs.
  assert.equal((await call('GET', `/v1/patients/${PERSON.lastName.repeat(20)}`, { key: tenant.keys.test })).status, 404);
  assert.equal((await call('GET', `/v1/${PERSON.lastName}?email=${encodeURIComponent(PERSON.email)}`, { key: tenant.keys.test })).status, 404);
  assert.equal((await call('DELETE', `/v1/patients/${id}`, { key: tenant.keys.test })).status, 204);
  assert.equal((await call('GET', `/v1/patients/${id}`, { key: tenant.keys.test })).status, 404);

  // Keys: bad ones, and the admin key on the admin API.
  assert.equal((await call('GET', '/v1/patients', { key: `${tenant.keys.test.slice(0, -2)}zz` })).status, 401);
  assert.equal((await call('GET', '/v1/patients', { key: 'clk_test_Quixotically' })).status, 401);
  assert.equal((await call('GET', `/admin/tenants/${tenant.tenantId}/keys`, { headers: { 'x-admin-key': t.adminKey } })).status, 200);
  assert.equal((await call('GET', `/admin/tenants/${tenant.tenantId}`, { headers: { 'x-admin-key': `${t.adminKey}-wrong` } })).status, 401);
  assert.equal((await call('GET', '/health')).status, 200);
  assert.equal((await call('GET', '/v1/metadata')).status, 200);
  // onResponse hooks run after the reply is written; let the last lines land.
  await sleep(50);
});
after(() => t.close());

describe('PHI rule: logs', () => {
  test('no log line holds any name, email, birth date, phone, address or key used', () => {
    const lines = t.logs;
    assert.ok(lines.length > responses.length, 'the session was logged');
    const secrets = [...phiValues(), tenant.keys.test, tenant.keys.live!, t.adminKey, tenant.keys.test.slice(9, 30), t.adminKey.slice(6)];
    for (const line of lines) {
      for (const secret of secrets) {
        for (const form of variants(secret)) assert.ok(!line.includes(form), `log line contains ${JSON.stringify(secret)}: ${line.slice(0, 300)}`);
      }
      // No URL with its query string, and no headers or bodies.
      assert.ok(!/\?(name|email|birthDate|birthdate|phone|family)=/.test(line), line);
      assert.ok(!/x-api-key|x-admin-key|"headers"|"body"|"payload"/i.test(line), line);
    }
  });

  test('every request left exactly one line with requestId, route pattern, status and latency', () => {
    const requestLines = t.logs.slice(firstLogLine).map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request');
    assert.equal(requestLines.length, responses.length, 'one request line per request');
    const byId = new Map(requestLines.map((entry) => [entry.requestId, entry]));
    for (const res of responses) {
      const requestId = res.headers['x-request-id'];
      const entry = byId.get(requestId);
      assert.ok(entry, `no log line for ${requestId}`);
      assert.match(entry.requestId, /^req_[a-z0-9]+$/);
      assert.equal(entry.status, res.status);
      assert.equal(typeof entry.ms, 'number');
      assert.ok(entry.ms >= 0 && entry.ms < 60_000);
      assert.equal(typeof entry.route, 'string');
      assert.ok(entry.route === 'unmatched' || entry.route.startsWith('/'), entry.route);
      assert.ok(!entry.route.includes('?'), entry.route);
      assert.equal(typeof entry.method, 'string');
    }
    const routes = new Set(requestLines.map((entry) => entry.route));
    for (const pattern of ['/v1/patients', '/v1/patients/:id', '/v1/fhir/:type', '/v1/fhir/:type/:id', '/health']) assert.ok(routes.has(pattern), pattern);
    // Route patterns, not URLs: no resource id appears in any route.
    for (const res of responses) {
      const id = res.json?.data?.id ?? (res.json?.resourceType === 'Patient' ? res.json.id : undefined);
      if (id) assert.ok(![...routes].some((route) => String(route).includes(id)), id);
    }
    // Authenticated requests carry the tenant, which is not PHI.
    assert.ok(requestLines.some((entry) => entry.tenant === tenant.tenantId));
  });
});

describe('PHI rule: error bodies', () => {
  test('no error response echoes a submitted value', () => {
    const errors = responses.filter((res) => res.status >= 400);
    assert.ok(errors.length >= 12, `${errors.length} errors in the session`);
    for (const res of errors) {
      for (const value of phiValues()) {
        for (const form of variants(value)) assert.ok(!res.body.includes(form), `error body contains ${JSON.stringify(value)}: ${res.body.slice(0, 300)}`);
      }
      assert.ok(!res.body.includes(tenant.keys.test) && !res.body.includes(t.adminKey));
    }
  });

  test('validation diagnostics still name the failing fields', () => {
    const validation = responses.find((res) => res.json?.code === 'VALIDATION_ERROR');
    assert.ok(validation);
    const diagnostics = validation.json.issues.map((issue: { diagnostics: string }) => issue.diagnostics).join('\n');
    for (const field of ['firstName', 'email', 'birthDate', 'favourite']) assert.match(diagnostics, new RegExp(`^${field}:`, 'm'));
  });
});

describe('PHI rule: server errors', () => {
  test('a 500 is logged without the request\'s values, the key or the driver\'s message', async () => {
    const port = await freeLoopbackPort();
    const connectionString = `postgres://nobody:hunter2-db-password@127.0.0.1:${port}/nowhere`;
    const db = new Database({ connectionString, max: 1 });
    const keyCache = new KeyCache(db, connectionString);
    const logs: string[] = [];
    const logStream = new Writable({ write(chunk, _encoding, done) { logs.push(String(chunk)); done(); } });
    const app = buildApp({ db, keyCache, adminKey: t.adminKey, publicUrl: PUBLIC_URL, logLevel: 'info', logStream });
    try {
      await app.ready();
      const key = tenant.keys.test;
      const res = await app.inject({ method: 'GET', url: `/v1/patients?name=${PERSON.lastName}&email=${encodeURIComponent(PERSON.email)}`, headers: { 'x-api-key': key } });
      assert.ok(res.statusCode >= 500, String(res.statusCode));
      const created = await app.inject({ method: 'POST', url: '/v1/patients', headers: { 'x-api-key': key, 'content-type': 'application/json' }, payload: JSON.stringify(PERSON) });
      assert.ok(created.statusCode >= 500);
      await sleep(50);
      const body = JSON.parse(res.body);
      assert.ok(['INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'].includes(body.code), res.body);
      assert.ok(logs.some((line) => /"level":50/.test(line)), 'the failure is logged at error level');
      for (const line of [...logs, res.body, created.body]) {
        for (const secret of [...phiValues(), key, key.slice(9, 30), 'hunter2-db-password', 'ECONNREFUSED 127.0.0.1']) {
          for (const form of variants(secret)) assert.ok(!line.includes(form), `contains ${JSON.stringify(secret)}: ${line.slice(0, 300)}`);
        }
      }
    } finally {
      await app.close();
      await keyCache.close();
      await db.close();
    }
  });
});
