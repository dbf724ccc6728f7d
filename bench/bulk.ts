/**
 * npm run bench -- --bulk [--copies 3] [--workers N] [--writers N] [--seconds 3] [--export-copies 0] [--server-only]
 *
 * The bulk benchmark of issue 5. Per target database:
 *   1. import: the Synthea set (80 patient bundles + the 2 companions) loaded `--copies` times with
 *      the operator loader (src/fhir/loader, what `clinikapi import` runs; every search index
 *      row built), as a ratio to a raw COPY of the same resources' JSON into a bare one-column
 *      table, measured before and after the loader in the same run;
 *   2. API latency during an import: patient reads (GET /v1/patients/:id, 4 clients) while
 *      `clinikapi import` runs as a separate process, against the same reads idle;
 *   3. export: POST /v1/bulk/export of one type and then of every type, timed from kick-off to
 *      the end of the download (resources/s streamed), with the growth of this process's heap and
 *      RSS (it runs the job and serves the download) sampled throughout. `--export-copies N` loads
 *      N more copies first, for exports of a million resources (N = 43).
 * The results replace the bulk section of docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TenantService } from '../src/auth/tenants.js';
import { runImport } from '../src/cli/import.js';
import type { LoadSummary } from '../src/fhir/loader/loader.js';
import { copyText } from '../src/store/copy.js';
import type { Database } from '../src/store/database.js';
import { fmt, load, machineLine, onEachTarget, startBenchApp, withBenchDatabase } from './harness.js';
import type { LoadResult } from './load.js';

export const BULK_SECTION = '## Bulk benchmark (issue 5)';
const START = '<!-- bulk-bench:start -->';
const END = '<!-- bulk-bench:end -->';
const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/synthea-r4/', import.meta.url));
const CLI = fileURLToPath(new URL('../bin/clinikapi.js', import.meta.url));
const READ_CLIENTS = 4;
const RAW_BATCH = 2_000;
const PUBLIC_URL = 'http://127.0.0.1';

interface Options { copies: number; workers: number | undefined; writers: number | undefined; seconds: number; exportCopies: number; embedded: boolean }

function options(argv: string[]): Options {
  const number = (flag: string, fallback: number | undefined, min = 1) => {
    const at = argv.indexOf(flag);
    if (at < 0) return fallback;
    const value = Number(argv[at + 1]);
    if (!Number.isInteger(value) || value < min) throw new Error(`${flag} takes an integer ≥ ${min}`);
    return value;
  };
  return {
    copies: number('--copies', 3)!, workers: number('--workers', undefined), writers: number('--writers', undefined), seconds: number('--seconds', 3)!,
    exportCopies: number('--export-copies', 0, 0)!, embedded: !argv.includes('--server-only'),
  };
}

/** Growth over the start of the export: peak heap (garbage included), heap kept after a collection, peak RSS. */
interface ExportReport { label: string; resources: number; seconds: number; heapMb: number; retainedMb: number; rssMb: number }
interface TargetReport {
  name: string;
  version: string;
  resources: number;
  loader: LoadSummary;
  rawPerSecond: number[];
  idle: LoadResult;
  during: LoadResult;
  duringImport: { resources: number; seconds: number };
  exports: ExportReport[];
}

export async function bulkBenchmark(argv: string[]): Promise<void> {
  const opts = options(argv);
  const files = (await readdir(FIXTURES)).filter((name) => name.endsWith('.json') && name !== 'index.json').sort().map((name) => `${FIXTURES}${name}`);
  const set = await resourceSet(files);
  const reports = await onEachTarget((name, url) => benchTarget(name, url, opts, files, set), { embedded: opts.embedded });
  await writeSection(reports, opts, set.lines.length);
}

interface ResourceSet {
  /** Every resource as one COPY text line (JSON needs only its backslashes escaped). */
  lines: string[];
  types: string[];
}

async function resourceSet(files: string[]): Promise<ResourceSet> {
  const lines: string[] = [];
  const types = new Set<string>();
  for (const file of files) {
    for (const { resource } of (JSON.parse(await readFile(file, 'utf8')) as { entry: Array<{ resource: { resourceType: string } }> }).entry) {
      lines.push(`${JSON.stringify(resource).replace(/\\/g, '\\\\')}\n`);
      types.add(resource.resourceType);
    }
  }
  return { lines, types: [...types].sort() };
}

