import type { Tx } from './database.js';
import type { IndexRows } from './index-rows.js';

/**
 * Resources, their history and their search index rows. Every function takes the partition:
 * tenant scope is enforced here, in the storage layer, not only by the routes above.
 */

export interface StoredResource {
  resourceType: string;
  id: string;
  versionId: number;
  createdAt: string;
  lastUpdated: string;
  deleted: boolean;
  /** The serialized FHIR JSON, exactly as stored; null for a tombstone. */
  content: string | null;
}

export interface VersionToWrite {
  resourceType: string;
  id: string;
  /** The new version number; the write succeeds only if the stored one is versionId - 1 (or absent for 1). */
  versionId: number;
  lastUpdated: string;
  deleted: boolean;
  content: string | null;
  indexVersion: number;
  index: IndexRows;
  operation: 'create' | 'update' | 'delete';
  keyId: string | null;
  requestId: string | null;
  /** True when no live version exists (a new id, or one re-created after a delete): it has no index rows to remove. */
  fresh: boolean;
}

export const RESOURCE_COLUMNS = 'resource_type AS "resourceType", id, version_id AS "versionId", to_char(created_at, \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') AS "createdAt", to_char(last_updated, \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') AS "lastUpdated", deleted, content';

export async function readResource(tx: Tx, partitionId: number, resourceType: string, id: string, options: { forUpdate?: boolean } = {}): Promise<StoredResource | undefined> {
  const lock = options.forUpdate ? ' FOR UPDATE' : '';
  const rows = await tx.query<StoredResource>(
    `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE partition_id = $1 AND resource_type = $2 AND id = $3${lock}`,
    [partitionId, resourceType, id],
    options.forUpdate ? 'resource_read_for_update' : 'resource_read',
  );
  return rows[0];
}

/** One version of a resource from the history, or undefined. */
export async function readVersion(tx: Tx, partitionId: number, resourceType: string, id: string, versionId: number): Promise<{ content: string | null; operation: string } | undefined> {
  const rows = await tx.query<{ content: string | null; operation: string }>(
    'SELECT content, operation FROM resource_history WHERE partition_id = $1 AND resource_type = $2 AND id = $3 AND version_id = $4',
    [partitionId, resourceType, id, versionId],
  );
  return rows[0];
}

/*
 * A version is written by one statement: the compare-and-swap upsert of the resource row, the
 * replacement of its index rows and the history append all happen in data-modifying CTEs that
 * run only if the upsert matched. One round trip, atomic on its own, and safe inside a larger
 * transaction. The history counter is bumped last, so its row lock is held the shortest time.
 */
export const INDEX_TABLES = ['search_token', 'search_string', 'search_reference', 'search_uri', 'search_date', 'search_number', 'search_quantity', 'search_sort', 'search_coded_reference'] as const;

/**
 * Each index table's columns after partition_id, resource_type and resource_id, and its rows for
 * a version. Reference and quantity rows also carry the version's last_updated (migrations 009
 * and 010), the order in which search_reference_lookup keeps the references to one target and
 * search_quantity_by_lead_updated a composite's quantities under one code. Coded references
 * (migration 011) are derived from the reference and token rows.
 */
export const indexInserts: Array<{ table: string; columns: string[]; types: string[]; rows: (index: IndexRows, lastUpdated: string) => unknown[][] }> = [
  {
    table: 'search_token', columns: ['param', 'grp', 'system', 'code', 'display', 'type_system', 'type_code'],
    types: ['text', 'int2', 'text', 'text', 'text', 'text', 'text'],
    rows: (r) => r.token.map((t) => [t.param, t.grp, t.system, t.code, t.display, t.typeSystem, t.typeCode]),
  },
  {
    table: 'search_string', columns: ['param', 'grp', 'value', 'raw'], types: ['text', 'int2', 'text', 'text'],
    rows: (r) => r.string.map((t) => [t.param, t.grp, t.value, t.raw]),
  },
  {
    table: 'search_reference', columns: ['param', 'grp', 'target_type', 'target_id', 'reference', 'identifier_system', 'identifier_value', 'last_updated'],
    types: ['text', 'int2', 'text', 'text', 'text', 'text', 'text', 'timestamptz'],
    rows: (r, lastUpdated) => r.reference.map((t) => [t.param, t.grp, t.targetType, t.targetId, t.reference, t.identifierSystem, t.identifierValue, lastUpdated]),
  },
  { table: 'search_uri', columns: ['param', 'grp', 'value'], types: ['text', 'int2', 'text'], rows: (r) => r.uri.map((t) => [t.param, t.grp, t.value]) },
  { table: 'search_date', columns: ['param', 'grp', 'low', 'high'], types: ['text', 'int2', 'timestamptz', 'timestamptz'], rows: (r) => r.date.map((t) => [t.param, t.grp, t.low, t.high]) },
  {
    table: 'search_number', columns: ['param', 'grp', 'value', 'low', 'high'], types: ['text', 'int2', 'numeric', 'numeric', 'numeric'],
    rows: (r) => r.number.map((t) => [t.param, t.grp, t.value, t.low, t.high]),
  },
  {
    table: 'search_quantity',
    columns: ['param', 'grp', 'value', 'low', 'high', 'system', 'code', 'unit', 'canonical_value', 'canonical_code', 'lead_system', 'lead_code', 'last_updated'],
    types: ['text', 'int2', 'numeric', 'numeric', 'numeric', 'text', 'text', 'text', 'numeric', 'text', 'text', 'text', 'timestamptz'],
    rows: (r, lastUpdated) =>
      r.quantity.map((t) => [t.param, t.grp, t.value, t.low, t.high, t.system, t.code, t.unit, t.canonicalValue, t.canonicalCode, t.leadSystem, t.leadCode, lastUpdated]),
  },
  {
    table: 'search_sort', columns: ['param', 'asc_text', 'desc_text', 'asc_number', 'desc_number', 'asc_date', 'desc_date'],
    types: ['text', 'text', 'text', 'numeric', 'numeric', 'timestamptz', 'timestamptz'],
    rows: (r) => r.sort.map((t) => [t.param, t.ascText, t.descText, t.ascNumber, t.descNumber, t.ascDate, t.descDate]),
  },
  {
    table: 'search_coded_reference', columns: ['param', 'target_type', 'target_id', 'system', 'code'], types: ['text', 'text', 'text', 'text', 'text'],
    rows: codedReferences,
  },
];

/**
 * Each relative reference of the resource paired with each code of its `code` parameter, the
 * composite parts (grp > 0) aside: the rows of search_coded_reference (migration 011, whose
 * backfill derives the same rows in SQL).
 */
function codedReferences(index: IndexRows): unknown[][] {
  const codes = index.token.filter((token) => token.param === 'code' && token.grp === 0 && token.code !== null);
  if (codes.length === 0) return [];
  return index.reference.flatMap((ref) =>
    ref.grp === 0 && ref.targetType !== null && ref.targetId !== null
      ? codes.map((token) => [ref.param, ref.targetType, ref.targetId, token.system, token.code])
      : [],
  );
}

/** Row tuples → one array per column, the shape `unnest()` takes. */
export function toColumns(rows: unknown[][], width: number): unknown[][] {
  return Array.from({ length: width }, (_, column) => rows.map((row) => row[column]));
}

/**
 * The statement for one shape of write: whether old index rows must go (an update) and which
 * index tables get new rows. Only those tables appear in it, so a write pays for nothing it
 * does not do. There are few shapes in practice; each is built once and prepared under its own name.
 */
const writeStatements = new Map<string, { name: string; text: string }>();

function writeStatement(replaceIndexRows: boolean, kinds: boolean[]): { name: string; text: string } {
  const key = `${replaceIndexRows ? 'u' : 'c'}${kinds.map((present) => (present ? 1 : 0)).join('')}`;
  let statement = writeStatements.get(key);
  if (!statement) {
    statement = { name: `resource_write_${key}`, text: buildWriteVersionSql(replaceIndexRows, kinds) };
    writeStatements.set(key, statement);
  }
  return statement;
}

function buildWriteVersionSql(replaceIndexRows: boolean, kinds: boolean[]): string {
  // $1 partition, $2 type, $3 id, $4 version, $5 last_updated, $6 deleted, $7 index_version,
  // $8 index_params, $9 content, $10 operation, $11 key_id, $12 request_id, then index arrays.
  let next = 13;
  const included = indexInserts.filter((_, i) => kinds[i]);
  const indexWork = [
    'SELECT 1',
    ...(replaceIndexRows ? INDEX_TABLES.map((table) => `SELECT 1 FROM del_${table}`) : []),
    ...included.map(({ table }) => `SELECT 1 FROM ins_${table}`),
  ];
  const ctes = [
    `upserted AS (
      INSERT INTO resources AS cur (partition_id, resource_type, id, version_id, created_at, last_updated, deleted, index_version, index_params, content)
      VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9)
      ON CONFLICT (partition_id, resource_type, id) DO UPDATE SET
        version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted,
        index_version = EXCLUDED.index_version, index_params = EXCLUDED.index_params, content = EXCLUDED.content,
        created_at = CASE WHEN cur.deleted THEN EXCLUDED.created_at ELSE cur.created_at END
      WHERE cur.version_id = $4 - 1
      RETURNING created_at)`,
    ...(replaceIndexRows ? INDEX_TABLES.map(
      (table) => `del_${table} AS (DELETE FROM ${table} WHERE partition_id = $1 AND resource_type = $2 AND resource_id = $3 AND EXISTS (SELECT 1 FROM upserted) RETURNING 1)`,
    ) : []),
    // Sibling CTEs run in no guaranteed order (PostgreSQL runs unreferenced ones last-first), so
    // each insert first drains its table's delete: the old rows are gone before a new row's
    // unique check (search_sort's primary key) can collide with them.
    ...included.map(({ table, columns, types }) => {
      const arrays = types.map((type) => `$${next++}::${type}[]`).join(', ');
      return `ins_${table} AS (INSERT INTO ${table} (partition_id, resource_type, resource_id, ${columns.join(', ')})
        SELECT $1, $2, $3, u.* FROM unnest(${arrays}) AS u WHERE EXISTS (SELECT 1 FROM upserted)${replaceIndexRows ? ` AND (SELECT count(*) FROM del_${table}) >= 0` : ''}
        RETURNING 1)`;
    }),
    // Unreferenced CTEs would run after the main query, i.e. after the counter's row lock is
    // taken. Draining all index work first keeps that lock (which serialises the partition's
    // writes until commit) held for the history insert and the commit only.
    `seq AS (INSERT INTO history_counters AS hc (partition_id, last_seq)
      SELECT $1, 1 WHERE EXISTS (SELECT 1 FROM upserted) AND (SELECT count(*) FROM (${indexWork.join(' UNION ALL ')}) AS work) >= 0
      ON CONFLICT (partition_id) DO UPDATE SET last_seq = hc.last_seq + 1 RETURNING last_seq)`,
  ];
  return `WITH ${ctes.join(',\n')}
    INSERT INTO resource_history (partition_id, seq, resource_type, id, version_id, operation, key_id, request_id, recorded_at, content)
    SELECT $1, seq.last_seq, $2, $3, $4, $10, $11, $12, $5, $9 FROM seq
    RETURNING to_char((SELECT created_at FROM upserted), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`;
}

/**
 * Writes a new version. Returns its createdAt, or undefined when the stored version was not the
 * expected one (a concurrent writer got there first): the caller re-reads and decides.
 */
export async function writeVersion(tx: Tx, partitionId: number, version: VersionToWrite): Promise<string | undefined> {
  const values: unknown[] = [
    partitionId, version.resourceType, version.id, version.versionId, version.lastUpdated, version.deleted,
    version.indexVersion, version.index.params, version.content, version.operation, version.keyId, version.requestId,
  ];
  const kinds = indexInserts.map((insert) => {
    const rows = insert.rows(version.index, version.lastUpdated);
    if (rows.length > 0) values.push(...toColumns(rows, insert.columns.length));
    return rows.length > 0;
  });
  const statement = writeStatement(!version.fresh, kinds);
  const rows = await tx.query<{ createdAt: string }>(statement.text, values, statement.name);
  return rows[0]?.createdAt;
}

/** Removes a resource and its whole history for good: legal erasure, an admin operation. */
export async function eraseResource(tx: Tx, partitionId: number, resourceType: string, id: string): Promise<number> {
  for (const table of INDEX_TABLES) {
    await tx.query(`DELETE FROM ${table} WHERE partition_id = $1 AND resource_type = $2 AND resource_id = $3`, [partitionId, resourceType, id]);
  }
  const history = await tx.query('DELETE FROM resource_history WHERE partition_id = $1 AND resource_type = $2 AND id = $3 RETURNING 1', [partitionId, resourceType, id]);
  await tx.query('DELETE FROM resources WHERE partition_id = $1 AND resource_type = $2 AND id = $3', [partitionId, resourceType, id]);
  return history.length;
}

/** Resources whose index rows were written by an older indexer, for the reindex job. */
export async function staleResources(tx: Tx, indexVersion: number, limit: number): Promise<Array<StoredResource & { partitionId: number }>> {
  return tx.query(
    `SELECT partition_id AS "partitionId", ${RESOURCE_COLUMNS} FROM resources WHERE NOT deleted AND index_version < $1 LIMIT $2`,
    [indexVersion, limit],
  );
}

/** Replaces the index rows of the current version without creating a new version. */
export async function replaceIndex(tx: Tx, partitionId: number, resourceType: string, id: string, versionId: number, indexVersion: number, index: IndexRows): Promise<boolean> {
  const [updated] = await tx.query<{ last_updated: string }>(
    'UPDATE resources SET index_version = $5, index_params = $6 WHERE partition_id = $1 AND resource_type = $2 AND id = $3 AND version_id = $4 RETURNING last_updated',
    [partitionId, resourceType, id, versionId, indexVersion, index.params],
  );
  if (!updated) return false;
  for (const table of INDEX_TABLES) {
    await tx.query(`DELETE FROM ${table} WHERE partition_id = $1 AND resource_type = $2 AND resource_id = $3`, [partitionId, resourceType, id]);
  }
  for (const insert of indexInserts) {
    const rows = insert.rows(index, updated.last_updated);
    if (rows.length === 0) continue;
    const arrays = insert.types.map((type, i) => `$${i + 4}::${type}[]`).join(', ');
    await tx.query(
      `INSERT INTO ${insert.table} (partition_id, resource_type, resource_id, ${insert.columns.join(', ')}) SELECT $1, $2, $3, u.* FROM unnest(${arrays}) AS u`,
      [partitionId, resourceType, id, ...toColumns(rows, insert.columns.length)],
    );
  }
  return true;
}
