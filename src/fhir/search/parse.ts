import type { SearchParameter } from '@medplum/fhirtypes';
import { COMPARATORS, type Comparator, type SortValueType } from '../../store/search-query.js';
import { isR4ResourceType, searchParameter } from '../definitions/index.js';
import { dateRange } from '../indexing/dates.js';
import { parseDecimal } from '../units.js';

/**
 * Parses a FHIR search query string (as Fastify gives it: repeated parameters are arrays) into a
 * SearchRequest: the syntax only — which parameter, which modifier, which values. Meaning (string
 * normalisation, date ranges, number precision) is src/fhir/search/plan.ts's job.
 *
 * Repeated parameters are ANDed, comma-separated values ORed; `\,` `\|` `\$` `\\` escape.
 *
 * PHI rule: search values are names, emails, birth dates… A SearchError message names the
 * parameter and what was wrong with it, never the value.
 */

export class SearchError extends Error {
  readonly code = 'INVALID_SEARCH';

  constructor(message: string) {
    super(message);
    this.name = 'SearchError';
  }
}

export type TotalRequest = 'none' | 'estimate' | 'accurate';

/**
 * A date, number or quantity value with its comparison prefix (default eq). The value is kept as
 * written, because its precision is part of its meaning (2024-03 is the whole month, 100 is
 * [99.5, 100.5)); it is known to be valid.
 */
export interface PrefixedValue { prefix: Comparator; value: string }
export interface QuantityValue extends PrefixedValue { system?: string; code?: string }

/** `system` undefined = any system, '' = no system (`|code`); `code` undefined = any code (`system|`). */
export interface TokenValue { system?: string; code?: string }

export type ReferenceValue =
  | { kind: 'local'; type?: string; id: string }
  | { kind: 'url'; url: string }
  | { kind: 'identifier'; system?: string; value: string };

/** One search parameter occurrence: its values are ORed. */
export type Criterion =
  | { type: 'string'; code: string; match: 'prefix' | 'exact' | 'contains'; values: string[] }
  | { type: 'token'; code: string; not: boolean; values: TokenValue[] }
  | { type: 'tokenText'; code: string; values: string[] }
  | { type: 'reference'; code: string; values: ReferenceValue[] }
  | { type: 'uri'; code: string; values: string[] }
  | { type: 'date'; code: string; values: PrefixedValue[] }
  | { type: 'number'; code: string; values: PrefixedValue[] }
  | { type: 'quantity'; code: string; values: QuantityValue[] }
  | { type: 'missing'; code: string; missing: boolean }
  | { type: 'id'; values: string[] }
  | { type: 'lastUpdated'; values: PrefixedValue[] };

/** A `_sort` key: the resource id, its last update, or a parameter sorted as text, number or date. */
export interface SortRequest { code: string; key: 'id' | 'lastUpdated' | SortValueType; descending: boolean }

export interface SearchRequest {
  resourceType: string;
  /** ANDed. */
  criteria: Criterion[];
  /** In `_sort` order; empty = the caller's default. */
  sort: SortRequest[];
  count?: number;
  total?: TotalRequest;
  /** `_include` / `_revinclude` values, unvalidated, for the caller. */
  include: string[];
  revinclude: string[];
}

export type SearchQueryString = Record<string, string | string[] | undefined>;

