import type { Tx } from './database.js';
import { INDEX_TABLES, indexInserts, RESOURCE_COLUMNS, toColumns, type StoredResource, type VersionToWrite } from './resources.js';

/**
 * Many versions written with a fixed number of statements, whatever their count: one multi-row
 * statement per table (rows passed as column arrays to `unnest`), and one history counter bump
 * for the whole batch. The single-write path (resources.ts writeVersion) and this one share the
 * index table definitions, so both write the same rows for the same resource.
 *
 * Must run inside a transaction: the statements are atomic only together.
 */

export interface ResourceKey { resourceType: string; id: string }

/** The current rows of `keys`, locked until the transaction ends (in key order, so two batches cannot deadlock). */
export async function readResourcesForUpdate(tx: Tx, partitionId: number, keys: ResourceKey[]): Promise<StoredResource[]> {
  if (keys.length === 0) return [];
  return tx.query<StoredResource>(
    `SELECT ${RESOURCE_COLUMNS} FROM resources
      WHERE partition_id = $1 AND (resource_type, id) IN (SELECT * FROM unnest($2::text[], $3::text[]))
      ORDER BY resource_type, id FOR UPDATE`,
    [partitionId, keys.map((key) => key.resourceType), keys.map((key) => key.id)],
  );
}

/**
 * Writes every version, each one as the successor of the stored version (or as a new row).
 * Returns the createdAt of each, in order, or undefined when some stored version was not the
 * expected one (a concurrent writer): the caller must then roll back.
 */
export async function writeVersions(tx: Tx, partitionId: number, versions: VersionToWrite[]): Promise<string[] | undefined> {
  if (versions.length === 0) return [];
  const replaced = versions.filter((version) => !version.fresh);
  if (replaced.length > 0) {
    const types = replaced.map((version) => version.resourceType);
    const ids = replaced.map((version) => version.id);
    for (const table of INDEX_TABLES) {
      await tx.query(
        `DELETE FROM ${table} AS t USING unnest($2::text[], $3::text[]) AS k(resource_type, resource_id)
          WHERE t.partition_id = $1 AND t.resource_type = k.resource_type AND t.resource_id = k.resource_id`,
        [partitionId, types, ids],
      );
    }
  }

  const column = <T>(pick: (version: VersionToWrite) => T) => versions.map(pick);
  const upserted = await tx.query<{ resourceType: string; id: string; createdAt: string }>(
    `INSERT INTO resources AS cur (partition_id, resource_type, id, version_id, created_at, last_updated, deleted, index_version, index_params, content)
      SELECT $1, u.resource_type, u.id, u.version_id, u.last_updated, u.last_updated, u.deleted, u.index_version, u.index_params::text[], u.content
      FROM unnest($2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::bool[], $7::int[], $8::text[], $9::text[])
        AS u(resource_type, id, version_id, last_updated, deleted, index_version, index_params, content)
      ON CONFLICT (partition_id, resource_type, id) DO UPDATE SET
        version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted,
        index_version = EXCLUDED.index_version, index_params = EXCLUDED.index_params, content = EXCLUDED.content,
        created_at = CASE WHEN cur.deleted THEN EXCLUDED.created_at ELSE cur.created_at END
      WHERE cur.version_id = EXCLUDED.version_id - 1
      RETURNING resource_type AS "resourceType", id, to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`,
    [
      partitionId, column((v) => v.resourceType), column((v) => v.id), column((v) => v.versionId), column((v) => v.lastUpdated),
      column((v) => v.deleted), column((v) => v.indexVersion), column((v) => arrayLiteral(v.index.params)), column((v) => v.content),
    ],
  );
  if (upserted.length !== versions.length) return undefined;

  for (const insert of indexInserts) {
    const rows = versions.flatMap((version) => insert.rows(version.index, version.lastUpdated).map((row) => [version.resourceType, version.id, ...row]));
    if (rows.length === 0) continue;
    const arrays = ['text', 'text', ...insert.types].map((type, i) => `$${i + 2}::${type}[]`).join(', ');
    await tx.query(
      `INSERT INTO ${insert.table} (partition_id, resource_type, resource_id, ${insert.columns.join(', ')}) SELECT $1, u.* FROM unnest(${arrays}) AS u`,
      [partitionId, ...toColumns(rows, insert.columns.length + 2)],
    );
  }

  // The counter's row lock serialises the partition's writes until commit: taken once, last.
  const [{ last }] = await tx.query<{ last: string }>(
    `INSERT INTO history_counters AS hc (partition_id, last_seq) VALUES ($1, $2)
      ON CONFLICT (partition_id) DO UPDATE SET last_seq = hc.last_seq + $2 RETURNING last_seq AS last`,
    [partitionId, versions.length],
  );
  await tx.query(
    `INSERT INTO resource_history (partition_id, seq, resource_type, id, version_id, operation, key_id, request_id, recorded_at, content)
      SELECT $1, $2::bigint + u.n, u.resource_type, u.id, u.version_id, u.operation, u.key_id, u.request_id, u.recorded_at, u.content
      FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::text[])
        WITH ORDINALITY AS u(resource_type, id, version_id, operation, key_id, request_id, recorded_at, content, n)`,
    [
      partitionId, String(BigInt(last) - BigInt(versions.length)), column((v) => v.resourceType), column((v) => v.id), column((v) => v.versionId),
      column((v) => v.operation), column((v) => v.keyId), column((v) => v.requestId), column((v) => v.lastUpdated), column((v) => v.content),
    ],
  );

  const createdAt = new Map(upserted.map((row) => [`${row.resourceType}/${row.id}`, row.createdAt]));
  return versions.map((version) => createdAt.get(`${version.resourceType}/${version.id}`)!);
}

/**
 * A text[] literal: `unnest` flattens a 2-D array, so each row's array travels as its literal
 * (and COPY's text format takes the same form, bulk-ingest.ts).
 */
export function arrayLiteral(values: string[]): string {
  return `{${values.map((value) => `"${value.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}
