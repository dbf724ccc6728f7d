import type { Tx } from './database.js';

/**
 * The reference lookups behind _include and _revinclude (src/fhir/search/include.ts), on
 * search_reference: forward by source (search_reference_resource), backward by target
 * (search_reference_target). Both return keys only; the resources are read with readResources.
 * `params` null means every reference parameter. Both are named statements, planned once per
 * connection like the search they follow (src/store/database.ts).
 */

export interface ResourceKey { resourceType: string; id: string }

/** The local Type/id targets that `sourceIds` (of `sourceType`) reference through `params`. */
export async function referencedKeys(tx: Tx, partitionId: number, sourceType: string, sourceIds: string[], params: string[] | null, targetType: string | null): Promise<ResourceKey[]> {
  if (sourceIds.length === 0) return [];
  return tx.query<ResourceKey>(
    `SELECT DISTINCT target_type AS "resourceType", target_id AS id FROM search_reference
      WHERE partition_id = $1 AND resource_type = $2 AND resource_id = ANY($3::text[])
        AND ($4::text[] IS NULL OR param = ANY($4::text[])) AND ($5::text IS NULL OR target_type = $5::text)
        AND target_type IS NOT NULL AND target_id IS NOT NULL
      ORDER BY 1, 2`,
    [partitionId, sourceType, sourceIds, params, targetType],
    'include_referenced',
  );
}

/** Up to `limit` resources (of `sourceType`, or any type when null) that reference `targetIds` of `targetType` through `params`. */
export async function referencingKeys(
  tx: Tx,
  partitionId: number,
  targetType: string,
  targetIds: string[],
  sourceType: string | null,
  params: string[] | null,
  limit: number,
): Promise<ResourceKey[]> {
  if (targetIds.length === 0 || limit <= 0) return [];
  return tx.query<ResourceKey>(
    `SELECT DISTINCT resource_type AS "resourceType", resource_id AS id FROM search_reference
      WHERE partition_id = $1 AND target_type = $2 AND target_id = ANY($3::text[])
        AND ($4::text IS NULL OR resource_type = $4::text) AND ($5::text[] IS NULL OR param = ANY($5::text[]))
      ORDER BY 1, 2
      LIMIT $6`,
    [partitionId, targetType, targetIds, sourceType, params, limit],
    'include_referencing',
  );
}