/** Parameters that shape the response, not the matches: accepted and left to the caller for now. */
const IGNORED_PARAMETERS = new Set(['_format', '_pretty', '_summary', '_elements']);
const UNSUPPORTED_PARAMETERS = new Set(['_has', '_filter', '_query', '_list', '_text', '_content', '_contained', '_containedType', '_type']);
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function parseSearch(resourceType: string, query: SearchQueryString): SearchRequest {
  if (!isR4ResourceType(resourceType)) throw new SearchError(`Unknown resource type ${describeName(resourceType)}.`);
  const request: SearchRequest = { resourceType, criteria: [], sort: [], include: [], revinclude: [] };
  for (const [key, raw] of Object.entries(query)) {
    // An empty parameter is ignored (FHIR R4 search §3.1.1.1).
    const occurrences = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => value !== undefined && value !== '');
    const { name, modifier } = splitModifier(key);
    if (occurrences.length === 0 || IGNORED_PARAMETERS.has(name)) continue;
    const resultParameter = RESULT_PARAMETERS.get(name);
    if (resultParameter) {
      if (modifier !== undefined) throw new SearchError(`${describeName(key)}: modifiers are not supported on ${name}.`);
      resultParameter(request, key, occurrences);
      continue;
    }
    for (const value of occurrences) request.criteria.push(parseCriterion(resourceType, key, name, modifier, value));
  }
  return request;
}

// ---------------------------------------------------------------------------------------------
// Result parameters

type ResultParameterParser = (request: SearchRequest, key: string, occurrences: string[]) => void;

const RESULT_PARAMETERS: ReadonlyMap<string, ResultParameterParser> = new Map([
  ['_count', parseCount],
  ['_total', parseTotal],
  ['_sort', parseSort],
  ['_include', (request, _key, occurrences) => request.include.push(...occurrences)],
  ['_revinclude', (request, _key, occurrences) => request.revinclude.push(...occurrences)],
]);

function parseCount(request: SearchRequest, key: string, occurrences: string[]): void {
  const value = single(key, occurrences);
  if (!/^\d{1,9}$/.test(value)) throw new SearchError(`${key} must be a non-negative integer.`);
  request.count = Number(value);
}

function parseTotal(request: SearchRequest, key: string, occurrences: string[]): void {
  const value = single(key, occurrences);
  if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw new SearchError(`${key} must be none, estimate or accurate.`);
  request.total = value;
}

function parseSort(request: SearchRequest, key: string, occurrences: string[]): void {
  request.sort = splitList(key, single(key, occurrences)).map((item) => parseSortKey(request.resourceType, item));
}

function single(key: string, occurrences: string[]): string {
  if (occurrences.length !== 1) throw new SearchError(`${key} must appear at most once.`);
  return occurrences[0];
}

function parseSortKey(resourceType: string, item: string): SortRequest {
  const descending = item.startsWith('-');
  const code = descending ? item.slice(1) : item;
  if (code === '_id') return { code, key: 'id', descending };
  if (code === '_lastUpdated') return { code, key: 'lastUpdated', descending };
  const key = sortValueType(searchParameter(resourceType, code)?.type);
  if (!key) throw new SearchError(`_sort: ${describeName(code)} is not a sortable search parameter of ${resourceType}.`);
  return { code, key, descending };
}

