import { arrayLiteral } from './batch-write.js';
import { copyText } from './copy.js';
import type { Database, Tx } from './database.js';
import { INDEX_TABLES, indexInserts, type VersionToWrite } from './resources.js';

/**
 * The operator loader's write path: new resources streamed with `COPY … FROM STDIN` (text
 * format) into `resources`, the index tables and `resource_history`. On the Synthea set it writes
 * about twice as many resources per second as the `unnest` INSERTs of batch-write.ts, and it
 * writes exactly the same rows for the same versions. It takes only first versions whose key no
 * row holds (the caller checks under lock; anything else goes through `writeVersions`).
 *
 * Rows are encoded apart from the COPY (`encodeFreshVersion`), so that the encoding can run in
 * worker threads, next to the validation and indexing.
 */

/** One fresh version as COPY text lines (each ending in a newline), partition id included. */
export interface EncodedVersion {
  resourceType: string;
  id: string;
  /** Its `resources` line. */
  resource: string;
  /** Its history line after the `partition_id, seq` columns, which are known only at write time. */
  history: string;
  /** Its lines for each of `indexInserts`' tables, in that order ('' when none). */
  index: string[];
}

const RESOURCE_COPY = 'COPY resources (partition_id, resource_type, id, version_id, created_at, last_updated, deleted, index_version, index_params, content) FROM STDIN';
const HISTORY_COPY = 'COPY resource_history (partition_id, seq, resource_type, id, version_id, operation, key_id, request_id, recorded_at, content) FROM STDIN';
const INDEX_COPIES = indexInserts.map(({ table, columns }) => `COPY ${table} (partition_id, resource_type, resource_id, ${columns.join(', ')}) FROM STDIN`);

/** Tables the loader writes, for VACUUM ANALYZE afterwards. */
export const INGEST_TABLES = ['resources', 'resource_history', ...INDEX_TABLES] as const;

export function encodeFreshVersion(partitionId: number, version: VersionToWrite): EncodedVersion {
  if (!version.fresh || version.deleted || version.versionId !== 1) throw new Error('encodeFreshVersion takes first versions only');
  const { resourceType, id, lastUpdated } = version;
  const head = `${partitionId}\t${field(resourceType)}\t${field(id)}\t`;
  const content = jsonField(version.content);
  return {
    resourceType,
    id,
    resource: `${head}1\t${lastUpdated}\t${lastUpdated}\tf\t${version.indexVersion}\t${field(arrayLiteral(version.index.params))}\t${content}\n`,
    history: `${field(resourceType)}\t${field(id)}\t1\t${version.operation}\t${field(version.keyId)}\t${field(version.requestId)}\t${lastUpdated}\t${content}\n`,
    index: indexInserts.map((insert) => insert.rows(version.index, lastUpdated).map((row) => `${head}${row.map(field).join('\t')}\n`).join('')),
  };
}

/**
 * Writes encoded fresh versions inside the caller's transaction: resources and index rows, then
 * the history, numbered after the partition's counter; returns the tables it wrote to. The
 * counter's row lock, which serialises the partition's writes until commit, is taken last, as in
 * every other write path.
 */
export async function copyFreshVersions(tx: Tx, partitionId: number, versions: EncodedVersion[]): Promise<string[]> {
  if (versions.length === 0) return [];
  const tables = ['resources', 'resource_history'];
  await copyText(tx, RESOURCE_COPY, versions.map((version) => version.resource));
  for (const [i, statement] of INDEX_COPIES.entries()) {
    const lines = versions.map((version) => version.index[i]).filter((text) => text !== '');
    if (lines.length === 0) continue;
    await copyText(tx, statement, lines);
    tables.push(indexInserts[i].table);
  }
  const [{ last }] = await tx.query<{ last: string }>(
    `INSERT INTO history_counters AS hc (partition_id, last_seq) VALUES ($1, $2)
      ON CONFLICT (partition_id) DO UPDATE SET last_seq = hc.last_seq + $2 RETURNING last_seq AS last`,
    [partitionId, versions.length],
  );
  const first = BigInt(last) - BigInt(versions.length) + 1n;
  await copyText(tx, HISTORY_COPY, versions.map((version, n) => `${partitionId}\t${first + BigInt(n)}\t${version.history}`));
  return tables;
}

/** Refreshes the planner statistics of the loaded tables (the planner trap of a bulk load: stale statistics). */
export async function vacuumAnalyze(db: Database, tables: readonly string[] = INGEST_TABLES): Promise<void> {
  for (const table of tables) await db.pool.query(`VACUUM (ANALYZE) ${table}`);
}

/** A COPY text-format field: backslash escapes for the characters the format reserves; \N is NULL. */
function field(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = typeof value === 'boolean' ? (value ? 't' : 'f') : String(value);
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (ch) => COPY_ESCAPES[ch]) : text;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** `field` for JSON.stringify output, which has no raw control characters: only backslashes to double. */
function jsonField(json: string | null): string {
  if (json === null) return '\\N';
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

