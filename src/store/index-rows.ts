/**
 * The search index rows of one resource, as the store writes them. The FHIR indexer computes
 * them; the store only knows their columns. `param` is the search parameter code, or
 * `<code>#<part>` for a part of a composite parameter, whose parts share the same `grp` (> 0).
 */
/** `typeSystem`/`typeCode`: an Identifier's type coding (for `:of-type`), null for other tokens. */
export interface TokenRow {
  param: string;
  grp: number;
  system: string;
  code: string | null;
  display: string | null;
  typeSystem: string | null;
  typeCode: string | null;
}
/** `value` normalised (lower case, no accents) for the default and :contains matches; `raw` as written, for :exact. */
export interface StringRow { param: string; grp: number; value: string; raw: string }
export interface ReferenceRow {
  param: string;
  grp: number;
  targetType: string | null;
  targetId: string | null;
  reference: string | null;
  identifierSystem: string | null;
  identifierValue: string | null;
}
export interface UriRow { param: string; grp: number; value: string }
/** ISO 8601 instants in UTC with millisecond precision, e.g. 2024-03-01T00:00:00.000Z. */
export interface DateRow { param: string; grp: number; low: string; high: string }
/** Decimal strings, kept as text so no precision is lost on the way to `numeric`. */
export interface NumberRow { param: string; grp: number; value: string; low: string; high: string }
export interface QuantityRow {
  param: string;
  grp: number;
  value: string;
  low: string;
  high: string;
  system: string;
  code: string;
  unit: string;
  canonicalValue: string | null;
  canonicalCode: string | null;
  /** In a composite whose first part is a token: that part's system and code in the same group (one row per coded token), else null. */
  leadSystem: string | null;
  leadCode: string | null;
}
export interface SortRow {
  param: string;
  ascText: string | null;
  descText: string | null;
  ascNumber: string | null;
  descNumber: string | null;
  ascDate: string | null;
  descDate: string | null;
}

export interface IndexRows {
  token: TokenRow[];
  string: StringRow[];
  reference: ReferenceRow[];
  uri: UriRow[];
  date: DateRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  sort: SortRow[];
  /** Every parameter code (composites by their own code) that produced at least one row. */
  params: string[];
}

export function emptyIndexRows(): IndexRows {
  return { token: [], string: [], reference: [], uri: [], date: [], number: [], quantity: [], sort: [], params: [] };
}
