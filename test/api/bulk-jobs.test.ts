import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type Tenant, type TestApp } from '../helpers/app.js';
import { download, ndjson, waitForJob } from '../helpers/bulk.js';

/** Bulk job lifecycle through HTTP: isolation, signed downloads, the hourly quota, retention, deadlines, failures. */

const SECRET = 'bulk-jobs-test-secret';
const RETENTION_SECONDS = 2;

let t: TestApp;
let tenant: Tenant;
let other: Tenant;

before(async () => {
  t = await startTestApp({ bulk: { pollMs: 50, signingSecret: SECRET, retentionHours: RETENTION_SECONDS / 3600, sweepMs: 250 } });
  tenant = await t.createTenant();
  other = await t.createTenant();
});
after(() => t.close());

async function exportJob(key: string, resourceTypes = ['Patient']) {
  const response = await t.request('POST', '/v1/bulk/export', { key, body: { resourceTypes } });
  assert.equal(response.status, 202, response.body);
  return waitForJob(t, key, response.json.data.jobId);
}

describe('bulk jobs', () => {
  let job: { id: string; downloadUrl: string };

  before(async () => {
    await t.request('POST', '/v1/patients', { key: tenant.keys.test, body: { firstName: 'Ada', lastName: 'Lovelace' } });
    job = await exportJob(tenant.keys.test);
  });

  test('another tenant, or the other environment, cannot read the job: 404', async () => {
    for (const key of [other.keys.test, other.keys.live!, tenant.keys.live!]) {
      const response = await t.request('GET', `/v1/bulk/jobs/${job.id}`, { key });
      assert.equal(response.status, 404);
      assert.equal(response.json.code, 'NOT_FOUND');
    }
    assert.equal((await t.request('GET', `/v1/bulk/jobs/${job.id}`, { key: tenant.keys.test })).status, 200);
    assert.equal((await t.request('GET', '/v1/bulk/jobs/job_doesnotexist', { key: tenant.keys.test })).status, 404);
    assert.equal((await t.request('GET', `/v1/bulk/jobs/${job.id}`)).status, 401);
  });

  test('downloads need no key, and every poll refreshes the link', async () => {
    const file = await download(t, job.downloadUrl);
    assert.equal(file.status, 200);
    assert.equal(JSON.parse(file.body.trim()).name[0].family, 'Lovelace');
    assert.equal(file.headers['content-length'], String(Buffer.byteLength(file.body)));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await waitForJob(t, tenant.keys.test, job.id);
    assert.notEqual(again.downloadUrl, job.downloadUrl);
    assert.equal((await download(t, again.downloadUrl)).status, 200);
  });

  test('a tampered, foreign or expired link answers 403 in the documented error shape', async () => {
    const url = new URL(job.downloadUrl);
    const expires = url.searchParams.get('expires')!;
    const tampered = [
      `${url.pathname}?expires=${expires}&signature=${url.searchParams.get('signature')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`,
      `${url.pathname}?expires=${Number(expires) + 60}&signature=${url.searchParams.get('signature')}`,
      `${url.pathname.replace('export.ndjson', 'other.ndjson')}${url.search}`,
      `${url.pathname}`,
    ];
    // Another tenant's own valid link, pointed at this job.
    await t.request('POST', '/v1/patients', { key: other.keys.test, body: { firstName: 'Other', lastName: 'Tenant' } });
    const foreign = new URL((await exportJob(other.keys.test)).downloadUrl);
    tampered.push(`${url.pathname}${foreign.search}`);
    for (const path of tampered) {
      const response = await t.request('GET', path);
      assert.equal(response.status, 403, path);
      assert.equal(response.json.code, 'FORBIDDEN');
      assert.equal(response.json.message, 'The download link is invalid');
      assert.match(response.json.requestId, /^req_/);
    }
    const [{ partition_id: partitionId }] = (await t.database.db.pool.query('SELECT partition_id FROM bulk_jobs WHERE id = $1', [job.id])).rows;
    const past = Math.floor(Date.now() / 1000) - 1;
    const signature = createHmac('sha256', SECRET).update(`${partitionId}\n${job.id}\nexport.ndjson\n${past}`).digest('base64url');
    const expired = await t.request('GET', `${url.pathname}?expires=${past}&signature=${signature}`);
    assert.equal(expired.status, 403);
    assert.match(expired.json.message, /expired/);
  });

  test('output is deleted after the retention period: no link, and the old link answers 404', async () => {
    const fresh = await exportJob(tenant.keys.test);
    await new Promise((resolve) => setTimeout(resolve, RETENTION_SECONDS * 1000 + 800));
    const expired = await waitForJob(t, tenant.keys.test, fresh.id);
    assert.equal(expired.status, 'completed');
    assert.equal(expired.downloadUrl, undefined);
    const response = await download(t, fresh.downloadUrl);
    assert.equal(response.status, 404);
    assert.equal(response.json.code, 'NOT_FOUND');
    const { rows } = await t.database.db.pool.query('SELECT (SELECT count(*)::int FROM bulk_job_chunks WHERE job_id = $1) AS chunks, (SELECT count(*)::int FROM bulk_job_files WHERE job_id = $1) AS files', [fresh.id]);
    assert.deepEqual(rows[0], { chunks: 0, files: 0 });
  });
});

