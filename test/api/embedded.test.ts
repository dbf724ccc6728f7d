import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/store/embedded.js';

/**
 * The zero-setup default, end to end: the real CLI starting the server on the embedded
 * PostgreSQL, the admin commands talking to it, and recovery after a kill -9.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin/clinikapi.js');
const dirs: string[] = [];
/** Every server started, so that a failed test cannot leave one running (and the run hanging). */
const children: ChildProcess[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'clinikapi-embedded-'));
  await chmod(dir, 0o755);
  dirs.push(dir);
  return dir;
}

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...cleanEnv(), ...env }, timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code, signal) => resolve({ code: code ?? 1, stdout, stderr: signal ? `${stderr}\nkilled by ${signal}` : stderr }));
  });
}

/** The environment without the settings that would point the CLI elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _d, CLINIK_ADMIN_KEY: _a, CLINIK_PUBLIC_URL: _p, PORT: _port, ...rest } = process.env;
  return rest;
}

/** Starts `clinikapi serve` and resolves once it prints its URL. */
async function serve(dataDir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: { ...cleanEnv(), CLINIK_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' } });
  children.push(child);
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000);
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      // Wait for the whole line: a chunk may end in the middle of the URL.
      const match = /listening on (http:\/\/\S+) \(/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', () => reject(new Error(`server exited: ${output}`)));
  });
  return { child, url, output: () => output };
}

/** fetch with a deadline, so a stuck server fails the test instead of hanging it. */
function call(url: string, init: RequestInit = {}): Promise<globalThis.Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
}

/** The exit code of a server asked to stop; one that has not stopped within 30 s is killed (and the code is null). */
function stopped(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('npm start on the embedded store', () => {
  test('first start prints a demo key that works, the CLI manages tenants and keys, SIGTERM stops PostgreSQL', { timeout: 240_000 }, async (context) => {
    // Diagnostics say how far a slow or stuck run got (they are printed even when the test times out).
    const step = (what: string) => context.diagnostic(`${new Date().toISOString()} ${what}`);
    const dataDir = path.join(await tempDir(), 'data');
    const server = await serve(dataDir);
    step('server started');
    try {
      const demoKey = /test key (clk_test_[A-Za-z0-9_-]+)/.exec(server.output())?.[1];
      assert.ok(demoKey, server.output());
      assert.match(server.output(), /Admin key \(shown once/);
      assert.match(server.output(), /Try: curl /);
      const created = await call(`${server.url}/v1/patients`, {
        method: 'POST', headers: { 'x-api-key': demoKey, 'content-type': 'application/json' }, body: JSON.stringify({ firstName: 'Jane', lastName: 'Doe' }),
      });
      assert.equal(created.status, 201);

      const env = { CLINIK_DATA_DIR: dataDir };
      step('tenants create');
      const tenant = await cli(['tenants', 'create', '--name', 'acme', '--plan', 'pro', '--json', '--url', server.url], env);
      assert.equal(tenant.code, 0, tenant.stderr);
      const { tenantId, keys } = JSON.parse(tenant.stdout);
      assert.match(tenantId, /^org_/);
      assert.match(keys.live, /^clk_live_/);

      step('keys create');
      const key = await cli(['keys', 'create', '--tenant', tenantId, '--environment', 'test', '--scope', 'read', '--json', '--url', server.url], env);
      assert.equal(key.code, 0, key.stderr);
      const { id: keyId, key: secret } = JSON.parse(key.stdout);
      assert.equal((await call(`${server.url}/v1/patients`, { headers: { 'x-api-key': secret } })).status, 200);

      step('keys list');
      const listed = await cli(['keys', 'list', '--tenant', tenantId, '--url', server.url], env);
      assert.equal(listed.code, 0);
      assert.ok(listed.stdout.includes(keyId));
      assert.ok(!listed.stdout.includes(secret), 'listing never shows secrets');

      step('keys revoke');
      const revoked = await cli(['keys', 'revoke', keyId, '--url', server.url], env);
      assert.equal(revoked.code, 0, revoked.stderr);
      const refused = await call(`${server.url}/v1/patients`, { headers: { 'x-api-key': secret } });
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { code: string }).code, 'KEY_REVOKED');

      step('bad tenants create');
      const bad = await cli(['tenants', 'create', '--name', 'x', '--plan', 'platinum', '--url', server.url], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /422.*\n.*plan/);
    } finally {
      server.child.kill('SIGTERM');
      assert.equal(await stopped(server.child), 0);
    }
    assert.equal(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), false, 'PostgreSQL stopped with the server');

    step('stopped');
    // A second start reuses the cluster and the data, and creates no second demo tenant.
    const again = await serve(dataDir);
    step('started again');
    try {
      assert.doesNotMatch(again.output(), /demo tenant|Admin key/);
    } finally {
      again.child.kill('SIGINT');
      assert.equal(await stopped(again.child), 0, again.output());
      step('stopped again');
    }
  });

  test('after a kill -9 of the server, the next start stops the orphaned PostgreSQL and keeps the data', { timeout: 180_000 }, async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const first = await serve(dataDir);
    const demoKey = /test key (clk_test_[A-Za-z0-9_-]+)/.exec(first.output())![1];
    await call(`${first.url}/v1/patients`, { method: 'POST', headers: { 'x-api-key': demoKey, 'content-type': 'application/json' }, body: JSON.stringify({ firstName: 'Kept', lastName: 'Data' }) });
    first.child.kill('SIGKILL');
    await stopped(first.child);
    const orphanPid = Number((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const orphan = await processIdentity(orphanPid);
    assert.ok(orphan, 'the postgres child outlived its parent');

    const second = await serve(dataDir);
    try {
      const list = await call(`${second.url}/v1/patients`, { headers: { 'x-api-key': demoKey } });
      const body = (await list.json()) as { data: { data: Array<{ lastName: string }> } };
      assert.deepEqual(body.data.data.map((p) => p.lastName), ['Data']);
      // By identity, not pid alone: the busy test machine's pids wrap (pid_max 32768), and the new
      // cluster's processes can be given the orphan's pid.
      assert.notEqual(await processIdentity(orphanPid), orphan, 'the orphan was stopped');
    } finally {
      second.child.kill('SIGTERM');
      await stopped(second.child);
    }
  });

  test('the CLI shares the running PostgreSQL of a server and leaves it running', { timeout: 120_000 }, async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const owner = await startEmbeddedPostgres(dataDir);
    try {
      const migrated = await cli(['migrate'], { CLINIK_DATA_DIR: dataDir });
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stdout, /Applied migrations 1|up to date/);
      const client = new pg.Client({ connectionString: owner.connectionString });
      await client.connect();
      const { rows } = await client.query('SELECT count(*)::int AS applied FROM schema_migrations');
      await client.end();
      assert.ok(rows[0].applied >= 1, 'the CLI migrated the shared server, which is still up');
    } finally {
      await owner.stop();
    }
  });

  test('as root, a data dir the postgres user cannot reach fails with a clear message', { skip: os.userInfo().uid !== 0 && 'only meaningful as root' }, async () => {
    const locked = path.join(await tempDir(), 'locked');
    await mkdir(locked, { mode: 0o700 });
    await chmod(locked, 0o700);
    await assert.rejects(startEmbeddedPostgres(path.join(locked, 'data')), /cannot enter .*locked.*CLINIK_DATA_DIR=/s);
  });
});

/** A live process's pid and start time (in clock ticks since boot, /proc/<pid>/stat field 22), or undefined. */
async function processIdentity(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the parenthesised command name, which may itself hold spaces; state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' ? undefined : `${pid}@${fields[19]}`;
}
