/**
 * npm run bench -- --search [--size 100000] [--tenants 4] [--seconds 3] [--rounds 3] [--loaders 2] [--server-only] [--keep NAME] [--scaling SMALL,LARGE]
 *
 * `--keep NAME` loads into database NAME and keeps it; a later run with the same NAME and size reuses
 * the data (new keys for the same tenants) and skips the load.
 *
 * `--scaling SMALL,LARGE` measures instead how each query's single-client latency grows with the
 * data: both datasets on the same server at once (kept as NAME_SMALL and NAME_LARGE with `--keep
 * NAME`), each round measuring every query on both, so that the machine's drift, which swings a
 * p95 2–3× between runs made minutes apart, falls on both sides of the ratio alike. Each round also
 * times the engine's own answers served from memory by a bare route: what sending an answer of
 * that size costs on this machine, with no database and no engine.
 *
 * The search benchmark of issue 4. Per target database:
 *   1. load the 80 Synthea bundles of ../shared/fixtures/synthea-r4 again and again as transaction
 *      Bundles through POST /v1/fhir (fresh ids each time), round-robin across several tenants,
 *      until `--size` resources, reporting the load rate; then VACUUM ANALYZE;
 *   2. draw each query's runtime values at random from the first tenant's data;
 *   3. EXPLAIN ANALYZE the SQL the engine runs for one sample of each query, as the generic plan the
 *      engine's prepared statement runs (printed);
 *   4. measure each query's single-client p50/p95 through HTTP, and its throughput at 8 clients
 *      against a bare-SQL route running the hand-written equivalent in the same run.
 * The results replace this size's block of the search section of docs/benchmarks.md.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import Fastify from 'fastify';
import pg from 'pg';
import { TenantService } from '../src/auth/tenants.js';
import type { Database } from '../src/store/database.js';
import { fmt, load, machineLine, median, onEachTarget, startBenchApp, withBenchDatabase, type BenchApp } from './harness.js';
import type { LoadResult } from './load.js';
import { QUERIES, type MixQuery, type Sample } from './search-queries.js';

export const SEARCH_SECTION = '## Search benchmark (issue 4)';
const FIXTURES = new URL('../../shared/fixtures/synthea-r4/', import.meta.url);
const CLIENTS = 8;

interface Options { size: number; tenants: number; seconds: number; rounds: number; loaders: number; embedded: boolean; keep?: string; scaling?: [number, number] }

function options(argv: string[]): Options {
  const number = (flag: string, fallback: number) => {
    const at = argv.indexOf(flag);
    const value = at >= 0 ? Number(argv[at + 1]) : fallback;
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} takes a positive number`);
    return value;
  };
  return {
    size: number('--size', 100_000), tenants: number('--tenants', 4), seconds: number('--seconds', 3), rounds: number('--rounds', 3),
    loaders: number('--loaders', 2), embedded: !argv.includes('--server-only'),
    ...(argv.includes('--keep') ? { keep: argv[argv.indexOf('--keep') + 1] } : {}),
    ...(argv.includes('--scaling') ? { scaling: sizePair(argv[argv.indexOf('--scaling') + 1]) } : {}),
  };
}

function sizePair(text: string | undefined): [number, number] {
  const sizes = (text ?? '').split(',').map(Number);
  if (sizes.length !== 2 || !sizes.every((size) => Number.isInteger(size) && size > 0) || sizes[0] >= sizes[1]) {
    throw new Error('--scaling takes two sizes, smaller first: --scaling 100000,1000000');
  }
  return [sizes[0], sizes[1]];
}

interface LoadReport { resources: number; bundles: number; seconds: number }
interface QueryReport { name: string; unsupported?: string; single?: LoadResult; sqlSingle?: LoadResult; api: LoadResult[]; sql: LoadResult[]; plan?: PlanSummary }
interface PlanSummary { statements: number; milliseconds: number; seqScans: string[] }
interface TargetReport { name: string; version: string; load: LoadReport; queries: QueryReport[] }

/** The Synthea patient bundles (not the hospital/practitioner companions), as raw request bodies. */
async function syntheaBundles(): Promise<Array<{ body: string; entries: number }>> {
  const names = (await readdir(FIXTURES)).filter((name) => name.endsWith('.json') && !name.startsWith('_') && name !== 'index.json').sort();
  return Promise.all(names.map(async (name) => {
    const body = await readFile(new URL(name, FIXTURES), 'utf8');
    return { body, entries: (JSON.parse(body) as { entry: unknown[] }).entry.length };
  }));
}