describe('the hourly bulk quota', () => {
  test('the sixth bulk operation of an organisation in an hour (both environments) answers 429 with Retry-After', async () => {
    const org = await t.createTenant();
    const keys = [org.keys.test, org.keys.live!, org.keys.test, org.keys.live!, org.keys.test];
    for (const key of keys) {
      const response = await t.request('POST', '/v1/bulk/export', { key, body: { resourceTypes: ['Patient'] } });
      assert.equal(response.status, 202, response.body);
    }
    for (const [key, path, body] of [
      [org.keys.live!, '/v1/bulk/export', { resourceTypes: ['Patient'] }],
      [org.keys.test, '/v1/bulk/import', { resourceType: 'Patient', data: '{"firstName":"A","lastName":"B"}' }],
    ] as const) {
      const response = await t.request('POST', path, { key, body });
      assert.equal(response.status, 429, response.body);
      assert.equal(response.json.code, 'RATE_LIMITED');
      assert.equal(response.json.error, 'Too Many Requests');
      const retryAfter = Number(response.headers['retry-after']);
      assert.ok(retryAfter > 3500 && retryAfter <= 3600, String(retryAfter));
    }
    // Another organisation is not affected.
    const fresh = await t.createTenant();
    assert.equal((await t.request('POST', '/v1/bulk/export', { key: fresh.keys.test, body: { resourceTypes: ['Patient'] } })).status, 202);
  });
});

describe('failures are final, never stuck', () => {
  test('a job past its deadline is failed with the reason', async () => {
    const slow = await startTestApp({ bulk: { pollMs: 50, deadlineMinutes: 0.0005 } });
    try {
      const org = await slow.createTenant();
      const response = await slow.request('POST', '/v1/bulk/import', { key: org.keys.test, body: { resourceType: 'Patient', data: ndjson(Array.from({ length: 3000 }, () => ({ firstName: 'A', lastName: 'B' }))) } });
      assert.equal(response.status, 202);
      const job = await waitForJob(slow, org.keys.test, response.json.data.jobId);
      assert.equal(job.status, 'failed');
      assert.ok(job.processedRecords < 3000);
      assert.deepEqual(job.errors.at(-1), { index: -1, message: 'The job exceeded its deadline of 0.0005 minutes' });
    } finally {
      await slow.close();
    }
  });

  test('a job that keeps failing unexpectedly is retried, then failed with a generic reason', async () => {
    // An import whose stored input is missing (which nothing else can cause) throws on every attempt.
    const [{ id: partitionId }] = (await t.database.db.pool.query("SELECT id FROM partitions WHERE organisation_id = $1 AND environment = 'live'", [other.tenantId])).rows;
    const jobId = 'job_brokenbrokenbroken';
    await t.database.db.pool.query(
      `INSERT INTO bulk_jobs (partition_id, id, kind, status, request, total_records, created_at, deadline_at, expires_at)
        VALUES ($1, $2, 'import', 'pending', $3, 1, now(), now() + interval '1 hour', now() + interval '1 hour')`,
      [partitionId, jobId, JSON.stringify({ resourceType: 'Patient', format: 'simplified', tenantId: other.tenantId, keyId: null, records: 1, chunks: 1 })],
    );
    const job = await waitForJob(t, other.keys.live!, jobId);
    assert.equal(job.status, 'failed');
    assert.deepEqual(job.errors, [{ index: -1, message: 'The job failed after 3 attempts because of an internal error' }]);
    const { rows } = await t.database.db.pool.query('SELECT attempts, lease_owner FROM bulk_jobs WHERE id = $1', [jobId]);
    assert.deepEqual(rows[0], { attempts: 3, lease_owner: null });
    assert.ok(t.logs.some((line) => line.includes('job attempt failed') && line.includes(jobId)));
  });

  test('a job left processing by a dead node is taken over once its lease expires, and resumes from its checkpoint', async () => {
    const [{ id: partitionId }] = (await t.database.db.pool.query("SELECT id FROM partitions WHERE organisation_id = $1 AND environment = 'test'", [other.tenantId])).rows;
    await t.request('POST', '/v1/practitioners', { key: other.keys.test, body: { firstName: 'Orphan', lastName: 'Export' } });
    const jobId = 'job_orphanedorphanedor';
    // As a node that died after its first step would leave it: processing, an expired lease, one attempt, and a
    // checkpoint past the first type (so a correct resume exports only the second).
    await t.database.db.pool.query(
      `INSERT INTO bulk_jobs (partition_id, id, kind, status, request, checkpoint, total_records, lease_owner, lease_expires_at, attempts, created_at, started_at, deadline_at, expires_at)
        VALUES ($1, $2, 'export', 'processing', $3, $4, 1, 'dead-node/1', now() - interval '1 second', 1, now(), now(), now() + interval '1 hour', now() + interval '1 hour')`,
      [partitionId, jobId, JSON.stringify({ resourceTypes: ['Patient', 'Practitioner'], since: null }), JSON.stringify({ type: 1, afterId: null, file: { records: 0, bytes: 0, chunks: 0 } })],
    );
    const job = await waitForJob(t, other.keys.test, jobId);
    assert.deepEqual([job.status, job.processedRecords], ['completed', 1]);
    const file = await download(t, job.downloadUrl);
    assert.deepEqual(file.body.trim().split('\n').map((line) => JSON.parse(line).resourceType), ['Practitioner']);
    const { rows } = await t.database.db.pool.query('SELECT attempts FROM bulk_jobs WHERE id = $1', [jobId]);
    assert.equal(rows[0].attempts, 2);
  });
});
