import type { Tx } from './database.js';
import type { JobKey } from './jobs.js';

/** Output files of bulk jobs (migration 004): their sizes, and their chunks for the database output store. */

export interface JobFile {
  name: string;
  resourceType: string | null;
  records: number;
  bytes: number;
}

const FILE_COLUMNS = 'name, resource_type AS "resourceType", records, bytes::float8 AS bytes';

export async function upsertJobFile(tx: Tx, key: JobKey, file: JobFile): Promise<void> {
  await tx.query(
    `INSERT INTO bulk_job_files (partition_id, job_id, name, resource_type, records, bytes) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (partition_id, job_id, name) DO UPDATE SET records = EXCLUDED.records, bytes = EXCLUDED.bytes`,
    [key.partitionId, key.id, file.name, file.resourceType, file.records, file.bytes],
  );
}

export async function listJobFiles(tx: Tx, key: JobKey): Promise<JobFile[]> {
  return tx.query<JobFile>(`SELECT ${FILE_COLUMNS} FROM bulk_job_files WHERE partition_id = $1 AND job_id = $2 ORDER BY name`, [key.partitionId, key.id]);
}

export async function readJobFile(tx: Tx, key: JobKey, name: string): Promise<JobFile | undefined> {
  const rows = await tx.query<JobFile>(`SELECT ${FILE_COLUMNS} FROM bulk_job_files WHERE partition_id = $1 AND job_id = $2 AND name = $3`, [key.partitionId, key.id, name]);
  return rows[0];
}

export async function deleteJobFiles(tx: Tx, key: JobKey): Promise<void> {
  await tx.query('DELETE FROM bulk_job_files WHERE partition_id = $1 AND job_id = $2', [key.partitionId, key.id]);
}

/** Writes chunk `seq` of a file; a chunk left by a step that never committed cannot exist, but a rewrite replaces it. */
export async function writeJobChunk(tx: Tx, key: JobKey, name: string, seq: number, data: Buffer): Promise<void> {
  await tx.query(
    `INSERT INTO bulk_job_chunks (partition_id, job_id, name, seq, data) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (partition_id, job_id, name, seq) DO UPDATE SET data = EXCLUDED.data`,
    [key.partitionId, key.id, name, seq, data],
  );
}

/** The chunks of a file from `fromSeq` on, at most `limit` of them, in order. */
export async function readJobChunks(tx: Tx, key: JobKey, name: string, fromSeq: number, limit: number): Promise<Array<{ seq: number; data: Buffer }>> {
  return tx.query<{ seq: number; data: Buffer }>(
    'SELECT seq, data FROM bulk_job_chunks WHERE partition_id = $1 AND job_id = $2 AND name = $3 AND seq >= $4 ORDER BY seq LIMIT $5',
    [key.partitionId, key.id, name, fromSeq, limit],
  );
}

export async function deleteJobChunks(tx: Tx, key: JobKey): Promise<void> {
  await tx.query('DELETE FROM bulk_job_chunks WHERE partition_id = $1 AND job_id = $2', [key.partitionId, key.id]);
}
