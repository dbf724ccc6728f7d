import type { SearchQuery } from './search-query.js';

/**
 * The shape of a search: the query with its values taken out. Two searches that differ only in
 * their values (the code, the patient, the instants, the cursor position) compile to the same SQL
 * text with other bound values, so src/store/search-statements.ts compiles each shape once and only
 * gathers the values of each query.
 *
 * `shapeOf` prints the query as JSON with each value replaced by a numbered placeholder: the
 * strings a filter compares with (isValueField). Everything else stays in the key: kinds,
 * parameters, modifiers, comparators, the number of alternatives and of listed values, which
 * optional values are present, and the few values whose content the compiler reads (an empty
 * string, a prefix without an upper bound, a uri searched `:below`, null cursor values).
 *
 * The skeleton (`skeletonOf`) is the query with a symbol in place of each value. It compiles like
 * any query: its bound values are those symbols, values derived from them (`Derived`, a LIKE
 * pattern say) or constants. A symbol never turns into a string, so a compiler that derived a
 * value in any other way throws, and that shape is compiled per query instead.
 */

/** A value computed from a query value by the compiler, e.g. a LIKE pattern from a prefix. */
export interface Derived {
  source: unknown;
  derive: (value: string) => string;
}

export interface Shape {
  /** The query as JSON, placeholders for its values. */
  key: string;
  /** The values, by placeholder number; 0 is the partition. */
  values: unknown[];
}

export function shapeOf(query: SearchQuery, partitionId: number): Shape {
  const values: unknown[] = [partitionId];
  const placeholder = (value: unknown) => {
    values.push(value);
    return { [PLACEHOLDER_KEY]: values.length - 1 };
  };
  const key = JSON.stringify(query, function (this: Record<string, unknown>, field: string, value: unknown) {
    if (this === undefined || typeof this !== 'object' || this === null || Array.isArray(this)) return value;
    return isValueField(this, field, value) ? replaceValue(value, placeholder) : value;
  });
  return { key, values };
}

/** The query a shape was printed from, with placeholder symbols for its values. */
export function skeletonOf(key: string): SearchQuery {
  return JSON.parse(key, (_field, value: unknown) =>
    value !== null && typeof value === 'object' && PLACEHOLDER_KEY in value ? placeholderSymbol((value as Record<string, number>)[PLACEHOLDER_KEY]) : value,
  ) as SearchQuery;
}

const PLACEHOLDER_KEY = '?';
const placeholderSymbols: symbol[] = [];
const placeholderNumbers = new Map<symbol, number>();

function placeholderSymbol(index: number): symbol {
  while (placeholderSymbols.length <= index) {
    const symbol = Symbol(`value ${placeholderSymbols.length}`);
    placeholderNumbers.set(symbol, placeholderSymbols.length);
    placeholderSymbols.push(symbol);
  }
  return placeholderSymbols[index];
}

/** The partition's placeholder, bound first by every compiled statement. */
export const PARTITION_PLACEHOLDER = placeholderSymbol(0);

export function isPlaceholder(value: unknown): value is symbol {
  return typeof value === 'symbol' && placeholderNumbers.has(value);
}

/**
 * How each bound value of a compiled skeleton is found for a query of the same shape; throws when
 * the compiler made a value that is neither a placeholder, a Derived of one, nor a constant.
 */
export function valueResolver(bound: unknown[]): (values: unknown[]) => unknown[] {
  const resolvers = bound.map(resolverOf);
  return (values) => resolvers.map((resolve) => resolve(values));
}

type Resolver = (values: unknown[]) => unknown;

function resolverOf(bound: unknown): Resolver {
  if (isPlaceholder(bound)) {
    const index = placeholderNumbers.get(bound)!;
    return (values) => values[index];
  }
  if (Array.isArray(bound)) {
    const items = bound.map(resolverOf);
    return (values) => items.map((item) => item(values));
  }
  if (isDerived(bound)) {
    const source = resolverOf(bound.source);
    return (values) => bound.derive(source(values) as string);
  }
  if (typeof bound === 'symbol' || (bound !== null && typeof bound === 'object')) throw new TypeError('a compiled value is neither a placeholder nor a constant');
  return () => bound;
}

function isDerived(value: unknown): value is Derived {
  return value !== null && typeof value === 'object' && 'derive' in value && 'source' in value;
}

/**
 * The fields that hold values, by the object holding them (told apart by their discriminating
 * field). A value the compiler reads, rather than binds, must not be listed here.
 */
function isValueField(holder: Record<string, unknown>, field: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if ('comparator' in holder) return DATE_NUMBER_QUANTITY_FIELDS.has(field); // DateRangeMatch, NumberMatch, QuantityMatch
  if ('mode' in holder) return field === 'raw' || (field === 'value' && hasPrefixBound(holder.mode, value)); // StringMatch
  switch (holder.match) {
    case 'code': return field === 'code' || field === 'system';
    case 'text': return field === 'text';
    case 'ofType': return field === 'value' || field === 'typeSystem' || field === 'typeCode';
    case 'target': return field === 'targetId';
    case 'url': return field === 'reference';
    case 'identifier': return field === 'value' || field === 'system';
    case 'equals': return field === 'values';
  }
  switch (holder.kind) {
    case 'id': return field === 'anyOf';
    case 'compartment': return field === 'targetIds';
  }
  // The search query's cursor position: its values (null ones stay) and id.
  return 'filters' in holder && field === 'after';
}

const DATE_NUMBER_QUANTITY_FIELDS = new Set(['low', 'high', 'value', 'system', 'code', 'canonical']);

/** The compiler reads a prefix only to tell an empty one, or one without an upper bound (searched by LIKE alone). */
function hasPrefixBound(mode: unknown, value: unknown): boolean {
  return typeof value === 'string' && value !== '' && (mode !== 'prefix' || prefixUpperBound(value) !== undefined);
}

/** A value, or each string of a list or of an object of values, as placeholders. */
function replaceValue(value: unknown, placeholder: (value: unknown) => unknown): unknown {
  if (typeof value === 'string') return value === '' ? value : placeholder(value);
  if (Array.isArray(value)) return value.map((item) => replaceValue(item, placeholder));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([field, item]) => [field, replaceValue(item, placeholder)]));
  return value;
}

/**
 * The least string above every string that starts with `prefix`, in code point order (the C
 * collation's order of UTF-8 text): the prefix with its last code point raised by one, carrying
 * past U+10FFFF and skipping the surrogates. Undefined when there is none (all U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
}
