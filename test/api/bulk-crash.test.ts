import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ndjson } from '../helpers/bulk.js';

/**
 * The crash test: a real server process is killed with SIGKILL in the middle of a 10,000-record
 * import and started again. The job must resume from its last committed step and end with every
 * record stored exactly once, and at the moment of the kill the stored records must be exactly
 * the ones the job's checkpoint counts (each step commits its writes with its checkpoint).
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const RECORDS = 10_000;
const ADMIN_KEY = `admin_${randomBytes(16).toString('hex')}`;

let database: TestDatabase;
let server: { child: ChildProcess; url: string } | undefined;

before(async () => {
  database = await createTestDatabase();
});
after(async () => {
  server?.child.kill('SIGKILL');
  await database.drop();
});

/** Starts `clinikapi serve` on a free port against the test database; resolves once it listens. */
function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['bin/clinikapi.js', 'serve'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: database.connectionString, CLINIK_ADMIN_KEY: ADMIN_KEY, PORT: '0', HOST: '127.0.0.1', CLINIK_NODE_ID: 'crash-test-node', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

async function call(method: string, url: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(url, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: response.status, json: (await response.json()) as { data: Record<string, any> } }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function dbCounts(jobId: string, partitionId: number) {
  const { rows } = await database.db.pool.query(
    `SELECT (SELECT processed_records FROM bulk_jobs WHERE id = $1) AS processed,
            (SELECT status FROM bulk_jobs WHERE id = $1) AS status,
            (SELECT count(*)::int FROM resources WHERE partition_id = $2 AND resource_type = 'Patient') AS stored,
            (SELECT count(DISTINCT content::jsonb #>> '{name,0,given,0}')::int FROM resources WHERE partition_id = $2 AND resource_type = 'Patient') AS distinct_names,
            (SELECT count(*)::int FROM resource_history WHERE partition_id = $2 AND resource_type = 'Patient') AS history`,
    [jobId, partitionId],
  );
  return rows[0] as { processed: number; status: string; stored: number; distinct_names: number; history: number };
}

test('an import survives SIGKILL of its server: it resumes on restart and stores every record exactly once', { timeout: 180_000 }, async () => {
  server = await startServer();
  const admin = { 'x-admin-key': ADMIN_KEY };
  const tenant = (await call('POST', `${server.url}/admin/tenants`, admin, { name: 'crash', plan: 'pro', rateLimitPerMinute: null })).json.data;
  const key = { 'x-api-key': tenant.keys.test as string };
  const [{ id: partitionId }] = (await database.db.pool.query("SELECT id FROM partitions WHERE organisation_id = $1 AND environment = 'test'", [tenant.tenantId])).rows;

  const data = ndjson(Array.from({ length: RECORDS }, (_, i) => ({ firstName: `Given${i}`, lastName: 'Crash', birthDate: '1970-01-01' })));
  const kickOff = await call('POST', `${server.url}/v1/bulk/import`, key, { resourceType: 'Patient', data });
  assert.equal(kickOff.status, 202);
  const jobId = kickOff.json.data.jobId as string;

  // Kill it as soon as some steps have committed, well before the end.
  for (let polls = 0; ; polls++) {
    const { processed } = await dbCounts(jobId, partitionId);
    if (processed > 0) break;
    assert.ok(polls < 2000, 'the job never started');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  server.child.kill('SIGKILL');
  await new Promise((resolve) => server!.child.once('exit', resolve));
  server = undefined;

  const atKill = await dbCounts(jobId, partitionId);
  assert.equal(atKill.status, 'processing', 'killed mid-job');
  assert.ok(atKill.processed < RECORDS, `killed before the end (${atKill.processed})`);
  assert.equal(atKill.stored, atKill.processed, 'the stored records are exactly the checkpointed ones');

  server = await startServer();
  const restartedAt = Date.now();
  let resumedAfterMs: number | undefined;
  for (;;) {
    const job = (await call('GET', `${server.url}/v1/bulk/jobs/${jobId}`, key)).json.data;
    if (resumedAfterMs === undefined && job.processedRecords > atKill.processed) resumedAfterMs = Date.now() - restartedAt;
    if (job.status === 'completed') {
      assert.deepEqual([job.totalRecords, job.processedRecords, job.errorCount, job.errors], [RECORDS, RECORDS, 0, []]);
      break;
    }
    assert.ok(['pending', 'processing'].includes(job.status), `status ${job.status}`);
    assert.ok(Date.now() - restartedAt < 120_000, 'the job did not finish after the restart');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const final = await dbCounts(jobId, partitionId);
  assert.deepEqual([final.stored, final.distinct_names, final.history], [RECORDS, RECORDS, RECORDS], 'every record stored exactly once');
  const { rows } = await database.db.pool.query('SELECT attempts, lease_owner FROM bulk_jobs WHERE id = $1', [jobId]);
  assert.deepEqual(rows[0], { attempts: 2, lease_owner: null });
  const input = await database.db.pool.query('SELECT count(*)::int AS n FROM bulk_job_input WHERE job_id = $1', [jobId]);
  assert.equal(input.rows[0].n, 0, 'the payload is deleted once imported');
  console.log(`killed at ${atKill.processed}/${RECORDS}; progress resumed ${resumedAfterMs} ms after the restarted server listened`);
});
