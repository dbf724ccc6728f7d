import { copyOutColumn } from './copy.js';
import type { Tx } from './database.js';
import type { JobKey } from './jobs.js';
import type { ResourceScan } from './resource-scan.js';

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
export async function writeJobChunk(tx: Tx, key: JobKey, name: string, seq: number, data: string): Promise<void> {
  await tx.query(
    `INSERT INTO bulk_job_chunks (partition_id, job_id, name, seq, data) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (partition_id, job_id, name, seq) DO UPDATE SET data = EXCLUDED.data`,
    [key.partitionId, key.id, name, seq, data],
  );
}

/**
 * The bytes of chunks `fromSeq` … `fromSeq + limit - 1` of a file, in order, fewer at its end. They
 * come through a binary COPY, as Buffers (src/store/copy.ts). COPY takes no bind parameters, so
 * the key travels in transaction-local settings, set by a parameterised statement: the caller's
 * transaction is required for that.
 */
export async function readJobChunkBytes(tx: Tx, key: JobKey, name: string, fromSeq: number, limit: number): Promise<Buffer[]> {
  await tx.query(
    `SELECT set_config('clinik.chunk_partition', $1, true), set_config('clinik.chunk_job', $2, true),
       set_config('clinik.chunk_name', $3, true), set_config('clinik.chunk_from', $4, true), set_config('clinik.chunk_limit', $5, true)`,
    [String(key.partitionId), key.id, name, String(fromSeq), String(limit)],
  );
  return copyOutColumn(tx, `COPY (
      SELECT data FROM bulk_job_chunks
      WHERE partition_id = current_setting('clinik.chunk_partition')::int AND job_id = current_setting('clinik.chunk_job')
        AND name = current_setting('clinik.chunk_name') AND seq >= current_setting('clinik.chunk_from')::int
        AND seq < current_setting('clinik.chunk_from')::int + current_setting('clinik.chunk_limit')::int
      ORDER BY seq) TO STDOUT (FORMAT binary)`);
}

export async function deleteJobChunks(tx: Tx, key: JobKey): Promise<void> {
  await tx.query('DELETE FROM bulk_job_chunks WHERE partition_id = $1 AND job_id = $2', [key.partitionId, key.id]);
}

/**
 * One keyset batch of a scan (src/store/resource-scan.ts), written by PostgreSQL itself as chunks
 * `firstSeq`, `firstSeq + 1`, … of a file, each starting a new chunk once `chunkBytes` bytes are
 * reached (a resource is never split): the NDJSON never passes through the node, so an export costs
 * it neither time nor memory, and a download reads a few at a time. Returns how many resources the
 * batch held (0 writes nothing), its last id, the chunks written and their bytes.
 */
export async function writeScanChunks(
  tx: Tx, key: JobKey, name: string, firstSeq: number, scan: ResourceScan, chunkBytes: number,
): Promise<{ records: number; lastId: string | null; chunks: number; bytes: number }> {
  const since = scan.since === null ? '' : 'AND last_updated >= $10::timestamptz';
  const [row] = await tx.query<{ records: number; lastId: string | null; chunks: number; bytes: number }>(
    `WITH batch AS MATERIALIZED (
        -- n: the chunk of the file's bytes where the resource's line starts (1 byte for its newline).
        SELECT id, content, (sum(octet_length(content) + 1) OVER (ORDER BY id) - octet_length(content) - 1) / $9 AS n FROM (
          SELECT id, content FROM resources
          WHERE partition_id = $1 AND resource_type = $2 AND id > $3 AND NOT deleted ${since}
          ORDER BY partition_id, resource_type, id LIMIT $4) AS scanned),
      chunks AS (
        INSERT INTO bulk_job_chunks (partition_id, job_id, name, seq, data)
        SELECT $5, $6, $7, $8 + dense_rank() OVER (ORDER BY n) - 1, string_agg(content || E'\\n', '' ORDER BY id) FROM batch GROUP BY n
        ON CONFLICT (partition_id, job_id, name, seq) DO UPDATE SET data = EXCLUDED.data
        RETURNING octet_length(data) AS bytes)
      SELECT (SELECT count(*)::int FROM batch) AS records, (SELECT max(id) FROM batch) AS "lastId",
        (SELECT count(*)::int FROM chunks) AS chunks, (SELECT coalesce(sum(bytes), 0)::float8 FROM chunks) AS bytes`,
    [scan.partitionId, scan.resourceType, scan.afterId ?? '', scan.limit, key.partitionId, key.id, name, firstSeq, chunkBytes, ...(scan.since === null ? [] : [scan.since])],
  );
  return row;
}