/**
 * Posts bundles with `loaders` in flight until `size` resources are stored: each file to every
 * tenant in turn, then the next file, so that every tenant holds all 80 patients (cycling the files
 * and the tenants independently gave the first tenant only every fourth file: 20 patients).
 */
async function loadDataset(port: number, keys: string[], size: number, loaders: number): Promise<LoadReport> {
  const bundles = await syntheaBundles();
  let next = 0;
  let resources = 0;
  const started = performance.now();
  const worker = async () => {
    while (resources < size) {
      const index = next++;
      const bundle = bundles[Math.floor(index / keys.length) % bundles.length];
      resources += bundle.entries;
      const response = await fetch(`http://127.0.0.1:${port}/v1/fhir`, {
        method: 'POST', body: bundle.body, headers: { 'content-type': 'application/fhir+json', 'x-api-key': keys[index % keys.length] },
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`bundle ${index} answered ${response.status}: ${text.slice(0, 300)}`);
      if (index % 50 === 0) process.stderr.write(`  loaded ~${resources} resources\n`);
    }
  };
  await Promise.all(Array.from({ length: loaders }, worker));
  return { resources, bundles: next, seconds: (performance.now() - started) / 1000 };
}

/** Records the SQL the app sends while `recording` is on, to EXPLAIN it afterwards. */
function recordStatements(db: Database): { during<T>(fn: () => Promise<T>): Promise<Array<{ text: string; values: unknown[] }>> } {
  let recording = false;
  const recorded: Array<{ text: string; values: unknown[] }> = [];
  // Patched on checkout, not on connect: the pool may still hold connections opened before this
  // (by the migrations), and a request served by one of those went unrecorded.
  const patched = new WeakSet<object>();
  db.pool.on('acquire', (client) => {
    if (patched.has(client)) return;
    patched.add(client);
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, ...rest: unknown[]) => {
      const statement = config as { text?: string; values?: unknown[] };
      if (recording && typeof statement?.text === 'string' && /^\s*(SELECT|WITH)\b/i.test(statement.text) && /\b(resources|search_\w+)\b/.test(statement.text)) {
        recorded.push({ text: statement.text, values: statement.values ?? [] });
      }
      return original(config, ...rest);
    };
  });
  return {
    async during(fn) {
      recorded.length = 0;
      recording = true;
      try {
        await fn();
      } finally {
        recording = false;
      }
      return [...recorded];
    },
  };
}

/**
 * EXPLAIN ANALYZE of the statements as the engine runs them: prepared, on a connection that plans
 * them generically (src/store/database.ts sets force_generic_plan). Values bound to the EXPLAIN
 * itself would be planned as constants, a custom plan the engine never runs.
 */
async function explain(pool: pg.Pool, statements: Array<{ text: string; values: unknown[] }>, name: string): Promise<PlanSummary> {
  let milliseconds = 0;
  const seqScans = new Set<string>();
  const client = await pool.connect();
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    for (const [index, statement] of statements.entries()) {
      await client.query(`PREPARE explained_${index} AS ${statement.text}`);
      // EXECUTE takes no bound parameters: the values go in as literals (the bench's own data).
      const values = statement.values.map((value) => sqlLiteral(client, value)).join(', ');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE explained_${index}(${values})`);
      await client.query(`DEALLOCATE explained_${index}`);
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      console.log(`\n--- ${name}\n${statement.text}\n${plan}`);
      milliseconds += Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? 0);
      for (const match of plan.matchAll(/Seq Scan on (\w+)/g)) seqScans.add(match[1]);
    }
  } finally {
    await client.query('RESET plan_cache_mode').finally(() => client.release());
  }
  return { statements: statements.length, milliseconds, seqScans: [...seqScans] };
}

function sqlLiteral(client: pg.PoolClient, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Date) return client.escapeLiteral(value.toISOString());
  if (!Array.isArray(value)) return client.escapeLiteral(String(value));
  const items = value.map((item) => (item === null ? 'NULL' : `"${String(item).replace(/[\\"]/g, '\\$&')}"`));
  return client.escapeLiteral(`{${items.join(',')}}`);
}

