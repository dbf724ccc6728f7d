import type { Tx } from './database.js';

/**
 * Bulk jobs (migration 004): creation, the runner's claim/lease/step updates, the quota count and
 * the retention sweep. Every statement on tenant data names its partition, except the runner's
 * queue statements, which work across partitions by nature and only ever touch job rows.
 */

export type JobKind = 'import' | 'export' | 'fhir-export';
export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

export interface JobError { index: number; message: string }

export interface JobKey { partitionId: number; id: string }

export interface JobRecord extends JobKey {
  kind: JobKind;
  status: JobStatus;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  checkpoint: any;
  totalRecords: number | null;
  processedRecords: number;
  errors: JobError[];
  errorCount: number;
  failure: string | null;
  attempts: number;
  leaseOwner: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  deadlineAt: string;
  expiresAt: string;
  purgedAt: string | null;
}

/** At most this many errors are kept per job; error_count keeps counting. */
export const MAX_KEPT_ERRORS = 1000;

const iso = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const JOB_COLUMNS = `partition_id AS "partitionId", id, kind, status, request, checkpoint, total_records AS "totalRecords",
  processed_records AS "processedRecords", errors, error_count AS "errorCount", failure, attempts, lease_owner AS "leaseOwner",
  ${iso('created_at')} AS "createdAt", ${iso('started_at')} AS "startedAt", ${iso('finished_at')} AS "finishedAt",
  ${iso('deadline_at')} AS "deadlineAt", ${iso('expires_at')} AS "expiresAt", ${iso('purged_at')} AS "purgedAt"`;

export interface NewJob extends JobKey {
  kind: JobKind;
  request: unknown;
  totalRecords?: number | null;
  deadlineMinutes: number;
  retentionHours: number;
}

export async function createJob(tx: Tx, job: NewJob): Promise<JobRecord> {
  const rows = await tx.query<JobRecord>(
    `INSERT INTO bulk_jobs (partition_id, id, kind, status, request, total_records, created_at, deadline_at, expires_at)
      VALUES ($1, $2, $3, 'pending', $4, $5, now(), now() + ($6::float8 * interval '1 minute'), now() + ($7::float8 * interval '1 hour'))
      RETURNING ${JOB_COLUMNS}`,
    [job.partitionId, job.id, job.kind, JSON.stringify(job.request), job.totalRecords ?? null, job.deadlineMinutes, job.retentionHours],
  );
  return rows[0];
}

export async function readJob(tx: Tx, partitionId: number, id: string): Promise<JobRecord | undefined> {
  const rows = await tx.query<JobRecord>(`SELECT ${JOB_COLUMNS} FROM bulk_jobs WHERE partition_id = $1 AND id = $2`, [partitionId, id]);
  return rows[0];
}

/** The partition of a job, by id alone: for signed download URLs, whose signature then binds it. */
export async function jobPartition(tx: Tx, id: string): Promise<number | undefined> {
  const rows = await tx.query<{ partitionId: number }>('SELECT partition_id AS "partitionId" FROM bulk_jobs WHERE id = $1', [id]);
  return rows.length === 1 ? rows[0].partitionId : undefined;
}

/** Import payload: one chunk of lines, written in the transaction that creates the job. */
export async function insertInputChunk(tx: Tx, key: JobKey, chunk: number, firstIndex: number, lines: Array<string | null>): Promise<void> {
  await tx.query('INSERT INTO bulk_job_input (partition_id, job_id, chunk, first_index, lines) VALUES ($1, $2, $3, $4, $5)', [
    key.partitionId, key.id, chunk, firstIndex, lines,
  ]);
}

export async function readInputChunk(tx: Tx, key: JobKey, chunk: number): Promise<{ firstIndex: number; lines: Array<string | null> } | undefined> {
  const rows = await tx.query<{ firstIndex: number; lines: Array<string | null> }>(
    'SELECT first_index AS "firstIndex", lines FROM bulk_job_input WHERE partition_id = $1 AND job_id = $2 AND chunk = $3',
    [key.partitionId, key.id, chunk],
  );
  return rows[0];
}

/**
 * Serialises the quota check of one organisation across nodes until the transaction ends, so
 * that two concurrent kick-offs cannot both see the last free slot.
 */
