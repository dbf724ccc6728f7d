import path from 'node:path';

/** Configuration, read once from the environment. Defaults match the README. */
export interface Config {
  port: number;
  host: string;
  /** The embedded PostgreSQL's folder (used only when databaseUrl is unset). */
  dataDir: string;
  databaseUrl: string | undefined;
  adminKey: string | undefined;
  publicUrl: string;
  logLevel: string;
  bulk: BulkConfig;
}

/** Bulk jobs (docs/bulk.md). */
export interface BulkConfig {
  /** Where job output lives: the database (any node serves any download) or files under {dataDir}/exports (one node only). */
  storage: 'database' | 'local';
  dataDir: string;
  /** A job still running this long after it was created is failed. */
  deadlineMinutes: number;
  /** Output and input are deleted this long after a job ends. */
  retentionHours: number;
  /** The secret of signed download URLs; unset, one is generated once and kept in the database. */
  signingSecret: string | undefined;
  /** Identifies this node across restarts (default: the host name). */
  nodeId: string | undefined;
  /** Jobs this node runs at once. */
  concurrency: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = parsePort(env.PORT ?? '8080');
  const host = env.HOST || '127.0.0.1';
  const databaseUrl = env.DATABASE_URL || undefined;
  const adminKey = env.CLINIK_ADMIN_KEY || undefined;
  if (databaseUrl && !adminKey) {
    throw new ConfigError('CLINIK_ADMIN_KEY is required when DATABASE_URL is set (nodes must share one admin key).');
  }
  const dataDir = path.resolve(env.CLINIK_DATA_DIR || './data');
  const storage = env.CLINIK_BULK_STORAGE || (databaseUrl ? 'database' : 'local');
  if (storage !== 'database' && storage !== 'local') throw new ConfigError('CLINIK_BULK_STORAGE must be database or local.');
  const publicUrl = (env.CLINIK_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  return {
    port,
    host,
    dataDir,
    databaseUrl,
    adminKey,
    publicUrl,
    logLevel: env.LOG_LEVEL || 'info',
    bulk: {
      storage,
      dataDir,
      deadlineMinutes: positive(env, 'CLINIK_BULK_JOB_DEADLINE_MINUTES', 60),
      retentionHours: positive(env, 'CLINIK_BULK_RETENTION_HOURS', 24),
      signingSecret: env.CLINIK_SIGNING_SECRET || undefined,
      nodeId: env.CLINIK_NODE_ID || undefined,
      concurrency: positive(env, 'CLINIK_BULK_CONCURRENCY', 1),
    },
  };
}

export class ConfigError extends Error {}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new ConfigError(`${name} must be a positive number.`);
  return number;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('PORT must be an integer between 0 and 65535.');
  return port;
}

/** The FHIR base URL of a server at `publicUrl`: absolute references under it are this server's. */
export function fhirBaseUrl(publicUrl: string): string {
  return `${publicUrl}/v1/fhir`;
}