const benchTarget = (name: string, serverUrl: string, opts: Options, files: string[], set: ResourceSet): Promise<TargetReport> =>
  withBenchDatabase(serverUrl, async (db, connectionString) => {
    const { keyCache, port, close } = await startBenchApp(db, connectionString);
    const { lines } = set;
    try {
      const tenant = await new TenantService(db, keyCache).createTenant({ name: 'bench', plan: 'enterprise', rateLimitPerMinute: null });
      const headers = { 'x-api-key': tenant.keys.test, 'content-type': 'application/json' };
      const command = { tenant: tenant.tenantId, environment: 'test', publicUrl: PUBLIC_URL, workers: opts.workers, writers: opts.writers };
      const quiet = { progress: process.stderr, print: (line: string) => console.error(`  ${line}`) };

      console.error(`# ${name}: raw COPY, then the loader (${opts.copies} × ${fmt(lines.length)} resources), then raw COPY again`);
      await db.pool.query('CREATE TABLE bench_raw (content text)');
      const rawPerSecond = [await rawCopy(db, lines, opts.copies)];
      const { summary: loader } = await runImport(db, { ...command, paths: Array.from({ length: opts.copies }, () => files).flat() }, quiet);
      rawPerSecond.push(await rawCopy(db, lines, opts.copies));
      await db.pool.query('DROP TABLE bench_raw');

      console.error(`# ${name}: patient reads idle, then during an import by the CLI`);
      const patients = await db.pool.query<{ id: string }>("SELECT id FROM resources WHERE resource_type = 'Patient' LIMIT 500");
      const reads = { port, method: 'GET', paths: patients.rows.map((row) => `/v1/patients/${row.id}`), headers: { 'x-api-key': tenant.keys.test }, connections: READ_CLIENTS, seconds: opts.seconds };
      await load(reads); // warm-up
      const idle = await load(reads);
      const cli = startCliImport(connectionString, tenant.tenantId, files);
      await cli.writing;
      const during = await load(reads);
      const duringImport = await cli.done;

      // One load of all the copies: one VACUUM ANALYZE at its end, not one per copy.
      if (opts.exportCopies > 0) await runImport(db, { ...command, paths: Array.from({ length: opts.exportCopies }, () => files).flat() }, quiet);
      console.error(`# ${name}: exports`);
      const exports = [
        await exportAll(port, headers, ['Encounter'], 'one type (Encounter)'),
        await exportAll(port, headers, set.types, 'every type'),
      ];
      const version = (await db.pool.query('SHOW server_version')).rows[0].server_version as string;
      return { name, version, resources: lines.length * opts.copies, loader, rawPerSecond, idle, during, duringImport, exports };
    } finally {
      await close();
    }
  });

/** Resources/s of COPYing the set's JSON `copies` times into a bare table, in transactions as large as the loader's. */
async function rawCopy(db: Database, lines: string[], copies: number): Promise<number> {
  const started = performance.now();
  for (let copy = 0; copy < copies; copy++) {
    for (let i = 0; i < lines.length; i += RAW_BATCH) await db.transaction((tx) => copyText(tx, 'COPY bench_raw (content) FROM STDIN', lines.slice(i, i + RAW_BATCH)));
  }
  return (lines.length * copies) / ((performance.now() - started) / 1000);
}

/** `clinikapi import` in its own process, as an operator runs it next to a serving API. */
function startCliImport(databaseUrl: string, tenantId: string, files: string[]): { writing: Promise<void>; done: Promise<{ resources: number; seconds: number }> } {
  const child = spawn(process.execPath, [CLI, 'import', ...files, '--tenant', tenantId, '--env', 'test'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, CLINIK_ADMIN_KEY: 'bench-admin', CLINIK_PUBLIC_URL: PUBLIC_URL },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // The first progress line is printed after the first batch is written: the import is under way.
  const writing = new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
  const done = new Promise<{ resources: number; seconds: number }>((resolve, reject) => {
    child.on('exit', (code) => {
      const match = /Loaded ([\d,]+) resources .* in ([\d.]+) s/.exec(stdout);
      if (code !== 0 || !match) reject(new Error(`clinikapi import exited with ${code}: ${stdout}`));
      else resolve({ resources: Number(match[1].replace(/,/g, '')), seconds: Number(match[2]) });
    });
  });
  return { writing, done };
}

// A collection before and after each export separates what the export keeps from its garbage.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Kick-off to the last byte downloaded, sampling this process's memory every 50 ms. */
async function exportAll(port: number, headers: Record<string, string>, resourceTypes: string[], label: string): Promise<ExportReport> {
  collectGarbage();
  const base = process.memoryUsage();
  let peak = { heapUsed: base.heapUsed, rss: base.rss };
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peak = { heapUsed: Math.max(peak.heapUsed, now.heapUsed), rss: Math.max(peak.rss, now.rss) };
  }, 50);
  const started = performance.now();
  try {
    const kickoff = await call(port, 'POST', '/v1/bulk/export', headers, JSON.stringify({ resourceTypes }));
    if (kickoff.status !== 202) throw new Error(`export kick-off answered ${kickoff.status}: ${kickoff.body}`);
    const jobId = (JSON.parse(kickoff.body) as { data: { jobId: string } }).data.jobId;
    let job: { status: string; downloadUrl?: string };
    for (;;) {
      job = (JSON.parse((await call(port, 'GET', `/v1/bulk/jobs/${jobId}`, headers)).body) as { data: typeof job }).data;
      if (job.status === 'completed' || job.status === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!job.downloadUrl) throw new Error(`export ${job.status} without a download`);
    const url = new URL(job.downloadUrl);
    const resources = await countLines(port, `${url.pathname}${url.search}`);
    const seconds = (performance.now() - started) / 1000;
    collectGarbage();
    const mb = (bytes: number) => bytes / 1024 / 1024;
    return { label, resources, seconds, heapMb: mb(peak.heapUsed - base.heapUsed), retainedMb: mb(process.memoryUsage().heapUsed - base.heapUsed), rssMb: mb(peak.rss - base.rss) };
  } finally {
    clearInterval(sampler);
  }
}

