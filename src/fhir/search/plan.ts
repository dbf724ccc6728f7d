import type {
  DateRangeMatch,
  IndexFilter,
  NumberMatch,
  QuantityFilter,
  QuantityMatch,
  ReferenceMatch,
  SearchFilter,
  SearchQuery,
  SortSpec,
  StringMatch,
  TokenFilter,
  TokenMatch,
  TotalMode,
  UriMatch,
} from '../../store/search-query.js';
import { DATE_MAX, DATE_MIN, dateRange } from '../indexing/dates.js';
import { normalizeString } from '../normalize.js';
import { addDecimal, canonicalizeQuantity, decimalRange, formatDecimal, parseDecimal } from '../units.js';
import { SearchError, type Criterion, type PrefixedValue, type QuantityValue, type ReferenceValue, type SearchRequest, type SortRequest, type TokenValue } from './parse.js';

/**
 * SearchRequest → SearchQuery: gives parsed values their meaning in the index's terms. Strings
 * are normalised like the index, dates become UTC ranges with the indexer's own precision rules,
 * numbers become decimal strings with their precision range, quantities are canonicalised (UCUM,
 * src/fhir/units.ts) when their unit is known.
 *
 * Default order, when the request has no _sort — the caller passes `defaultSort`:
 * - FHIR API: `_lastUpdated` ascending (FHIR_DEFAULT_SORT, also used when no default is passed).
 *   It is the order of the change feed and is served by the resources_by_updated index. A
 *   resource updated while a client pages moves behind the cursor and may appear again on a later
 *   page; none is ever skipped.
 * - Simplified API: `created` descending (SIMPLIFIED_DEFAULT_SORT): newest first, served by
 *   resources_by_created. created_at never changes, so paging neither skips nor repeats.
 * In both, the resource id breaks ties.
 */

export const FHIR_DEFAULT_SORT: readonly SortSpec[] = [{ by: 'lastUpdated', direction: 'asc' }];
export const SIMPLIFIED_DEFAULT_SORT: readonly SortSpec[] = [{ by: 'created', direction: 'desc' }];

export interface PlanOptions {
  /** Order when the request has no _sort (default FHIR_DEFAULT_SORT). */
  defaultSort?: readonly SortSpec[];
  /** Page size when the request has no _count (default 20). */
  defaultCount?: number;
  /** Larger _count values are lowered to this (default 1000); FHIR lets a server return fewer. */
  maxCount?: number;
  /** Total mode when the request has no _total (default none). */
  defaultTotal?: TotalMode;
}

const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;
const DAY_MS = 86_400_000;

export function planSearch(request: SearchRequest, options: PlanOptions = {}): SearchQuery {
  const sort = request.sort.length > 0 ? request.sort.map(toSortSpec) : [...(options.defaultSort ?? FHIR_DEFAULT_SORT)];
  return {
    resourceType: request.resourceType,
    filters: withCompositePairs(request.resourceType, request.criteria.map(toFilter)),
    sort,
    pageSize: Math.min(request.count ?? options.defaultCount ?? DEFAULT_COUNT, options.maxCount ?? MAX_COUNT),
    total: request.total === undefined ? (options.defaultTotal ?? 'none') : TOTAL_MODES[request.total],
  };
}

const TOTAL_MODES = { none: 'none', estimate: 'estimate', accurate: 'exact' } as const;

function toSortSpec(sort: SortRequest): SortSpec {
  const direction = sort.descending ? 'desc' : 'asc';
  if (sort.key === 'id') return { by: 'id', direction };
  if (sort.key === 'lastUpdated') return { by: 'lastUpdated', direction };
  return { by: 'param', param: sort.code, valueType: sort.key, direction };
}

