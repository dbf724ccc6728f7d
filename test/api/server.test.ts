import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { runOnServer, withDatabase } from '../../src/store/server-admin.js';

/** How many migration files there are: each applies once. */
const MIGRATIONS = readdirSync(new URL('../../src/store/migrations/', import.meta.url)).filter((name) => /^\d+_.+\.sql$/.test(name)).length;

/** A production-style node: DATABASE_URL, CLINIK_ADMIN_KEY from the environment, several nodes at once. */
const serverUrl = process.env.CLINIK_TEST_SERVER_URL!;
const created: string[] = [];

async function emptyDatabase(): Promise<string> {
  const name = `clinik_empty_${randomBytes(6).toString('hex')}`;
  await runOnServer(withDatabase(serverUrl, 'postgres'), `CREATE DATABASE ${name}`);
  created.push(name);
  return withDatabase(serverUrl, name);
}

after(async () => {
  for (const name of created) await runOnServer(withDatabase(serverUrl, 'postgres'), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

test('DATABASE_URL requires CLINIK_ADMIN_KEY; defaults follow the README', () => {
  assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/x' }), ConfigError);
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
  assert.match(config.dataDir, /\/data$/);
  assert.equal(loadConfig({ PORT: '9000', HOST: '0.0.0.0', CLINIK_PUBLIC_URL: 'https://api.example.com/' }).publicUrl, 'https://api.example.com');
  assert.throws(() => loadConfig({ PORT: 'eighty' }), ConfigError);
});

test('two nodes starting at once on an empty database migrate once, and no demo tenant appears', async () => {
  const databaseUrl = await emptyDatabase();
  const adminKey = `admin_${randomBytes(12).toString('hex')}`;
  const env = { DATABASE_URL: databaseUrl, CLINIK_ADMIN_KEY: adminKey, PORT: '0', CLINIK_PUBLIC_URL: 'https://api.example.com', LOG_LEVEL: 'warn' };
  const printed: string[] = [];
  const nodes = await Promise.all([startServer(loadConfig(env), (line) => printed.push(line)), startServer(loadConfig(env), (line) => printed.push(line))]);
  try {
    const db = new Database({ connectionString: databaseUrl, max: 1 });
    const { rows } = await db.pool.query('SELECT (SELECT count(*)::int FROM schema_migrations) AS migrations, (SELECT count(*)::int FROM organisations) AS organisations');
    await db.close();
    assert.deepEqual(rows[0], { migrations: MIGRATIONS, organisations: 0 });
    assert.ok(!printed.some((line) => /demo tenant|Admin key/.test(line)), printed.join('\n'));

    // Both nodes serve the same tenants, and Location headers use CLINIK_PUBLIC_URL.
    const tenant = await fetch(`${nodes[0].url}/admin/tenants`, {
      method: 'POST', headers: { 'x-admin-key': adminKey, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'prod', plan: 'pro' }),
    }).then((response) => response.json() as Promise<{ data: { keys: { live: string } } }>);
    const createdPatient = await fetch(`${nodes[1].url}/v1/fhir/Patient`, {
      method: 'POST', headers: { 'x-api-key': tenant.data.keys.live, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient' }),
    });
    assert.equal(createdPatient.status, 201);
    assert.match(createdPatient.headers.get('location')!, /^https:\/\/api\.example\.com\/v1\/fhir\/Patient\/[0-9a-f-]{36}\/_history\/1$/);
    const health = await fetch(`${nodes[1].url}/health`);
    assert.equal(health.status, 200);
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
});

test('concurrent migrate() calls apply each migration exactly once', async () => {
  const databaseUrl = await emptyDatabase();
  const dbs = [0, 1, 2].map(() => new Database({ connectionString: databaseUrl, max: 1 }));
  try {
    const applied = await Promise.all(dbs.map((db) => migrate(db)));
    assert.deepEqual(applied.map((versions) => versions.length).sort(), [0, 0, MIGRATIONS]);
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
  }
});
