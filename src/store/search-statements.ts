import { hash } from 'node:crypto';
import type { SearchQuery } from './search-query.js';
import { PARTITION_PLACEHOLDER, shapeOf, skeletonOf, valueResolver, type Shape } from './search-shape.js';
import { compileCount, compileSearch, drivenFirstFilter, type SqlQuery } from './search-sql.js';

/**
 * The statements a search runs, compiled once per query shape (src/store/search-shape.ts) and
 * named for PostgreSQL.
 *
 * Compiling a multi-filter search is not free: `Patient?name&birthdate` takes about 30 µs, a tenth
 * of the node's time for the whole request. Its shape (the query without its values) takes a few
 * microseconds to print, so the text is kept per shape and each query only resolves its values.
 * A shape whose compilation reads a value, rather than binding it, is compiled per query.
 */
export interface SearchStatement extends SqlQuery {
  /** The prepared statement's name (see statementName). */
  name: string;
}

/** A search's statements: its page and, when a total is asked for, its count; the shape is printed once for all. */
export interface SearchStatements {
  page(): SearchStatement;
  /** The short statement to try before the page, when the search has one (PageForm in src/store/search-sql.ts). */
  drivenFirst(): SearchStatement | undefined;
  /** The count of compileCount, up to `limit` matches (null: all). */
  count(limit: number | null): SearchStatement;
}

export function searchStatements(query: SearchQuery, partitionId: number): SearchStatements {
  const shape = shapeOf(query, partitionId);
  return {
    page: () => statement('page', compileSearch, query, partitionId, shape),
    drivenFirst: () => (drivenFirstFilter(query) ? statement('driven first', (skeleton, partition) => compileSearch(skeleton, partition, 'driven first'), query, partitionId, shape) : undefined),
    count: (limit) => statement(`count ${limit}`, (skeleton, partition) => compileCount(skeleton, partition, limit), query, partitionId, shape),
  };
}

interface CompiledShape {
  text: string;
  name: string;
  values: (queryValues: unknown[]) => unknown[];
}

/** Compiled shapes by kind and shape; null marks a shape compiled per query. Cleared when full: shapes recur, values do not. */
const shapes = new Map<string, CompiledShape | null>();
const MAX_SHAPES = 1000;

function statement(kind: string, compile: (query: SearchQuery, partitionId: number) => SqlQuery, query: SearchQuery, partitionId: number, shape: Shape): SearchStatement {
  const key = `${kind}\n${shape.key}`;
  let compiled = shapes.get(key);
  if (compiled === undefined) {
    compiled = compileShape(compile, shape.key);
    if (shapes.size >= MAX_SHAPES) shapes.clear();
    shapes.set(key, compiled);
  }
  if (compiled === null) {
    const sql = compile(query, partitionId);
    return { ...sql, name: statementName(sql.text) };
  }
  return { text: compiled.text, values: compiled.values(shape.values), name: compiled.name };
}

function compileShape(compile: (query: SearchQuery, partitionId: number) => SqlQuery, key: string): CompiledShape | null {
  let sql: SqlQuery;
  try {
    // The partition is bound like any value: as a placeholder.
    sql = compile(skeletonOf(key), PARTITION_PLACEHOLDER as unknown as number);
  } catch (error) {
    // A symbol never converts to a string: the compiler derived text from a value.
    if (error instanceof TypeError) return null;
    throw error;
  }
  // String(symbol) does convert: a value made that way would show in the text.
  if (sql.text.includes('Symbol(')) return null;
  let values: CompiledShape['values'];
  try {
    values = valueResolver(sql.values);
  } catch {
    return null;
  }
  return { text: sql.text, name: statementName(sql.text), values };
}

/**
 * Search statements are prepared under a name derived from their text: the text depends only on
 * the query's shape (every value is bound), so each shape is planned by PostgreSQL once per
 * connection instead of on every request. Planning a five-filter search costs as much as running
 * it. The pool recycles connections (Database, maxUses), which bounds the statements kept.
 */
function statementName(text: string): string {
  return `search_${hash('sha256', text, 'base64url').slice(0, 22)}`;
}