export async function lockBulkQuota(tx: Tx, organisationId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('bulk-quota'), hashtext($1))", [organisationId]);
}

/** Jobs the organisation (both environments) created since `since`, and the oldest one's time. */
export async function countRecentJobs(tx: Tx, organisationId: string, since: Date): Promise<{ count: number; oldest: string | null }> {
  const rows = await tx.query<{ count: number; oldest: string | null }>(
    `SELECT count(*)::int AS count, ${iso('min(j.created_at)')} AS oldest
      FROM partitions p JOIN bulk_jobs j ON j.partition_id = p.id AND j.created_at >= $2
      WHERE p.organisation_id = $1`,
    [organisationId, since.toISOString()],
  );
  return rows[0];
}

// ---- The runner's queue ----------------------------------------------------------------------

/**
 * Claims the oldest runnable job of the given kinds: pending, or processing with an expired lease
 * (its node died). SKIP LOCKED lets nodes claim concurrently without waiting on each other.
 */
export async function claimJob(tx: Tx, owner: string, leaseSeconds: number, kinds: string[]): Promise<JobRecord | undefined> {
  const rows = await tx.query<JobRecord>(
    `WITH next AS (
        SELECT partition_id AS next_partition, id AS next_id FROM bulk_jobs
         WHERE status IN ('pending', 'processing') AND kind = ANY($3::text[]) AND deadline_at > now()
           AND (status = 'pending' OR lease_expires_at < now())
         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
      UPDATE bulk_jobs j SET status = 'processing', lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2),
        attempts = j.attempts + 1, started_at = COALESCE(j.started_at, now())
      FROM next WHERE j.partition_id = next.next_partition AND j.id = next.next_id
      RETURNING ${JOB_COLUMNS}`,
    [owner, leaseSeconds, kinds],
  );
  return rows[0];
}

/** Expires the leases a previous run of this node left behind, so they are claimed at once. */
export async function expireLeasesOf(tx: Tx, ownerPrefix: string, currentOwner: string): Promise<number> {
  const rows = await tx.query(
    `UPDATE bulk_jobs SET lease_expires_at = now() - interval '1 second'
      WHERE status = 'processing' AND starts_with(lease_owner, $1) AND lease_owner <> $2 RETURNING id`,
    [ownerPrefix, currentOwner],
  );
  return rows.length;
}

/** Fails the jobs past their deadline that no live node is running (pending, or lease expired). */
export async function failOverdueJobs(tx: Tx, reason: string, retentionHours: number): Promise<number> {
  const rows = await tx.query(
    `UPDATE bulk_jobs SET status = 'failed', failure = $1, finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
        expires_at = now() + ($2::float8 * interval '1 hour')
      WHERE status IN ('pending', 'processing') AND deadline_at <= now() AND (status = 'pending' OR lease_expires_at < now())
      RETURNING id`,
    [reason, retentionHours],
  );
  return rows.length;
}

export interface StepState { status: JobStatus; leaseOwner: string | null; overdue: boolean; keptErrors: number }

/** Locks the job row for one step (until the step's transaction ends) and reads what the step must check. */
export async function lockJobForStep(tx: Tx, key: JobKey): Promise<StepState | undefined> {
  const rows = await tx.query<StepState>(
    `SELECT status, lease_owner AS "leaseOwner", deadline_at <= now() AS overdue, jsonb_array_length(errors) AS "keptErrors"
      FROM bulk_jobs WHERE partition_id = $1 AND id = $2 FOR UPDATE`,
    [key.partitionId, key.id],
  );
  return rows[0];
}

export interface StepUpdate {
  checkpoint: unknown;
  processed: number;
  /** Already capped by the caller to what fits under MAX_KEPT_ERRORS. */
  keptErrors: JobError[];
  errorCount: number;
  total?: number;
  done: boolean;
  leaseSeconds: number;
  retentionHours: number;
}

