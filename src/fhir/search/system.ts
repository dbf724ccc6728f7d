import type { CursorPosition, SortDirection } from '../../store/search-query.js';

/**
 * System search (`GET /v1/fhir?_type=A,B&…`) pages across types by running one keyset search per
 * type, each sorted by _lastUpdated then id, and merging their pages in the order
 * (last updated, type, id). The cursor holds one type cursor per type that still has rows: the
 * position of the last row of that type the page used (null = that type starts from its first
 * row). Types absent from the cursor are exhausted. This merge is exact: a type's rows beyond its
 * own page come after all of that page's rows, so they can never belong to the merged page.
 */

/** One type's page: its rows in order, their positions, and whether more follow. */
export interface TypePage<Row> { type: string; rows: Row[]; positions: CursorPosition[]; hasMore: boolean }

export interface MergedPage<Row> {
  rows: Row[];
  /** Per type still to page: the position of its last row used (undefined: none used, resume where the previous cursor did). */
  remaining: Map<string, CursorPosition | undefined>;
}

export function mergePages<Row>(pages: Array<TypePage<Row>>, pageSize: number, direction: SortDirection): MergedPage<Row> {
  const heads = pages.map(() => 0);
  const rows: Row[] = [];
  const sign = direction === 'asc' ? 1 : -1;
  while (rows.length < pageSize) {
    let best = -1;
    for (let i = 0; i < pages.length; i++) {
      if (heads[i] >= pages[i].rows.length) continue;
      if (best === -1 || sign * compare(keyOf(pages[i], heads[i]), keyOf(pages[best], heads[best])) < 0) best = i;
    }
    if (best === -1) break;
    rows.push(pages[best].rows[heads[best]]);
    heads[best] += 1;
  }
  const remaining = new Map<string, CursorPosition | undefined>();
  pages.forEach((page, i) => {
    if (heads[i] < page.rows.length || page.hasMore) remaining.set(page.type, heads[i] > 0 ? page.positions[heads[i] - 1] : undefined);
  });
  return { rows, remaining };
}

/** (last updated, type, id): instants are fixed-width ISO text, so text order is time order. */
function keyOf(page: TypePage<unknown>, index: number): [string, string, string] {
  const position = page.positions[index];
  return [position.values[0] ?? '', page.type, position.id];
}

function compare(a: [string, string, string], b: [string, string, string]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

const VERSION = 1;
const MAX_CURSOR_LENGTH = 65536;

/** The system cursor: each remaining type with its own (type search) cursor, or null to start it over. */
export function encodeSystemCursor(cursors: Map<string, string | null>): string {
  return Buffer.from(JSON.stringify([VERSION, Object.fromEntries(cursors)])).toString('base64url');
}

/** The per-type cursors, or undefined (start every type over) when `cursor` is not one of ours for these types. */
export function decodeSystemCursor(cursor: string | undefined, types: string[]): Map<string, string | null> | undefined {
  if (!cursor || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(payload) || payload.length !== 2 || payload[0] !== VERSION || payload[1] === null || typeof payload[1] !== 'object') return undefined;
  const entries = Object.entries(payload[1] as Record<string, unknown>);
  if (!entries.every(([type, value]) => types.includes(type) && (value === null || typeof value === 'string'))) return undefined;
  return new Map(entries as Array<[string, string | null]>);
}
