import { hash } from 'node:crypto';
import type { CursorPosition, SearchQuery, SortSpec } from '../../store/search-query.js';

/**
 * Page cursors: the keyset position where the previous page ended, plus a fingerprint of the
 * query (type, filters, sort) it belongs to, as base64url JSON. A cursor that does not decode, or
 * that belongs to another query, decodes to undefined and the search starts from the first page
 * (the public API's documented behaviour) — never to a position that could make the SQL fail.
 *
 * Opaque is not secret: when sorting on a parameter, the cursor carries the last row's
 * (normalised) sort value.
 */

const VERSION = 1;
/** Longer input is not a cursor we made (sort values are capped by the index). */
const MAX_CURSOR_LENGTH = 8192;
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
/** The keyset's instants, as src/store/search.ts keeps them (microseconds, UTC). */
const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const NUMBER_PATTERN = /^-?(?:\d+(?:\.\d+)?|Infinity)$/;

export function encodeCursor(position: CursorPosition, query: SearchQuery): string {
  return Buffer.from(JSON.stringify([VERSION, fingerprint(query), position.values, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, query: SearchQuery): CursorPosition | undefined {
  if (!cursor || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(payload) || payload.length !== 4) return undefined;
  const [version, print, values, id] = payload as unknown[];
  if (version !== VERSION || print !== fingerprint(query)) return undefined;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) return undefined;
  if (!Array.isArray(values) || values.length !== query.sort.length) return undefined;
  if (!values.every((value, i) => isKeyValue(query.sort[i], value))) return undefined;
  return { values: values as Array<string | null>, id };
}

/** Whether `value` can stand for sort key `spec` (values of another shape would fail their SQL cast). */
function isKeyValue(spec: SortSpec, value: unknown): boolean {
  if (spec.by === 'param' && value === null) return true;
  if (typeof value !== 'string') return false;
  switch (spec.by) {
    case 'lastUpdated':
    case 'created':
      return INSTANT_PATTERN.test(value);
    case 'id':
      return ID_PATTERN.test(value);
    case 'param':
      return spec.valueType === 'date' ? INSTANT_PATTERN.test(value) : spec.valueType === 'number' ? NUMBER_PATTERN.test(value) : true;
  }
}

/**
 * 128 bits of SHA-256 over the query's matching and ordering (not its page size or total mode).
 * Plain JSON identifies it: the parser builds the filters of equal queries alike, key order too.
 */
function fingerprint(query: SearchQuery): string {
  return hash('sha256', JSON.stringify([query.resourceType, query.filters, query.sort]), 'base64url').slice(0, 22);
}
