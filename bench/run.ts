/**
 * npm run bench: patient read by id and patient create, each measured against baselines in the
 * same run on the same database, and reported as ratios (these machines are noisy):
 *   - a bare Fastify route returning the same bytes as a patient read;
 *   - a Fastify route doing one raw `pg` select by primary key;
 *   - a Fastify route doing one raw insert.
 * It runs on the PostgreSQL at BENCH_DATABASE_URL or TEST_DATABASE_URL when set, and always on
 * the embedded PostgreSQL, then prints a table and writes docs/benchmarks.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import Fastify from 'fastify';
import pg from 'pg';
import { TenantService } from '../src/auth/tenants.js';
import { loadDefinitions } from '../src/fhir/definitions/index.js';
import { uuidv7 } from '../src/ids.js';
import { fmt, load as loadWith, machineLine, median, onEachTarget, startBenchApp, withBenchDatabase } from './harness.js';
import type { LoadResult, LoadSpec } from './load.js';
import { BULK_SECTION, bulkBenchmark } from './bulk.js';
import { SEARCH_SECTION, searchBenchmark } from './search.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PRELOADED = 2000;
/** The contract's heart-rate example: the most common clinical write. */
const observation = (patientId: string) => ({
  status: 'final', category: 'vital-signs', code: { system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }, patientId,
  effectiveDateTime: '2025-01-15T09:30:00Z', valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
});
const PATIENT = { firstName: 'Jane', lastName: 'Doe', email: 'jane@example.com', phone: '+1-555-0100', gender: 'female', birthDate: '1990-03-15', address: { line: ['123 Main St'], city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' } };

interface Row { scenario: string; baseline: string; results: LoadResult[]; baselineResults: LoadResult[] }
interface TargetReport { name: string; version: string; rows: Row[] }

const load = (spec: Omit<LoadSpec, 'connections' | 'seconds'>): Promise<LoadResult> => loadWith({ ...spec, connections: CONNECTIONS, seconds: SECONDS });

const benchTarget = (name: string, serverUrl: string): Promise<TargetReport> => withBenchDatabase(serverUrl, async (db, connectionString) => {
  const baselinePool = new pg.Pool({ connectionString, max: 10 });
  baselinePool.on('error', () => undefined); // as in Database: a lost idle client must not crash the run
  try {
    const { app, keyCache, port: appPort, close } = await startBenchApp(db, connectionString);
    const tenant = await new TenantService(db, keyCache).createTenant({ name: 'bench', plan: 'enterprise', rateLimitPerMinute: null });
    const headers = { 'x-api-key': tenant.keys.test, 'content-type': 'application/json' };

    // Preload patients through the API, so reads hit a realistically sized table.
    const ids: string[] = [];
    for (let i = 0; i < PRELOADED; i++) {
      const response = await app.inject({ method: 'POST', url: '/v1/patients', headers, payload: { ...PATIENT, firstName: `Jane${i}` } });
      ids.push(response.json().data.id);
    }
    const sample = await app.inject({ method: 'GET', url: `/v1/patients/${ids[0]}`, headers });
    const sampleBytes = sample.body;
    const { partition_id: partitionId } = (await db.pool.query('SELECT partition_id FROM resources LIMIT 1')).rows[0];

    const baseline = Fastify({ logger: false });
    baseline.get('/bare', async (_request, reply) => reply.type('application/json').send(sampleBytes));
    baseline.get('/select/:id', async (request, reply) => {
      const { rows } = await baselinePool.query({ name: 'bench_select', text: 'SELECT content FROM resources WHERE partition_id = $1 AND resource_type = $2 AND id = $3', values: [partitionId, 'Patient', (request.params as { id: string }).id] });
      return reply.type('application/json').send(rows[0].content);
    });
    baseline.post('/insert', async (request, reply) => {
      const id = uuidv7();
      const now = new Date().toISOString();
      await baselinePool.query({
        name: 'bench_insert',
        text: 'INSERT INTO resources (partition_id, resource_type, id, version_id, created_at, last_updated, index_version, content) VALUES ($1, $2, $3, 1, $4, $4, 0, $5)',
        values: [-1, 'Baseline', id, now, JSON.stringify(request.body)],
      });
      return reply.code(201).send({ id });
    });
    await baseline.listen({ port: 0, host: '127.0.0.1' });
    const basePort = (baseline.server.address() as { port: number }).port;

    const observationIds: string[] = [];
    for (let i = 0; i < PRELOADED; i++) {
      const response = await app.inject({ method: 'POST', url: '/v1/observations', headers, payload: observation(ids[i]) });
      observationIds.push(response.json().data.id);
    }
    await db.pool.query('VACUUM ANALYZE');
    const readPaths = ids.map((id) => `/v1/patients/${id}`);
    const body = JSON.stringify(PATIENT);
    const scenarios: Record<string, Omit<LoadSpec, 'connections' | 'seconds'>> = {
      bare: { port: basePort, method: 'GET', paths: ['/bare'], headers: {} },
      select: { port: basePort, method: 'GET', paths: ids.map((id) => `/select/${id}`), headers: {} },
      read: { port: appPort, method: 'GET', paths: readPaths, headers },
      fhirRead: { port: appPort, method: 'GET', paths: ids.map((id) => `/v1/fhir/Patient/${id}`), headers },
      insert: { port: basePort, method: 'POST', paths: ['/insert'], headers: { 'content-type': 'application/json' }, body },
      create: { port: appPort, method: 'POST', paths: ['/v1/patients'], headers, body },
      observationRead: { port: appPort, method: 'GET', paths: observationIds.map((id) => `/v1/observations/${id}`), headers },
      observationCreate: { port: appPort, method: 'POST', paths: ['/v1/observations'], headers, body: JSON.stringify(observation(ids[0])) },
    };
    // Warm-up: JIT, prepared statements, caches.
    await load(scenarios.read);
    await load(scenarios.create);
    // Rounds interleave each scenario with its baseline, and the ratio reported is the median of
    // the rounds' ratios: a noisy neighbour then hits both sides of a ratio alike.
    const runs: Record<string, LoadResult[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [scenario, spec] of Object.entries(scenarios)) (runs[scenario] ??= []).push(await load(spec));
    }
    const pair = (scenario: string, label: string, baseline: string, baselineLabel: string): Row => ({
      scenario: label, baseline: baselineLabel, results: runs[scenario], baselineResults: runs[baseline],
    });
    const rows: Row[] = [
      pair('read', 'patient read (GET /v1/patients/:id)', 'select', 'raw pg select route'),
      pair('fhirRead', 'FHIR read (GET /v1/fhir/Patient/:id)', 'select', 'raw pg select route'),
      pair('read', 'patient read (GET /v1/patients/:id)', 'bare', 'bare Fastify route'),
      pair('select', 'raw pg select route', 'bare', 'bare Fastify route'),
      pair('create', 'patient create (POST /v1/patients)', 'insert', 'raw insert route'),
      pair('observationRead', 'observation read (GET /v1/observations/:id)', 'select', 'raw pg select route'),
      pair('observationCreate', 'observation create (POST /v1/observations)', 'insert', 'raw insert route'),
      pair('insert', 'raw insert route', 'bare', 'bare Fastify route'),
    ];

    const version = (await db.pool.query('SHOW server_version')).rows[0].server_version as string;
    await baseline.close();
    await close();
    return { name, version, rows };
  } finally {
    await baselinePool.end();
  }
});

function table(report: TargetReport): string {
  const lines = [
    `### ${report.name} (PostgreSQL ${report.version})`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | baseline | baseline req/s | ratio (median of rounds) | ratio range |',
    '|---|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const row of report.rows) {
    const ratios = row.results.map((result, round) => result.perSecond / row.baselineResults[round].perSecond);
    const errors = row.results.reduce((sum, result) => sum + result.errors, 0);
    const med = (pick: (result: LoadResult) => number, results = row.results) => median(results.map(pick));
    lines.push(
      `| ${row.scenario}${errors ? ` (${errors} errors)` : ''} | ${fmt(med((r) => r.perSecond))} | ${med((r) => r.p50).toFixed(2)} | ${med((r) => r.p99).toFixed(2)} | ` +
        `${row.baseline} | ${fmt(med((r) => r.perSecond, row.baselineResults))} | **${Math.round(median(ratios) * 100)}%** | ` +
        `${Math.round(Math.min(...ratios) * 100)}–${Math.round(Math.max(...ratios) * 100)}% |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  loadDefinitions();
  if (process.argv.includes('--search')) return searchBenchmark(process.argv.slice(2));
  if (process.argv.includes('--bulk')) return bulkBenchmark(process.argv.slice(2));
  const reports = await onEachTarget(benchTarget);
  const markdown = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts). Every figure is a ratio against a baseline measured in the same run on the same',
    'database, because absolute numbers on these shared machines swing by 25% or more between runs.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machineLine()}`,
    `- Node ${process.version}; load generator in a separate process, ${CONNECTIONS} keep-alive connections, ${ROUNDS} rounds of ${SECONDS} s per scenario after a warm-up; req/s and latencies are medians of the rounds`,
    `- Data: ${PRELOADED} patients and ${PRELOADED} observations created through the API before measuring (reads cycle through all of them); creates add more`,
    '',
    'Goals (issue #2): patient read ≥ 50% of the raw-select route, patient create ≥ 30% of the raw-insert route, on PostgreSQL 15.',
    '',
    ...reports.flatMap((report) => [table(report), '']),
  ].join('\n');
  console.log(markdown);
  // The search and bulk sections (npm run bench -- --search / --bulk) are kept: they are regenerated on their own.
  const file = new URL('../docs/benchmarks.md', import.meta.url);
  const previous = await readFile(file, 'utf8').catch(() => '');
  const kept = Math.min(...[SEARCH_SECTION, BULK_SECTION].map((title) => previous.indexOf(title)).filter((at) => at >= 0));
  await writeFile(file, `${markdown}\n${Number.isFinite(kept) ? `\n${previous.slice(kept)}` : ''}`);
}

await main();