function sortValueType(type: SearchParameter['type'] | undefined): SortValueType | undefined {
  switch (type) {
    case 'string':
    case 'token':
    case 'reference':
    case 'uri':
      return 'text';
    case 'number':
    case 'quantity':
      return 'number';
    case 'date':
      return 'date';
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Criteria

function parseCriterion(resourceType: string, key: string, name: string, modifier: string | undefined, value: string): Criterion {
  if (name === '_id') {
    noModifier(key, modifier);
    return { type: 'id', values: splitList(key, value).map((id) => parseId(key, unescape(id))) };
  }
  if (name === '_lastUpdated') {
    noModifier(key, modifier);
    return { type: 'lastUpdated', values: splitList(key, value).map((item) => parseDate(key, item)) };
  }
  const parameter = lookUpParameter(resourceType, key, name);
  if (modifier === 'missing') return { type: 'missing', code: name, missing: parseBoolean(key, value) };
  switch (parameter.type) {
    case 'string':
      return parseStringCriterion(key, name, modifier, value);
    case 'token':
      return parseTokenCriterion(key, name, modifier, value);
    case 'reference':
      return parseReferenceCriterion(key, name, modifier, value, parameter.target ?? []);
    case 'uri':
      noModifier(key, modifier);
      return { type: 'uri', code: name, values: splitList(key, value).map(unescape) };
    case 'date':
      noModifier(key, modifier);
      return { type: 'date', code: name, values: splitList(key, value).map((item) => parseDate(key, item)) };
    case 'number':
      noModifier(key, modifier);
      return { type: 'number', code: name, values: splitList(key, value).map((item) => parseNumber(key, item)) };
    case 'quantity':
      noModifier(key, modifier);
      return { type: 'quantity', code: name, values: splitList(key, value).map((item) => parseQuantity(key, item)) };
    default:
      throw new SearchError(`${describeName(name)}: ${parameter.type} search parameters are not supported yet.`);
  }
}

function lookUpParameter(resourceType: string, key: string, name: string): SearchParameter {
  if (UNSUPPORTED_PARAMETERS.has(name)) throw new SearchError(`${name} is not supported.`);
  if (name.includes('.')) throw new SearchError(`${describeName(key)}: chained search is not supported.`);
  const parameter = searchParameter(resourceType, name);
  if (!parameter) throw new SearchError(`Unknown search parameter ${describeName(name)} for ${resourceType}.`);
  return parameter;
}

function parseStringCriterion(key: string, code: string, modifier: string | undefined, value: string): Criterion {
  if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') throw badModifier(key);
  return { type: 'string', code, match: modifier ?? 'prefix', values: splitList(key, value).map(unescape) };
}

function parseTokenCriterion(key: string, code: string, modifier: string | undefined, value: string): Criterion {
  const items = splitList(key, value);
  if (modifier === 'text') return { type: 'tokenText', code, values: items.map(unescape) };
  if (modifier !== undefined && modifier !== 'not') throw badModifier(key);
  return { type: 'token', code, not: modifier === 'not', values: items.map((item) => parseToken(key, item)) };
}

function parseToken(key: string, item: string): TokenValue {
  const parts = splitUnescaped(item, '|').map(unescape);
  if (parts.length === 1) return { code: parts[0] };
  const [system, code, ...extra] = parts;
  if (extra.length > 0 || (system === '' && code === '')) throw new SearchError(`${describeName(key)}: a token is [system|]code.`);
  return code === '' ? { system } : { system, code };
}

function parseReferenceCriterion(key: string, code: string, modifier: string | undefined, value: string, targets: string[]): Criterion {
  const items = splitList(key, value);
  if (modifier === 'identifier') return { type: 'reference', code, values: items.map((item) => parseReferenceIdentifier(key, item)) };
  if (modifier !== undefined && !isR4ResourceType(modifier)) throw badModifier(key);
  return { type: 'reference', code, values: items.map((item) => parseReference(key, unescape(item), modifier, targets)) };
}

function parseReferenceIdentifier(key: string, item: string): ReferenceValue {
  const token = parseToken(key, item);
  if (token.code === undefined) throw new SearchError(`${describeName(key)}: an identifier needs a value.`);
  return token.system === undefined || token.system === '' ? { kind: 'identifier', value: token.code } : { kind: 'identifier', system: token.system, value: token.code };
}

/** `Type/id`, `id` (with an optional `:Type` modifier) or an absolute URL. */
function parseReference(key: string, item: string, typeModifier: string | undefined, targets: string[]): ReferenceValue {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(item)) {
    if (typeModifier !== undefined) throw new SearchError(`${describeName(key)}: a type modifier needs a relative reference.`);
    return { kind: 'url', url: item };
  }
  const slash = item.indexOf('/');
  const type = slash === -1 ? typeModifier : item.slice(0, slash);
  const id = slash === -1 ? item : item.slice(slash + 1);
  if (!ID_PATTERN.test(id)) throw new SearchError(`${describeName(key)}: a reference is Type/id, id or an absolute URL.`);
  if (type === undefined) return { kind: 'local', id };
  if (!isR4ResourceType(type) || (typeModifier !== undefined && type !== typeModifier)) {
    throw new SearchError(`${describeName(key)}: the reference's resource type is not valid here.`);
  }
  if (targets.length > 0 && !targets.includes(type)) throw new SearchError(`${describeName(key)}: this parameter cannot reference that resource type.`);
  return { kind: 'local', type, id };
}

function parseId(key: string, id: string): string {
  if (!ID_PATTERN.test(id)) throw new SearchError(`${key}: not a valid resource id.`);
  return id;
}

function parseBoolean(key: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') throw new SearchError(`${describeName(key)} must be true or false.`);
  return value === 'true';
}

// ---------------------------------------------------------------------------------------------
// Prefixed values: dates, numbers, quantities

/** The optional two-letter comparison prefix of a date, number or quantity value (default eq). */
function splitPrefix(item: string): [Comparator, string] {
  const prefix = COMPARATORS.find((candidate) => item.startsWith(candidate));
  return prefix ? [prefix, item.slice(2)] : ['eq', item];
}

/**
 * A date or dateTime, validated by the indexer's own parser so that search and index agree on
 * every form. A space before the zone stands for `+`: an unencoded + in a query string arrives as one.
 */
function parseDate(key: string, item: string): PrefixedValue {
  const [prefix, text] = splitPrefix(item);
  const value = text.replace(/ (\d{2}:\d{2})$/, '+$1');
  if (!dateRange(value)) {
    throw new SearchError(`${describeName(key)}: not a valid date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]).`);
  }
  return { prefix, value };
}

function parseNumber(key: string, item: string): PrefixedValue {
  const [prefix, value] = splitPrefix(item);
  if (!/^[+-]?\d/.test(value) || !parseDecimal(value)) throw new SearchError(`${describeName(key)}: not a valid number.`);
  return { prefix, value };
}

/** `[prefix]number`, `[prefix]number|system|code` or `[prefix]number||code`. */
function parseQuantity(key: string, item: string): QuantityValue {
  const parts = splitUnescaped(item, '|').map(unescape);
  if (parts.length !== 1 && parts.length !== 3) throw new SearchError(`${describeName(key)}: a quantity is number, number|system|code or number||code.`);
  const quantity: QuantityValue = parseNumber(key, parts[0]);
  const [, system, code] = parts;
  if (system) quantity.system = system;
  if (code) quantity.code = code;
  return quantity;
}

// ---------------------------------------------------------------------------------------------
// Syntax helpers

function splitModifier(key: string): { name: string; modifier?: string } {
  const colon = key.indexOf(':');
  return colon === -1 ? { name: key } : { name: key.slice(0, colon), modifier: key.slice(colon + 1) };
}

function noModifier(key: string, modifier: string | undefined): void {
  if (modifier !== undefined) throw badModifier(key);
}

function badModifier(key: string): SearchError {
  return new SearchError(`${describeName(key)}: unsupported modifier.`);
}

/** The comma-separated alternatives of a value; none may be empty. */
function splitList(key: string, value: string): string[] {
  const items = splitUnescaped(value, ',');
  if (items.some((item) => item === '')) throw new SearchError(`${describeName(key)}: empty value in a comma-separated list.`);
  return items;
}

/** Splits on `separator` where it is not escaped by a backslash; escapes are kept for `unescape`. */
function splitUnescaped(value: string, separator: ',' | '|'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i += 1) {
    const char = value[i];
    if (char === '\\' && i + 1 < value.length) {
      current += char + value[i + 1];
      i += 1;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\([\\,|$])/g, '$1');
}

/**
 * A parameter name or modifier as it may appear in an error message: names are echoed only when
 * they look like parameter codes, so a value pasted into the wrong place is never repeated back.
 */
function describeName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$/.test(name) ? `"${name}"` : 'a search parameter';
}