const tenants = (db: Database, keyCache: BenchApp['keyCache']) => new TenantService(db, keyCache);

interface Dataset { tenantIds: string[]; keys: string[]; loaded: LoadReport }
/** A dataset to load: `size` resources in `tenants` tenants, kept in database `keep` when named. */
type DatasetSpec = Pick<Options, 'size' | 'tenants' | 'loaders' | 'keep'>;

async function loadFresh(db: Database, port: number, service: TenantService, opts: DatasetSpec, name: string): Promise<Dataset> {
  const created = [];
  for (let i = 0; i < opts.tenants; i++) created.push(await service.createTenant({ name: `bench${i}`, plan: 'enterprise', rateLimitPerMinute: null }));
  const keys = created.map((tenant) => tenant.keys.test);
  process.stderr.write(`${name}: loading ${opts.size} resources into ${opts.tenants} tenants\n`);
  const loaded = await loadDataset(port, keys, opts.size, opts.loaders);
  process.stderr.write(`${name}: loaded ${loaded.resources} resources in ${loaded.seconds.toFixed(0)} s (${fmt(loaded.resources / loaded.seconds)}/s); VACUUM ANALYZE\n`);
  await db.pool.query('VACUUM ANALYZE');
  if (opts.keep) {
    await db.pool.query('CREATE TABLE IF NOT EXISTS bench_dataset (size int, tenants int, resources int, bundles int, seconds float8)');
    await db.pool.query('INSERT INTO bench_dataset VALUES ($1, $2, $3, $4, $5)', [opts.size, opts.tenants, loaded.resources, loaded.bundles, loaded.seconds]);
  }
  return { tenantIds: created.map((tenant) => tenant.tenantId), keys, loaded };
}

/** A kept database already loaded at this size: its tenants, with fresh keys (stored keys are hashed), and the original load figures. */
async function kept(db: Database, service: TenantService, opts: DatasetSpec): Promise<Dataset | undefined> {
  if (!opts.keep) return undefined;
  const { rows } = await db.pool.query<{ resources: number; bundles: number; seconds: number }>(
    "SELECT resources, bundles, seconds FROM bench_dataset WHERE size = $1 AND tenants = $2", [opts.size, opts.tenants],
  ).catch(() => ({ rows: [] }));
  if (!rows.length) return undefined;
  const { rows: orgs } = await db.pool.query<{ id: string }>("SELECT id FROM organisations WHERE name LIKE 'bench%' ORDER BY name");
  const keys = [];
  for (const org of orgs) keys.push((await service.createKey(org.id, 'test', '*', null)).key);
  process.stderr.write(`reusing ${rows[0].resources} resources in ${opts.keep}\n`);
  return { tenantIds: orgs.map((org) => org.id), keys, loaded: rows[0] };
}

/** One loaded dataset served by the app and by a bare-SQL route, with each query's paths for its drawn samples. */
interface Served {
  bench: BenchApp;
  basePort: number;
  baselinePool: pg.Pool;
  /** The engine's answers, by query index and sample, that the bare answer route sends (scaling mode fills it). */
  answers: Map<string, string>;
  headers: Record<string, string>;
  loaded: LoadReport;
  queries: Array<{ query: MixQuery; apiPaths: string[]; sqlPaths: string[] }>;
  recorder: ReturnType<typeof recordStatements>;
  version: string;
  close(): Promise<void>;
}

