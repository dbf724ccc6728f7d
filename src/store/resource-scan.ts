import type { Tx } from './database.js';

/**
 * Keyset scans of a partition's current resources, for exports: batch after batch in id order
 * along the primary key, so memory and per-batch cost stay flat however large the partition is.
 */

export interface ScannedResource { id: string; content: string }

/** A batch of a keyset scan: a partition's live resources of one type after `afterId`, in id order. */
export interface ResourceScan { partitionId: number; resourceType: string; afterId: string | null; since: string | null; limit: number }

export async function scanResources(tx: Tx, partitionId: number, resourceType: string, afterId: string | null, since: string | null, limit: number): Promise<ScannedResource[]> {
  // Two texts, not one with `$4 IS NULL OR …`: a cached generic plan of that form can walk the
  // last_updated index and sort the whole type instead of following the primary key.
  const sinceFilter = since === null ? '' : 'AND last_updated >= $5::timestamptz';
  return tx.query<ScannedResource>(
    `SELECT id, content FROM resources
      WHERE partition_id = $1 AND resource_type = $2 AND id > $3 AND NOT deleted ${sinceFilter}
      ORDER BY partition_id, resource_type, id LIMIT $4`,
    [partitionId, resourceType, afterId ?? '', limit, ...(since === null ? [] : [since])],
  );
}

export async function countResources(tx: Tx, partitionId: number, resourceTypes: string[], since: string | null): Promise<number> {
  const rows = await tx.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM resources
      WHERE partition_id = $1 AND resource_type = ANY($2::text[]) AND NOT deleted AND ($3::timestamptz IS NULL OR last_updated >= $3::timestamptz)`,
    [partitionId, resourceTypes, since],
  );
  return rows[0].count;
}