function call(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Streams a download, counting its lines without keeping them. */
function countLines(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`download answered ${response.statusCode}`));
      let count = 0;
      response.on('data', (chunk: Buffer) => {
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) count++;
      });
      response.on('end', () => resolve(count));
    }).on('error', reject);
  });
}

async function writeSection(reports: TargetReport[], opts: Options, setSize: number): Promise<void> {
  const rows = reports.map((report) => {
    const loaded = report.loader.created + report.loader.updated;
    const rate = loaded / (report.loader.elapsedMs / 1000);
    const steady = loaded / ((report.loader.elapsedMs - report.loader.startupMs) / 1000);
    const raw = report.rawPerSecond.reduce((sum, value) => sum + value, 0) / report.rawPerSecond.length;
    return `| ${report.name} (PostgreSQL ${report.version}) | ${fmt(loaded)} | **${fmt(rate)}** | ${fmt(steady)} | ${report.rawPerSecond.map(fmt).join(' / ')} | **${Math.round((rate / raw) * 100)}%** | ${(report.loader.vacuumMs / 1000).toFixed(1)} s |`;
  });
  const latency = reports.map((report) =>
    `| ${report.name} | ${report.idle.p50.toFixed(2)} / ${report.idle.p99.toFixed(2)} | ${report.during.p50.toFixed(2)} / ${report.during.p99.toFixed(2)} | ` +
      `**${(report.during.p99 / report.idle.p99).toFixed(1)}×** | ${fmt(report.idle.perSecond)} → ${fmt(report.during.perSecond)} | ${fmt(report.duringImport.resources / report.duringImport.seconds)} | ${report.idle.errors + report.during.errors} |`);
  const exports = reports.flatMap((report) => report.exports.map((item) =>
    `| ${report.name} | ${item.label} | ${fmt(item.resources)} | **${fmt(item.resources / item.seconds)}** | ${item.heapMb.toFixed(1)} | ${item.retainedMb.toFixed(1)} | ${item.rssMb.toFixed(1)} |`));
  const block = [
    START,
    `- Date: ${new Date().toISOString()}; machine: ${machineLine()}; Node ${process.version}`,
    `- Set: the ${fmt(setSize)} resources of the 80 Synthea bundles and their 2 companions, loaded ${opts.copies} times with fresh ids; loader workers: ${opts.workers ?? 'default (CPUs − 1, at least 1)'}, concurrent write transactions: ${opts.writers ?? 'default (2)'}`,
    '- Goals (issue 5, PostgreSQL 15): import ≥ 3,000 resources/s and ≥ 25% of raw COPY; export ≥ 50,000 resources/s with < 50 MB growth.',
    '',
    '| import | resources | loader res/s (incl. start-up) | after worker start-up | raw COPY res/s (before / after) | ratio | VACUUM ANALYZE |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `| patient reads (${READ_CLIENTS} clients, ${opts.seconds} s) | idle p50 / p99 ms | during import p50 / p99 ms | p99 ratio | req/s idle → during | import res/s meanwhile | errors |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...latency,
    '',
    '| export | scope | resources | resources/s (kick-off to last byte) | peak heap growth MB (garbage included) | heap kept after GC MB | peak RSS growth MB |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...exports,
    END,
  ].join('\n');
  console.log(block);
  const file = new URL('../docs/benchmarks.md', import.meta.url);
  let text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start >= 0 && end > start) text = `${text.slice(0, start)}${block}${text.slice(end + END.length)}`;
  else text = `${text.trimEnd()}\n\n${BULK_SECTION}\n\nGenerated by \`npm run bench -- --bulk\` (bench/bulk.ts); ratios are within one run (these machines are shared and noisy).\n\n${block}\n`;
  await writeFile(file, text);
}
