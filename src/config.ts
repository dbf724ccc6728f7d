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
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = parsePort(env.PORT ?? '8080');
  const host = env.HOST || '127.0.0.1';
  const databaseUrl = env.DATABASE_URL || undefined;
  const adminKey = env.CLINIK_ADMIN_KEY || undefined;
  if (databaseUrl && !adminKey) {
    throw new ConfigError('CLINIK_ADMIN_KEY is required when DATABASE_URL is set (nodes must share one admin key).');
  }
  const publicUrl = (env.CLINIK_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  return {
    port,
    host,
    dataDir: path.resolve(env.CLINIK_DATA_DIR || './data'),
    databaseUrl,
    adminKey,
    publicUrl,
    logLevel: env.LOG_LEVEL || 'info',
  };
}

export class ConfigError extends Error {}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('PORT must be an integer between 0 and 65535.');
  return port;
}

/** The FHIR base URL of a server at `publicUrl`: absolute references under it are this server's. */
export function fhirBaseUrl(publicUrl: string): string {
  return `${publicUrl}/v1/fhir`;
}
