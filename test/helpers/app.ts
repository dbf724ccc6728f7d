import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import { KeyCache } from '../../src/auth/key-cache.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface Response {
  status: number;
  headers: Record<string, string | number | string[] | undefined>;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface RequestOptions {
  key?: string;
  body?: unknown;
  /** A raw body sent as is (for malformed input). */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Tenant {
  tenantId: string;
  keys: { test: string; live: string | null };
}

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  adminKey: string;
  /** Every log line the app wrote, for the PHI-in-logs checks. */
  logs: string[];
  request(method: string, url: string, options?: RequestOptions): Promise<Response>;
  admin(method: string, url: string, body?: unknown): Promise<Response>;
  createTenant(body?: Record<string, unknown>): Promise<Tenant>;
  close(): Promise<void>;
}

export const PUBLIC_URL = 'https://api.test.example';

/**
 * A full app on a database of its own (or a shared one, to act as a second node), driven
 * through HTTP injection exactly as a client would drive it.
 */
export async function startTestApp(options: { database?: TestDatabase; adminKey?: string; bulk?: AppOptions['bulk'] } = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const ownsDatabase = !options.database;
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const keyCache = new KeyCache(database.db, database.connectionString);
  await keyCache.listen();
  const adminKey = options.adminKey ?? `admin_${randomBytes(16).toString('hex')}`;
  const app = buildApp({ db: database.db, keyCache, adminKey, publicUrl: PUBLIC_URL, logLevel: 'info', logStream,
    // Each test app is a node of its own: the same node id would make a new app reclaim another app's running jobs.
    bulk: { nodeId: `test-node-${randomBytes(4).toString('hex')}`, ...options.bulk } });
  await app.ready();

  const request = async (method: string, url: string, opts: RequestOptions = {}): Promise<Response> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers['x-api-key'] = opts.key;
    let payload: string | Buffer | undefined;
    if (opts.raw !== undefined) payload = opts.raw;
    else if (opts.body !== undefined) payload = JSON.stringify(opts.body);
    if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const response = await app.inject({ method: method as 'GET', url, headers, payload });
    let json: unknown;
    try {
      json = response.body ? JSON.parse(response.body) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, headers: response.headers, body: response.body, json };
  };

  const admin = (method: string, url: string, body?: unknown) => request(method, url, { body, headers: { 'x-admin-key': adminKey } });

  return {
    app,
    database,
    adminKey,
    logs,
    request,
    admin,
    createTenant: async (body = {}) => {
      const response = await admin('POST', '/admin/tenants', { name: 'test', plan: 'pro', rateLimitPerMinute: null, ...body });
      if (response.status !== 201) throw new Error(`tenant creation failed: ${response.status} ${response.body}`);
      return response.json.data as Tenant;
    },
    close: async () => {
      await app.close();
      await keyCache.close();
      if (ownsDatabase) await database.drop();
    },
  };
}