async function serve(db: Database, connectionString: string, dataset: DatasetSpec, name: string): Promise<Served> {
  const recorder = recordStatements(db);
  const baselinePool = new pg.Pool({ connectionString, max: 10 });
  const answers = new Map<string, string>();
  // As in Database: an idle client whose server stops (the embedded one, after this target) must
  // not crash the run; a 1M run once died that way before writing its results.
  baselinePool.on('error', () => undefined);
  const bench = await startBenchApp(db, connectionString);
  const baseline = Fastify({ logger: false });
  const close = async () => {
    await baseline.close();
    await bench.close().finally(() => baselinePool.end());
  };
  try {
    const service = tenants(db, bench.keyCache);
    const { tenantIds, keys, loaded } = await kept(db, service, dataset) ?? await loadFresh(db, bench.port, service, dataset, name);

    // Queries run as the first tenant, in its test partition.
    const { rows: [{ id: partitionId }] } = await db.pool.query("SELECT id FROM partitions WHERE organisation_id = $1 AND environment = 'test'", [tenantIds[0]]);
    const samples = new Map<string, Sample[]>();
    for (const query of QUERIES) samples.set(query.name, (await db.pool.query<Sample>(query.samples, query.samples.includes('$1') ? [partitionId] : [])).rows);

    baseline.get('/sql/:query/:sample', async (request, reply) => {
      const { query: index, sample } = request.params as { query: string; sample: string };
      const query = QUERIES[Number(index)];
      // Prepared, as the engine's statements are: the baseline pays no planning per request either.
      const values = [partitionId, ...query.values(samples.get(query.name)![Number(sample)])];
      const { rows } = await baselinePool.query<{ content: string }>({ name: `baseline_q${index}`, text: query.sql, values });
      return reply.type('application/json').send(`[${rows.map((row) => row.content).join(',')}]`);
    });
    baseline.get('/answer/:query/:sample', async (request, reply) => {
      const { query, sample } = request.params as { query: string; sample: string };
      return reply.type('application/fhir+json').send(answers.get(`${query}/${sample}`));
    });
    await baseline.listen({ port: 0, host: '127.0.0.1' });
    const version = (await db.pool.query('SHOW server_version')).rows[0].server_version as string;
    return {
      bench, basePort: (baseline.server.address() as { port: number }).port, baselinePool, answers, headers: { 'x-api-key': keys[0] }, loaded, recorder, version, close,
      queries: QUERIES.map((query, index) => {
        const drawn = samples.get(query.name)!;
        return { query, apiPaths: drawn.map(query.api), sqlPaths: drawn.map((_, i) => `/sql/${index}/${i}`) };
      }),
    };
  } catch (error) {
    await close();
    throw error;
  }
}

const spec = (port: number, paths: string[], connections: number, headers: Record<string, string>, seconds: number) =>
  ({ port, method: 'GET', paths, headers, connections, seconds });

const benchTarget = (opts: Options) => (name: string, serverUrl: string): Promise<TargetReport> => withBenchDatabase(serverUrl, async (db, connectionString) => {
  const served = await serve(db, connectionString, opts, name);
  try {
    const reports: QueryReport[] = [];
    for (const { query, apiPaths, sqlPaths } of served.queries) {
      const probe = await served.bench.app.inject({ method: 'GET', url: apiPaths[0], headers: served.headers });
      if (probe.statusCode !== 200) {
        reports.push({ name: query.name, unsupported: `${probe.statusCode}`, api: [], sql: [] });
        continue;
      }
      const statements = await served.recorder.during(() => served.bench.app.inject({ method: 'GET', url: apiPaths[0], headers: served.headers }));
      const plan = await explain(served.baselinePool, statements, query.name);
      const apiSpec = (connections: number) => spec(served.bench.port, apiPaths, connections, served.headers, opts.seconds);
      const sqlSpec = (connections: number) => spec(served.basePort, sqlPaths, connections, {}, opts.seconds);
      // Warm-up at full width: every pooled connection prepares (and plans) the statement once.
      await load(apiSpec(CLIENTS));
      const single = await load(apiSpec(1));
      // The bare-SQL route's own latency, so that how a query's cost grows with the data (an
      // answer ten times larger at 1M, say) can be told apart from how the engine's grows.
      const sqlSingle = await load(sqlSpec(1));
      const api: LoadResult[] = [];
      const sql: LoadResult[] = [];
      for (let round = 0; round < opts.rounds; round++) {
        api.push(await load(apiSpec(CLIENTS)));
        sql.push(await load(sqlSpec(CLIENTS)));
      }
      reports.push({ name: query.name, single, sqlSingle, api, sql, plan });
      process.stderr.write(`${name}: ${query.name}: p95 ${single.p95.toFixed(1)} ms, ${fmt(median(api.map((r) => r.perSecond)))} req/s vs ${fmt(median(sql.map((r) => r.perSecond)))}\n`);
    }
    return { name, version: served.version, load: served.loaded, queries: reports };
  } finally {
    await served.close();
  }
}, opts.keep);