function toFilter(criterion: Criterion): SearchFilter {
  switch (criterion.type) {
    case 'string':
      return { kind: 'string', param: criterion.code, anyOf: criterion.values.map((value) => stringMatch(criterion.match, value)) };
    case 'token':
      return { kind: 'token', param: criterion.code, negate: criterion.not, anyOf: criterion.values.map(tokenMatch) };
    case 'tokenText':
      return { kind: 'token', param: criterion.code, negate: false, anyOf: criterion.values.map((text) => ({ match: 'text', text: normalizeString(text) })) };
    case 'tokenOfType':
      return { kind: 'token', param: criterion.code, negate: false, anyOf: criterion.values.map((value) => ({ match: 'ofType', ...value })) };
    case 'reference':
      return { kind: 'reference', param: criterion.code, anyOf: criterion.values.map(referenceMatch) };
    case 'uri':
      return { kind: 'uri', param: criterion.code, anyOf: criterion.values.map((value) => uriMatch(criterion.match, value)) };
    case 'date':
      return { kind: 'date', param: criterion.code, anyOf: criterion.values.map((value) => dateRangeMatch(criterion.code, value)) };
    case 'number':
      return { kind: 'number', param: criterion.code, anyOf: criterion.values.map((value) => numberMatch(criterion.code, value)) };
    case 'quantity':
      return { kind: 'quantity', param: criterion.code, anyOf: criterion.values.map((value) => quantityMatch(criterion.code, value)) };
    case 'missing':
      return { kind: 'missing', param: criterion.code, missing: criterion.missing };
    case 'id':
      return { kind: 'id', anyOf: criterion.values };
    case 'lastUpdated':
      return { kind: 'lastUpdated', anyOf: criterion.values.map((value) => dateRangeMatch('_lastUpdated', value)) };
    case 'composite':
      return { kind: 'composite', param: criterion.code, anyOf: criterion.values.map((parts) => parts.map(compositePart)) };
    case 'chain':
      return { kind: 'chain', param: criterion.code, targets: criterion.targets.map((target) => ({ targetType: target.type, filter: toFilter(target.criterion) })) };
    case 'has':
      return { kind: 'has', sourceType: criterion.sourceType, param: criterion.code, filter: toFilter(criterion.criterion) };
  }
}

/**
 * Composite parameters equal to the AND of two plain parameters, because each part indexes what
 * its plain parameter indexes: Observation.code, and Observation's value as a Quantity (the plain
 * value-quantity's SampledData branch yields no quantity rows). A search with one code and one
 * value comparison is searched as the composite: its index lists the pair's matches in one range
 * (src/store/search-sql.ts, ledQuantity), where the code alone may list thousands.
 */
const COMPOSITE_PAIRS: Readonly<Record<string, ReadonlyArray<{ composite: string; code: string; quantity: string }>>> = {
  Observation: [{ composite: 'code-value-quantity', code: 'code', quantity: 'value-quantity' }],
};

function withCompositePairs(resourceType: string, filters: SearchFilter[]): SearchFilter[] {
  let paired = filters;
  for (const { composite, code, quantity } of COMPOSITE_PAIRS[resourceType] ?? []) {
    const coded = paired.find((f): f is TokenFilter => f.kind === 'token' && f.param === code && !f.negate && f.anyOf.length === 1 && f.anyOf[0].match === 'code' && f.anyOf[0].code !== undefined);
    const compared = paired.find((f): f is QuantityFilter => f.kind === 'quantity' && f.param === quantity && f.anyOf.length === 1);
    if (!coded || !compared) continue;
    const pair: SearchFilter = { kind: 'composite', param: composite, anyOf: [[{ ...coded, param: `${composite}#0` }, { ...compared, param: `${composite}#1` }]] };
    paired = paired.flatMap((f) => (f === coded ? [pair] : f === compared ? [] : [f]));
  }
  return paired;
}

function compositePart(criterion: Criterion): IndexFilter {
  const filter = toFilter(criterion);
  if (!INDEX_FILTER_KINDS.has(filter.kind)) throw new SearchError(`${criterion.type} cannot be part of a composite parameter.`);
  return filter as IndexFilter;
}

const INDEX_FILTER_KINDS: ReadonlySet<SearchFilter['kind']> = new Set(['token', 'string', 'reference', 'uri', 'date', 'number', 'quantity']);

/** Strings compare normalised; `:exact` also compares the text as written. */
function stringMatch(mode: 'prefix' | 'exact' | 'contains', value: string): StringMatch {
  return mode === 'exact' ? { mode, value: normalizeString(value), raw: value } : { mode, value: normalizeString(value) };
}

