import type { Tx } from './database.js';
import { RESOURCE_COLUMNS, type StoredResource } from './resources.js';

/**
 * The reads behind _include and _revinclude (src/fhir/search/include.ts): each finds the keys on
 * search_reference (forward by source with search_reference_resource, backward by target with
 * search_reference_target) and reads the live resources they name, in one statement, so an include
 * costs one round trip. `params` null means every reference parameter. Both are named statements,
 * planned once per connection like the search they follow (src/store/database.ts).
 */

/** The live resources that `sourceIds` (of `sourceType`) reference through `params`, of `targetType` when given. */
export async function readReferenced(tx: Tx, partitionId: number, sourceType: string, sourceIds: string[], params: string[] | null, targetType: string | null): Promise<StoredResource[]> {
  if (sourceIds.length === 0) return [];
  return tx.query<StoredResource>(
    `SELECT ${RESOURCE_COLUMNS} FROM resources
      WHERE partition_id = $1 AND NOT deleted AND (resource_type, id) IN (
        SELECT target_type, target_id FROM search_reference
        WHERE partition_id = $1 AND resource_type = $2 AND resource_id = ANY($3::text[])
          AND ($4::text[] IS NULL OR param = ANY($4::text[])) AND ($5::text IS NULL OR target_type = $5::text)
          AND target_type IS NOT NULL AND target_id IS NOT NULL)
      ORDER BY resource_type, id`,
    [partitionId, sourceType, sourceIds, params, targetType],
    'include_referenced',
  );
}

/** Up to `limit` live resources (of `sourceType`, or any type when null) that reference `targetIds` of `targetType` through `params`. */
export async function readReferencing(
  tx: Tx,
  partitionId: number,
  targetType: string,
  targetIds: string[],
  sourceType: string | null,
  params: string[] | null,
  limit: number,
): Promise<StoredResource[]> {
  if (targetIds.length === 0 || limit <= 0) return [];
  return tx.query<StoredResource>(
    `SELECT ${RESOURCE_COLUMNS} FROM resources
      WHERE partition_id = $1 AND NOT deleted AND (resource_type, id) IN (
        SELECT resource_type, resource_id FROM search_reference
        WHERE partition_id = $1 AND target_type = $2 AND target_id = ANY($3::text[])
          AND ($4::text IS NULL OR resource_type = $4::text) AND ($5::text[] IS NULL OR param = ANY($5::text[])))
      ORDER BY resource_type, id
      LIMIT $6`,
    [partitionId, targetType, targetIds, sourceType, params, limit],
    'include_referencing',
  );
}