function table(report: TargetReport): string {
  const { load: loaded } = report;
  const lines = [
    `#### ${report.name} (PostgreSQL ${report.version})`,
    '',
    `Load: ${fmt(loaded.resources)} resources in ${fmt(loaded.bundles)} transaction Bundles through POST /v1/fhir in ${loaded.seconds.toFixed(0)} s: **${fmt(loaded.resources / loaded.seconds)} resources/s**.`,
    '',
    `| query | p50 ms (1 client) | p95 ms (1 client) | bare-SQL p50 / p95 ms (1 client) | req/s (${CLIENTS} clients) | bare-SQL req/s | ratio (median of rounds) | ratio range | engine SQL (EXPLAIN ANALYZE) |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const query of report.queries) {
    if (query.unsupported || !query.single || !query.sqlSingle || !query.plan) {
      lines.push(`| ${query.name} | unsupported (HTTP ${query.unsupported}) | | | | | | | |`);
      continue;
    }
    const ratios = query.api.map((result, round) => result.perSecond / query.sql[round].perSecond);
    const errors = [query.single, ...query.api].reduce((sum, result) => sum + result.errors, 0);
    const scans = query.plan.seqScans.length ? `seq scan on ${query.plan.seqScans.join(', ')}` : 'no seq scan';
    const plan = query.plan.statements ? `${query.plan.milliseconds.toFixed(1)} ms, ${scans}` : 'not captured';
    lines.push(
      `| ${query.name}${errors ? ` (${errors} errors)` : ''} | ${query.single.p50.toFixed(1)} | ${query.single.p95.toFixed(1)} | ` +
        `${query.sqlSingle.p50.toFixed(1)} / ${query.sqlSingle.p95.toFixed(1)} | ${fmt(median(query.api.map((r) => r.perSecond)))} | ` +
        `${fmt(median(query.sql.map((r) => r.perSecond)))} | **${Math.round(median(ratios) * 100)}%** | ${Math.round(Math.min(...ratios) * 100)}–${Math.round(Math.max(...ratios) * 100)}% | ` +
        `${plan} |`,
    );
  }
  return lines.join('\n');
}

interface ScalingRow {
  name: string;
  entries: [number, number];
  api: [LoadResult[], LoadResult[]];
  sql: [LoadResult[], LoadResult[]];
  /** The same answers sent from memory by a bare route. */
  answer: [LoadResult[], LoadResult[]];
}
interface ScalingReport { name: string; version: string; loads: [LoadReport, LoadReport]; rows: ScalingRow[] }

/**
 * Fetches the engine's answer to each of a query's samples, keeping it for the bare answer route,
 * and returns the mean entries (matches and includes) per answer: what a larger dataset makes each
 * answer carry.
 */
async function keepAnswers(served: Served, index: number): Promise<{ entries: number; answerPaths: string[] }> {
  const { apiPaths } = served.queries[index];
  let entries = 0;
  const answerPaths: string[] = [];
  for (const [sample, url] of apiPaths.entries()) {
    const response = await served.bench.app.inject({ method: 'GET', url, headers: served.headers });
    if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}`);
    entries += ((response.json() as { entry?: unknown[] }).entry ?? []).length;
    served.answers.set(`${index}/${sample}`, response.body);
    answerPaths.push(`/answer/${index}/${sample}`);
  }
  return { entries: entries / apiPaths.length, answerPaths };
}

