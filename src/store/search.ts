import type { Tx } from './database.js';
import type { CursorPosition, SearchQuery } from './search-query.js';
import { compileCount, compileReferencing, compileSearch, TOTAL_THRESHOLD } from './search-sql.js';

/** One matching resource. Instants are ISO 8601 UTC with milliseconds, e.g. 2024-03-01T10:00:00.000Z. */
export interface SearchRow {
  id: string;
  content: string;
  createdAt: string;
  lastUpdated: string;
  versionId: number;
}

export interface SearchResult {
  rows: SearchRow[];
  hasMore: boolean;
  /** Where the next page starts; set when hasMore. */
  next?: CursorPosition;
  /** Exact number of matches, when asked for and not above TOTAL_THRESHOLD. */
  total?: number;
}

interface ResourceRecord {
  id: string;
  content: string;
  version_id: number;
  created_at: string;
  last_updated: string;
}

/** A page row: the resource plus its sort key values k0, k1, … for the cursor. */
type PageRecord = ResourceRecord & Record<`k${number}`, string | null>;

export async function runSearch(tx: Tx, partitionId: number, query: SearchQuery): Promise<SearchResult> {
  const page = compileSearch(query, partitionId);
  const records = await tx.query<PageRecord>(page.text, page.values);
  const hasMore = records.length > query.pageSize;
  const rows = records.slice(0, query.pageSize);
  const last = rows[rows.length - 1];
  const result: SearchResult = { rows: rows.map(toSearchRow), hasMore };
  if (hasMore && last) result.next = positionOf(last, query.sort.length);
  if (query.total === 'bounded') {
    const total = await countMatches(tx, partitionId, query);
    if (total !== undefined) result.total = total;
  }
  return result;
}

/** Rows of `sourceType` whose `param` references `targetType`/one of `targetIds` (for _revinclude), by id. */
export async function findReferencing(
  tx: Tx,
  partitionId: number,
  sourceType: string,
  param: string,
  targetType: string,
  targetIds: string[],
  limit: number,
): Promise<SearchRow[]> {
  if (targetIds.length === 0 || limit <= 0) return [];
  const sql = compileReferencing({ sourceType, param, targetType, targetIds, limit }, partitionId);
  const records = await tx.query<ResourceRecord>(sql.text, sql.values);
  return records.map(toSearchRow);
}

/** The local (Type/id) targets of one resource's reference rows, optionally for one parameter only. */
export async function referencedTargets(tx: Tx, partitionId: number, resourceType: string, id: string, param: string | null): Promise<Array<{ targetType: string; targetId: string }>> {
  return tx.query(
    `SELECT DISTINCT target_type AS "targetType", target_id AS "targetId" FROM search_reference
      WHERE partition_id = $1 AND resource_type = $2 AND resource_id = $3 AND ($4::text IS NULL OR param = $4)
        AND target_type IS NOT NULL AND target_id IS NOT NULL
      ORDER BY 1, 2`,
    [partitionId, resourceType, id, param],
  );
}

async function countMatches(tx: Tx, partitionId: number, query: SearchQuery): Promise<number | undefined> {
  const sql = compileCount(query, partitionId);
  const [record] = await tx.query<{ total: number }>(sql.text, sql.values);
  return record.total > TOTAL_THRESHOLD ? undefined : record.total;
}

function toSearchRow(record: ResourceRecord): SearchRow {
  return {
    id: record.id,
    content: record.content,
    createdAt: record.created_at,
    lastUpdated: record.last_updated,
    versionId: record.version_id,
  };
}

function positionOf(record: PageRecord, keyCount: number): CursorPosition {
  const values = Array.from({ length: keyCount }, (_, i) => record[`k${i}`] ?? null);
  return { values, id: record.id };
}
