import { isoInstant, type Tx } from './database.js';
import type { CursorPosition, SearchQuery, SortSpec } from './search-query.js';
import { compileMatches, sortKeyType, TOTAL_THRESHOLD } from './search-sql.js';
import { searchStatements, type SearchStatement, type SearchStatements } from './search-statements.js';

/** One matching resource. Instants are ISO 8601 UTC with milliseconds, e.g. 2024-03-01T10:00:00.000Z. */
export interface SearchRow {
  resourceType: string;
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
  /** Each row's own position, for merging the pages of several searches (system search); made when asked for. */
  positions(): CursorPosition[];
  /** Exact number of matches, when asked for and not above TOTAL_THRESHOLD. */
  total?: number;
  /** With `query.include`: the live resources the page's rows reference through it. */
  included: SearchRow[];
}

/** A row as read; the version and instants are absent from a content-only search (SearchQuery.columns). */
interface ResourceRecord {
  id: string;
  content: string;
  version_id?: number;
  created_at?: string;
  last_updated?: string;
}

/**
 * A page row: the resource plus its sort key values k0, k1, … for the cursor; with `query.include`,
 * the resources it references follow, marked with their type.
 */
type PageRecord = ResourceRecord & Record<`k${number}`, string | null> & { included_type?: string | null };

export async function runSearch(tx: Tx, partitionId: number, query: SearchQuery): Promise<SearchResult> {
  const statements = searchStatements(query, partitionId);
  const records = (await drivenFirst(tx, statements)) ?? (await readPage(tx, statements.page()));
  const matches = records.filter((record) => !record.included_type);
  const hasMore = matches.length > query.pageSize;
  const rows = matches.slice(0, query.pageSize);
  const last = rows[rows.length - 1];
  const result: SearchResult = {
    rows: rows.map((record) => new StoredRow(query.resourceType, record)),
    hasMore,
    // A function, not a getter: in an object literal, a getter kept whatever its closure reaches
    // (every row's content) alive through young-generation collections, which copied it to the
    // old generation: 8–10 ms pauses (docs/search.md, "Garbage").
    positions: () => rows.map((row) => positionOf(row, query.sort)),
    included: records.flatMap((record) => (record.included_type ? [new StoredRow(record.included_type, record)] : [])),
  };
  if (hasMore && last) result.next = positionOf(last, query.sort);
  const total = await countMatches(tx, partitionId, query, statements);
  if (total !== undefined) result.total = total;
  return result;
}

/** The page read by the short statement, or undefined when the search has none or it did not fit (PageForm in src/store/search-sql.ts). */
async function drivenFirst(tx: Tx, statements: SearchStatements): Promise<PageRecord[] | undefined> {
  const statement = statements.drivenFirst();
  if (!statement) return undefined;
  const records = await readPage(tx, statement);
  // Every row has an id but the one that says the driver matched too many.
  return records.length === 1 && records[0].id === null ? undefined : records;
}

function readPage(tx: Tx, statement: SearchStatement): Promise<PageRecord[]> {
  return tx.query<PageRecord>(statement.text, statement.values, statement.name);
}

/** The total the query's mode asks for (see TotalMode), or undefined. */
async function countMatches(tx: Tx, partitionId: number, query: SearchQuery, statements: SearchStatements): Promise<number | undefined> {
  if (query.total === 'none') return undefined;
  const sql = statements.count(query.total === 'exact' ? null : TOTAL_THRESHOLD + 1);
  const [record] = await tx.query<{ total: number }>(sql.text, sql.values, sql.name);
  if (record.total <= TOTAL_THRESHOLD || query.total === 'exact') return record.total;
  return query.total === 'estimate' ? Math.max(TOTAL_THRESHOLD + 1, await estimateMatches(tx, partitionId, query)) : undefined;
}

/** The planner's estimate of the number of matches (from the table statistics; no row is read). */
async function estimateMatches(tx: Tx, partitionId: number, query: SearchQuery): Promise<number> {
  const sql = compileMatches(query, partitionId);
  const [record] = await tx.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(`EXPLAIN (FORMAT JSON) ${sql.text}`, sql.values);
  return Math.round(record['QUERY PLAN'][0].Plan['Plan Rows']);
}

/** The row's sort key values as the cursor keeps them: instants as ISO 8601 with microseconds, lossless. */
function positionOf(record: PageRecord, sort: SortSpec[]): CursorPosition {
  const values = sort.map((spec, i) => {
    const value = record[`k${i}`] ?? null;
    return value !== null && sortKeyType(spec) === 'timestamptz' ? isoInstant(value, 6) : value;
  });
  return { values, id: record.id };
}

/**
 * A row whose instants are formatted when read: a FHIR Bundle sends the content as stored and
 * never reads them (its searches read none: SearchQuery.columns), and formatting a page's instants
 * cost a twentieth of serving it. Reading what the search did not read is a bug, and throws.
 */
class StoredRow implements SearchRow {
  readonly id: string;
  readonly content: string;

  constructor(readonly resourceType: string, private readonly record: ResourceRecord) {
    this.id = record.id;
    this.content = record.content;
  }

  get versionId(): number {
    return read(this.record.version_id);
  }

  get createdAt(): string {
    return isoInstant(read(this.record.created_at), 3);
  }

  get lastUpdated(): string {
    return isoInstant(read(this.record.last_updated), 3);
  }
}

function read<T>(column: T | undefined): T {
  if (column === undefined) throw new Error('the search read the content only');
  return column;
}
