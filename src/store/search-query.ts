/**
 * The store-neutral search plan: what to match, in which order, and which page. It speaks in
 * index kinds and columns, not in FHIR: the FHIR layer (src/fhir/search) turns a search URL into
 * one of these, with every value already normalised (strings), converted into UTC ranges (dates)
 * or into decimal strings (numbers, quantities).
 *
 * `filters` is an AND of filters; each filter is an OR (`anyOf`) of matches on one parameter.
 */

/** How a date, number or quantity value compares with the search value (the FHIR prefixes). */
export type Comparator = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export const COMPARATORS: readonly Comparator[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

/** A code match: `system` undefined = any system, '' = no system; `code` undefined = any code of the system. */
export interface TokenCodeMatch { match: 'code'; system?: string; code?: string }
/** A normalised prefix of the token's display text (`:text`). */
export interface TokenTextMatch { match: 'text'; text: string }
/** An Identifier of the given type with the given value (`:of-type`). */
export interface TokenOfTypeMatch { match: 'ofType'; typeSystem: string; typeCode: string; value: string }
export type TokenMatch = TokenCodeMatch | TokenTextMatch | TokenOfTypeMatch;
/** `negate` keeps the resources that have no matching token at all (`:not`), including those with no value. */
export interface TokenFilter { kind: 'token'; param: string; negate: boolean; anyOf: TokenMatch[] }

/**
 * `value` is already normalised like the index (see src/fhir/normalize.ts); `exact` also compares
 * the text as written (`raw`), case and accent sensitive.
 */
export type StringMatch = { mode: 'prefix' | 'contains'; value: string } | { mode: 'exact'; value: string; raw: string };
export interface StringFilter { kind: 'string'; param: string; anyOf: StringMatch[] }

/** `targetType` undefined matches a reference to `targetId` of any type. */
export interface ReferenceTargetMatch { match: 'target'; targetType?: string; targetId: string }
/** The literal reference, for absolute and canonical references. */
export interface ReferenceUrlMatch { match: 'url'; reference: string }
/** Reference.identifier (`:identifier`); `system` undefined = any system. */
export interface ReferenceIdentifierMatch { match: 'identifier'; system?: string; value: string }
export type ReferenceMatch = ReferenceTargetMatch | ReferenceUrlMatch | ReferenceIdentifierMatch;
export interface ReferenceFilter { kind: 'reference'; param: string; anyOf: ReferenceMatch[] }

/** `equals`: one of `values` (a plain match, or `:above` with the value's path prefixes); `below`: the value or a path under it. */
export type UriMatch = { match: 'equals'; values: string[] } | { match: 'below'; value: string };
export interface UriFilter { kind: 'uri'; param: string; anyOf: UriMatch[] }

/**
 * A search range over instants: `low` inclusive, `high` exclusive, both ISO 8601 UTC instants.
 * The comparator says how the indexed range must relate to it (FHIR R4 search, ranges).
 */
export interface DateRangeMatch { comparator: Comparator; low: string; high: string }
export interface DateFilter { kind: 'date'; param: string; anyOf: DateRangeMatch[] }
/** `resources.last_updated`, an instant, matched like an indexed range of zero width. */
export interface LastUpdatedFilter { kind: 'lastUpdated'; anyOf: DateRangeMatch[] }

/**
 * Decimal strings. `value` is the search value, for gt/lt/ge/le/sa/eb; [low, high) is the range
 * an indexed value must fall in for eq, ne (outside) and ap, already widened by the planner.
 */
export interface NumberMatch { comparator: Comparator; value: string; low: string; high: string }
export interface NumberFilter { kind: 'number'; param: string; anyOf: NumberMatch[] }

/**
 * A number match plus a unit as written: `code` matches the code (or, without `system`, the unit)
 * and `system`, when given, must match too. With `canonical` (the search unit is a known UCUM
 * unit), rows with a canonical value are compared in canonical terms instead; rows without one
 * (unknown unit) still match as written.
 */
export interface QuantityMatch extends NumberMatch {
  system?: string;
  code?: string;
  canonical?: { code: string; value: string; low: string; high: string };
}
export interface QuantityFilter { kind: 'quantity'; param: string; anyOf: QuantityMatch[] }

export interface IdFilter { kind: 'id'; anyOf: string[] }

/** `resources.index_params`: whether the resource has (missing = false) or lacks any value for `param`. */
export interface MissingFilter { kind: 'missing'; param: string; missing: boolean }

/** Filters on one index table, the kinds a composite parameter's parts can have. */
export type IndexFilter = TokenFilter | StringFilter | ReferenceFilter | UriFilter | DateFilter | NumberFilter | QuantityFilter;

/**
 * A composite parameter: each alternative lists one filter per part (params `<code>#<part>`),
 * all of which must match rows of the same `grp` (the same component, say).
 */
export interface CompositeFilter { kind: 'composite'; param: string; anyOf: IndexFilter[][] }

/** Chaining: the reference `param` points at a resource of one of the target types that satisfies that type's filter. */
export interface ChainFilter { kind: 'chain'; param: string; targets: Array<{ targetType: string; filter: SearchFilter }> }

/** Reverse chaining (`_has`): a `sourceType` resource satisfying `filter` references this one through `param`. */
export interface ReverseChainFilter { kind: 'has'; sourceType: string; param: string; filter: SearchFilter }

/**
 * A compartment (FHIR R4 §3.1.1.3.4): resources that reference an owner through any of `params`
 * (ORed). The owners are `targetIds` of `targetType`, or, when null, any resource of that type (the
 * union of all their compartments, as Bulk Data's Patient-level export needs).
 */
export interface CompartmentFilter { kind: 'compartment'; params: string[]; targetType: string; targetIds: string[] | null }

export type SearchFilter =
  | CompartmentFilter
  | TokenFilter
  | StringFilter
  | ReferenceFilter
  | UriFilter
  | DateFilter
  | NumberFilter
  | QuantityFilter
  | IdFilter
  | LastUpdatedFilter
  | MissingFilter
  | CompositeFilter
  | ChainFilter
  | ReverseChainFilter;

export type SortDirection = 'asc' | 'desc';
/** Which search_sort column family a parameter sorts on. */
export type SortValueType = 'text' | 'number' | 'date';

/**
 * One sort key. `created` is resources.created_at (the simplified API's order); a `param` sorts on
 * search_sort, where resources without a value sort last in either direction.
 */
export type SortSpec =
  | { by: 'lastUpdated' | 'created' | 'id'; direction: SortDirection }
  | { by: 'param'; param: string; valueType: SortValueType; direction: SortDirection };

/**
 * Where the previous page ended: the last row's value for each sort key (null = no value; dates as
 * ISO instants with microseconds, numbers as decimal strings) and its id, the final tie-breaker.
 */
export interface CursorPosition { values: Array<string | null>; id: string }

/**
 * `bounded`: count the matches exactly up to TOTAL_THRESHOLD (src/store/search-sql.ts), else leave
 * the total out; `estimate`: the same, but above the threshold the planner's row estimate;
 * `exact`: count every match.
 */
export type TotalMode = 'none' | 'bounded' | 'estimate' | 'exact';

export interface SearchQuery {
  resourceType: string;
  filters: SearchFilter[];
  /** At least one key; the resource id is always added as the last tie-breaker. */
  sort: SortSpec[];
  /** Rows per page; 0 fetches no rows (a count-only search). */
  pageSize: number;
  /** Resume after this position (keyset pagination); undefined = first page. */
  after?: CursorPosition;
  total: TotalMode;
  /** Also read the resources the page's matches reference, through any of these (`_include`). */
  include?: ReferenceInclude[];
  /**
   * What each row carries: `content` reads the id and content only (a FHIR Bundle, whose resources
   * hold their own meta); by default also the version id and the created and updated instants.
   */
  columns?: 'content' | 'version';
}

/** References of the searched type to follow: through `params` (null: every reference parameter), to `targetType` (null: any type). */
export interface ReferenceInclude { params: string[] | null; targetType: string | null }