/** Each query on both datasets, round after round, the side measured first alternating. */
async function compare(opts: Options, pair: [Served, Served], name: string): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = [];
  for (const [index, query] of QUERIES.entries()) {
    const sides = await Promise.all(pair.map(async (served) => ({ served, ...served.queries[index], ...(await keepAnswers(served, index)) })));
    for (const { served, apiPaths } of sides) await load(spec(served.bench.port, apiPaths, CLIENTS, served.headers, opts.seconds));
    const api: [LoadResult[], LoadResult[]] = [[], []];
    const sql: [LoadResult[], LoadResult[]] = [[], []];
    const answer: [LoadResult[], LoadResult[]] = [[], []];
    for (let round = 0; round < opts.rounds; round++) {
      for (const side of round % 2 ? [1, 0] : [0, 1]) {
        const { served, apiPaths, sqlPaths, answerPaths } = sides[side];
        api[side].push(await load(spec(served.bench.port, apiPaths, 1, served.headers, opts.seconds)));
        sql[side].push(await load(spec(served.basePort, sqlPaths, 1, {}, opts.seconds)));
        answer[side].push(await load(spec(served.basePort, answerPaths, 1, {}, opts.seconds)));
      }
    }
    rows.push({ name: query.name, entries: [sides[0].entries, sides[1].entries], api, sql, answer });
    const p95 = (results: LoadResult[]) => median(results.map((result) => result.p95)).toFixed(1);
    process.stderr.write(`${name}: ${query.name}: p95 ${p95(api[0])} → ${p95(api[1])} ms (bare SQL ${p95(sql[0])} → ${p95(sql[1])}, answer from memory ${p95(answer[0])} → ${p95(answer[1])})\n`);
  }
  return rows;
}

