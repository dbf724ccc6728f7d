/**
 * What every benchmark shares: the load generator in its own process, a throwaway database per
 * target, the app under test listening on a real port, and the markdown helpers. Targets are the
 * PostgreSQL at BENCH_DATABASE_URL or TEST_DATABASE_URL when set, and the embedded PostgreSQL.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { KeyCache } from '../src/auth/key-cache.js';
import { Database } from '../src/store/database.js';
import { startEmbeddedPostgres } from '../src/store/embedded.js';
import { migrate } from '../src/store/migrate.js';
import { runOnServer, withDatabase } from '../src/store/server-admin.js';
import type { LoadResult, LoadSpec } from './load.js';

export function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', new URL('./load.ts', import.meta.url).pathname, JSON.stringify(spec)], { maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(JSON.parse(stdout) as LoadResult);
    });
  });
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}`;
}

/** Runs `bench` on each target (the external server first, then the embedded one) and collects the reports. */
export async function onEachTarget<T>(bench: (name: string, serverUrl: string) => Promise<T>, options: { embedded?: boolean } = {}): Promise<T[]> {
  const reports: T[] = [];
  const external = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (external) reports.push(await bench('Server PostgreSQL', external));
  if (options.embedded === false) return reports;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinikapi-bench-'));
  // mkdtemp makes the folder 0700; run as root, PostgreSQL runs as 'postgres' and must enter it.
  await chmod(dataDir, 0o755);
  const embedded = await startEmbeddedPostgres(dataDir);
  try {
    reports.push(await bench('Embedded PostgreSQL', embedded.connectionString));
  } finally {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return reports;
}

let throwaways = 0;

/**
 * A fresh migrated database on `serverUrl` for the length of `fn`, dropped afterwards; or, with
 * `keep`, the database of that name, created if missing and kept, so that a large dataset can be
 * loaded once and benchmarked many times.
 */
export async function withBenchDatabase<T>(serverUrl: string, fn: (db: Database, connectionString: string) => Promise<T>, keep?: string): Promise<T> {
  // Numbered, so that one run can hold two (the search benchmark's scaling mode compares two sizes).
  const database = keep ?? `clinik_bench_${process.pid}_${throwaways++}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`database name ${database} must be lower-case letters, digits and _`);
  const adminUrl = withDatabase(serverUrl, 'postgres');
  if (!keep) await runOnServer(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await runOnServer(adminUrl, `CREATE DATABASE ${database}`).catch((error: { code?: string }) => {
    if (!keep || error.code !== '42P04') throw error; // 42P04: it exists, which is what `keep` is for
  });
  const connectionString = withDatabase(serverUrl, database);
  const db = new Database({ connectionString, max: 10 });
  try {
    const applied = await migrate(db);
    // Migrations that rewrote a kept dataset's rows (008 did) leave them as no load leaves them:
    // unvacuumed (index-only scans read the heap) and without statistics for the new columns.
    if (keep && applied.length > 0) {
      process.stderr.write(`${database}: applied migrations ${applied.join(', ')}; VACUUM ANALYZE\n`);
      await db.pool.query('VACUUM ANALYZE');
    }
    return await fn(db, connectionString);
  } finally {
    await db.close();
    if (!keep) await runOnServer(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  }
}

export interface BenchApp {
  app: FastifyInstance;
  keyCache: KeyCache;
  port: number;
  close(): Promise<void>;
}

/** The whole app, as `clinikapi serve` runs it, on a free local port. */
export async function startBenchApp(db: Database, connectionString: string): Promise<BenchApp> {
  const keyCache = new KeyCache(db, connectionString);
  await keyCache.listen();
  const app = buildApp({ db, keyCache, adminKey: 'bench-admin', publicUrl: 'http://127.0.0.1', logLevel: 'warn' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app, keyCache, port: (app.server.address() as { port: number }).port,
    close: async () => {
      await app.close();
      await keyCache.close();
    },
  };
}