/** Records a step's checkpoint and counters, renews the lease, and completes the job when done. */
export async function recordStep(tx: Tx, key: JobKey, update: StepUpdate): Promise<void> {
  await tx.query(
    `UPDATE bulk_jobs SET checkpoint = $3, processed_records = processed_records + $4, errors = errors || $5::jsonb,
        error_count = error_count + $6, total_records = COALESCE($7, total_records),
        lease_expires_at = CASE WHEN $8 THEN NULL ELSE now() + make_interval(secs => $9) END,
        lease_owner = CASE WHEN $8 THEN NULL ELSE lease_owner END,
        status = CASE WHEN $8 THEN 'completed' ELSE status END,
        finished_at = CASE WHEN $8 THEN now() END,
        expires_at = CASE WHEN $8 THEN now() + ($10::float8 * interval '1 hour') ELSE expires_at END
      WHERE partition_id = $1 AND id = $2`,
    [key.partitionId, key.id, JSON.stringify(update.checkpoint ?? null), update.processed, JSON.stringify(update.keptErrors), update.errorCount,
      update.total ?? null, update.done, update.leaseSeconds, update.retentionHours],
  );
}

/** Extends the lease while this owner still holds it; false when the job was lost (cancelled, reclaimed, finished). */
export async function renewLease(tx: Tx, key: JobKey, owner: string, leaseSeconds: number): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE bulk_jobs SET lease_expires_at = now() + make_interval(secs => $4)
      WHERE partition_id = $1 AND id = $2 AND status = 'processing' AND lease_owner = $3 RETURNING id`,
    [key.partitionId, key.id, owner, leaseSeconds],
  );
  return rows.length === 1;
}

/** Ends a job this owner holds: completed, or failed with a reason (no PHI). */
export async function finishJob(tx: Tx, key: JobKey, owner: string, outcome: { status: 'completed' | 'failed'; failure?: string }, retentionHours: number): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE bulk_jobs SET status = $4, failure = $5, finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
        expires_at = now() + ($6::float8 * interval '1 hour')
      WHERE partition_id = $1 AND id = $2 AND status = 'processing' AND lease_owner = $3 RETURNING id`,
    [key.partitionId, key.id, owner, outcome.status, outcome.failure ?? null, retentionHours],
  );
  return rows.length === 1;
}

/**
 * Hands a job this owner holds back to the queue. A shutdown gives the attempt back (`refund`);
 * a failed attempt keeps it counted.
 */
export async function releaseJob(tx: Tx, key: JobKey, owner: string, refund: boolean): Promise<void> {
  await tx.query(
    `UPDATE bulk_jobs SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, attempts = attempts - CASE WHEN $4 THEN 1 ELSE 0 END
      WHERE partition_id = $1 AND id = $2 AND status = 'processing' AND lease_owner = $3`,
    [key.partitionId, key.id, owner, refund],
  );
}

/** Cancels a job that has not finished; returns whether it did. Its runner notices at its next step. */
export async function cancelJob(tx: Tx, partitionId: number, id: string, retentionHours: number): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE bulk_jobs SET status = 'cancelled', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
        expires_at = now() + ($3::float8 * interval '1 hour')
      WHERE partition_id = $1 AND id = $2 AND status IN ('pending', 'processing') RETURNING id`,
    [partitionId, id, retentionHours],
  );
  return rows.length === 1;
}

// ---- Retention -------------------------------------------------------------------------------

/** Finished jobs whose retention has passed and whose data is still there. */
export async function expiredJobs(tx: Tx, limit: number): Promise<JobKey[]> {
  return tx.query<JobKey>(
    `SELECT partition_id AS "partitionId", id FROM bulk_jobs
      WHERE expires_at <= now() AND purged_at IS NULL AND status NOT IN ('pending', 'processing')
      ORDER BY expires_at LIMIT $1`,
    [limit],
  );
}

/** Deletes an import's payload (after retention, or once a job is cancelled). */
export async function deleteJobInput(tx: Tx, key: JobKey): Promise<void> {
  await tx.query('DELETE FROM bulk_job_input WHERE partition_id = $1 AND job_id = $2', [key.partitionId, key.id]);
}

export async function markPurged(tx: Tx, key: JobKey): Promise<void> {
  await tx.query('UPDATE bulk_jobs SET purged_at = now() WHERE partition_id = $1 AND id = $2', [key.partitionId, key.id]);
}