const scalingTarget = (opts: Options, sizes: [number, number]) => (name: string, serverUrl: string): Promise<ScalingReport> => {
  const dataset = (size: number): DatasetSpec => ({ ...opts, size, keep: opts.keep && `${opts.keep}_${size}` });
  const [small, large] = sizes.map(dataset);
  return withBenchDatabase(serverUrl, (smallDb, smallUrl) => withBenchDatabase(serverUrl, async (largeDb, largeUrl) => {
    const first = await serve(smallDb, smallUrl, small, `${name} ${fmt(small.size)}`);
    try {
      const second = await serve(largeDb, largeUrl, large, `${name} ${fmt(large.size)}`);
      try {
        return { name, version: first.version, loads: [first.loaded, second.loaded], rows: await compare(opts, [first, second], name) };
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  }, large.keep), small.keep);
};

function scalingTable(report: ScalingReport, sizes: [number, number]): string {
  const [small, large] = sizes.map(fmt);
  const p95 = (results: LoadResult[]) => median(results.map((result) => result.p95));
  const p50 = (results: LoadResult[]) => median(results.map((result) => result.p50));
  // Paired by round: each round's two sides ran seconds apart.
  const growth = (pair: [LoadResult[], LoadResult[]]) => pair[1].map((result, round) => result.p95 / pair[0][round].p95);
  const lines = [
    `#### ${report.name} (PostgreSQL ${report.version})`,
    '',
    `Loads: ${report.loads.map((loaded) => `${fmt(loaded.resources)} resources in ${loaded.seconds.toFixed(0)} s`).join(', ')}.`,
    '',
    `| query | entries per answer, ${small} → ${large} | p50 ms, ${small} → ${large} | p95 ms, ${small} → ${large} | **p95 ${large} / ${small}** (median of rounds) | range over rounds | bare-SQL p95 ms, ${small} → ${large} | bare-SQL p95 ${large} / ${small} | same answers from memory: p95 ms, ${small} → ${large} |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of report.rows) {
    const api = growth(row.api);
    const sql = growth(row.sql);
    const errors = [...row.api[0], ...row.api[1]].reduce((sum, result) => sum + result.errors, 0);
    lines.push(
      `| ${row.name}${errors ? ` (${errors} errors)` : ''} | ${row.entries[0].toFixed(1)} → ${row.entries[1].toFixed(1)} | ` +
        `${p50(row.api[0]).toFixed(1)} → ${p50(row.api[1]).toFixed(1)} | ${p95(row.api[0]).toFixed(1)} → ${p95(row.api[1]).toFixed(1)} | ` +
        `**${median(api).toFixed(2)}×** | ${Math.min(...api).toFixed(2)}–${Math.max(...api).toFixed(2)}× | ` +
        `${p95(row.sql[0]).toFixed(1)} → ${p95(row.sql[1]).toFixed(1)} | ${median(sql).toFixed(2)}× | ` +
        `${p95(row.answer[0]).toFixed(2)} → ${p95(row.answer[1]).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

/** Replaces the block between `name`'s markers in the search section of docs/benchmarks.md (appending it the first time). */
async function writeBlock(name: string, lines: string[]): Promise<void> {
  const marker = (end: boolean) => `<!-- search ${end ? 'end' : 'start'} ${name} -->`;
  const block = [marker(false), ...lines, marker(true)].join('\n');
  console.log(block);
  const file = new URL('../docs/benchmarks.md', import.meta.url);
  let text = await readFile(file, 'utf8');
  if (!text.includes(SEARCH_SECTION)) {
    text = `${text.trimEnd()}\n\n${SEARCH_SECTION}\n\nGenerated by \`npm run bench -- --search --size N\` and \`--scaling SMALL,LARGE\` (bench/search.ts); see docs/search.md for how the dataset is built and how to read these tables.\n`;
  }
  const start = text.indexOf(marker(false));
  const end = text.indexOf(marker(true));
  text = start >= 0 && end > start ? `${text.slice(0, start)}${block}${text.slice(end + marker(true).length)}` : `${text.trimEnd()}\n\n${block}\n`;
  await writeFile(file, text);
}

const dataLine = (opts: Options) =>
  `- Data: the 80 Synthea bundles loaded repeatedly with fresh ids into ${opts.tenants} tenants; queries run as the first tenant (about 1/${opts.tenants} of the data), runtime values drawn at random from its data (${QUERIES.length} queries, up to 200 samples each)`;

export async function searchBenchmark(argv: string[]): Promise<void> {
  const opts = options(argv);
  if (opts.scaling) {
    const sizes = opts.scaling;
    const reports = await onEachTarget(scalingTarget(opts, sizes), { embedded: opts.embedded });
    return writeBlock('scaling', [
      `### How latency grows: ${fmt(sizes[0])} → ${fmt(sizes[1])} resources, measured side by side`,
      '',
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${machineLine()}`,
      dataLine(opts),
      `- Both datasets on the same server in one run (\`--scaling ${sizes.join(',')}\`). After a warm-up with ${CLIENTS} clients on each, ${opts.rounds} rounds; each round measures the query's single-client latency over ${opts.seconds} s on one size then the other (the order alternating), each followed by its bare-SQL route and by a bare route sending the engine's own answers from memory (no database, no engine: what moving an answer of that size costs here). A p95 is the median of the rounds' p95s; a ratio is the median of the rounds' ratios, each taken between measurements seconds apart`,
      '',
      ...reports.flatMap((report) => [scalingTable(report, sizes), '']),
    ]);
  }
  const reports = await onEachTarget(benchTarget(opts), { embedded: opts.embedded });
  await writeBlock(`size=${opts.size}`, [
    `### ${fmt(opts.size)} resources`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machineLine()}`,
    dataLine(opts),
    `- After a warm-up with ${CLIENTS} clients (every pooled connection prepares the statement): single-client latency over ${opts.seconds} s; throughput with ${CLIENTS} keep-alive clients, ${opts.rounds} rounds of ${opts.seconds} s alternating with the bare-SQL route; \`VACUUM ANALYZE\` after loading`,
    '',
    ...reports.flatMap((report) => [table(report), '']),
  ]);
}