/**
 * `:below` matches the URI and those under it (path-wise); `:above` the URI and its path prefixes
 * (`http://a.org/fhir/ValueSet/1` is below `http://a.org/fhir/` and `http://a.org/fhir`), listed
 * here so that the index answers with equality lookups.
 */
function uriMatch(mode: 'equals' | 'above' | 'below', value: string): UriMatch {
  if (mode === 'below') return { match: 'below', value };
  if (mode === 'equals') return { match: 'equals', values: [value] };
  const authorityEnd = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(value)?.[0].length ?? 0;
  const prefixes = new Set([value]);
  for (let slash = value.indexOf('/', authorityEnd); slash !== -1; slash = value.indexOf('/', slash + 1)) {
    prefixes.add(value.slice(0, slash));
    prefixes.add(value.slice(0, slash + 1));
  }
  return { match: 'equals', values: [...prefixes] };
}

function tokenMatch(value: TokenValue): TokenMatch {
  return { match: 'code', system: value.system, code: value.code };
}

function referenceMatch(value: ReferenceValue): ReferenceMatch {
  switch (value.kind) {
    case 'local':
      return { match: 'target', targetType: value.type, targetId: value.id };
    case 'url':
      return { match: 'url', reference: value.url };
    case 'identifier':
      return { match: 'identifier', system: value.system, value: value.value };
  }
}

/**
 * The UTC range the date covers, as the indexer computes it (inclusive high, ms), made half-open.
 * `ap` widens it by 10% of the distance from now (FHIR's suggestion). "Now" is taken to the day,
 * so that the same ap search plans the same way all day long and its cursors stay valid.
 */
function dateRangeMatch(param: string, value: PrefixedValue): DateRangeMatch {
  const range = dateRange(value.value);
  if (!range) throw new SearchError(`${param}: not a valid date.`);
  let low = Date.parse(range.low);
  let high = Date.parse(range.high) + 1;
  if (value.prefix === 'ap') {
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const margin = Math.round(Math.abs(today - low) / 10);
    low -= margin;
    high += margin;
  }
  return { comparator: value.prefix, low: instant(low), high: instant(high) };
}

const DATE_MIN_MS = Date.parse(DATE_MIN);
const DATE_MAX_MS = Date.parse(DATE_MAX);

/** An ISO instant; past the indexer's date bounds, PostgreSQL's ±infinity (beyond every indexed value). */
function instant(ms: number): string {
  if (ms < DATE_MIN_MS) return '-infinity';
  if (ms > DATE_MAX_MS) return 'infinity';
  return new Date(ms).toISOString();
}

/** The value and its precision range (100 → [99.5, 100.5)); `ap` widens the range by 10% of the value. */
function numberMatch(param: string, value: PrefixedValue): NumberMatch {
  const range = decimalRange(value.value);
  if (!range) throw new SearchError(`${param}: not a valid number.`);
  if (value.prefix !== 'ap') return { comparator: value.prefix, ...range };
  const center = parseDecimal(range.value)!;
  const tenth = { digits: center.digits < 0n ? -center.digits : center.digits, scale: center.scale + 1 };
  return {
    comparator: 'ap',
    value: range.value,
    low: formatDecimal(addDecimal(parseDecimal(range.low)!, { digits: -tenth.digits, scale: tenth.scale })),
    high: formatDecimal(addDecimal(parseDecimal(range.high)!, tenth)),
  };
}

/**
 * In canonical units when the search unit is one the UCUM table knows (5.4|…|g matches 5400 mg):
 * value and both range ends convert (every conversion is increasing, so the range stays a range).
 * Otherwise the number as written, with the unit as given.
 */
function quantityMatch(param: string, value: QuantityValue): QuantityMatch {
  const match = numberMatch(param, value);
  const canonical = [match.value, match.low, match.high].map((decimal) => canonicalizeQuantity(decimal, value.system, value.code));
  const [canonicalValue, low, high] = canonical;
  const written: QuantityMatch = { ...match, system: value.system, code: value.code };
  if (!canonicalValue || !low || !high) return written;
  return { ...written, canonical: { code: canonicalValue.code, value: canonicalValue.value, low: low.value, high: high.value } };
}
