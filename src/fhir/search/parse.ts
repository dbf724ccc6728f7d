import type { SearchParameter } from '@medplum/fhirtypes';
import { COMPARATORS, type Comparator, type SortValueType } from '../../store/search-query.js';
import { isR4ResourceType, searchParameter, searchParameterByUrl } from '../definitions/index.js';
import { dateRange } from '../indexing/dates.js';
import { parseDecimal } from '../units.js';

/**
 * Parses a FHIR search query string (as Fastify gives it: repeated parameters are arrays) into a
 * SearchRequest: the syntax only — which parameter, which modifier, which values. Meaning (string
 * normalisation, date ranges, number precision) is src/fhir/search/plan.ts's job.
 *
 * Repeated parameters are ANDed, comma-separated values ORed; `\,` `\|` `\$` `\\` escape.
 * A dotted key is a chain (`subject:Patient.name`), `_has:Type:param:…` a reverse chain; both
 * recurse into the other type's parameters, up to MAX_CHAIN_DEPTH links. Composite values split
 * on `$` into one criterion per component.
 *
 * Unknown or unsupported criterion parameters are not errors here: they are listed in
 * `SearchRequest.unknown` (as written — echo them only through describeName) for the caller.
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
/** An Identifier's type coding and value (`:of-type`). */
export interface OfTypeValue { typeSystem: string; typeCode: string; value: string }

export type ReferenceValue =
  | { kind: 'local'; type?: string; id: string }
  | { kind: 'url'; url: string }
  | { kind: 'identifier'; system?: string; value: string };

/** One search parameter occurrence: its values are ORed. */
export type Criterion =
  | { type: 'string'; code: string; match: 'prefix' | 'exact' | 'contains'; values: string[] }
  | { type: 'token'; code: string; not: boolean; values: TokenValue[] }
  | { type: 'tokenText'; code: string; values: string[] }
  | { type: 'tokenOfType'; code: string; values: OfTypeValue[] }
  | { type: 'reference'; code: string; values: ReferenceValue[] }
  | { type: 'uri'; code: string; match: 'equals' | 'above' | 'below'; values: string[] }
  | { type: 'date'; code: string; values: PrefixedValue[] }
  | { type: 'number'; code: string; values: PrefixedValue[] }
  | { type: 'quantity'; code: string; values: QuantityValue[] }
  | { type: 'missing'; code: string; missing: boolean }
  | { type: 'id'; values: string[] }
  | { type: 'lastUpdated'; values: PrefixedValue[] }
  /** Each value lists one criterion per component, on the params `<code>#<part>`. */
  | { type: 'composite'; code: string; values: Criterion[][] }
  /** `code` is a reference parameter whose target matches the criterion of its type (ORed over `targets`). */
  | { type: 'chain'; code: string; targets: ChainTarget[] }
  /** A `sourceType` resource matching `criterion` references this one through its parameter `code`. */
  | { type: 'has'; sourceType: string; code: string; criterion: Criterion };

/** One resource type a chain may reach, with the rest of the chain parsed against it. */
export interface ChainTarget { type: string; criterion: Criterion }

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
  /** `_include` / `_revinclude` values, unvalidated, for the caller (src/fhir/search/include.ts). */
  include: string[];
  revinclude: string[];
  /** `_include:iterate` / `_revinclude:iterate` values (R4's `:recurse` is an alias), when any. */
  includeIterate?: string[];
  revincludeIterate?: string[];
  summary?: SummaryRequest;
  /** `_elements`: top-level element names. */
  elements?: string[];
  /**
   * Criterion parameters this server does not know or does not support (the keys as written, in
   * query order). The parser does not reject them: the caller decides (a warning by default, 400
   * under `Prefer: handling=strict`). Malformed values of known parameters throw SearchError.
   */
  unknown: string[];
}

export interface ParseOptions {
  /** The server's public base URL: absolute references under `{baseUrl}/v1/fhir/` are local ones. */
  baseUrl?: string;
}

export type SummaryRequest = 'true' | 'false' | 'count' | 'data' | 'text';

export type SearchQueryString = Record<string, string | string[] | undefined>;

/** Parameters that do not change the result: only JSON is served, and its layout is not negotiable. */
const IGNORED_PARAMETERS = new Set(['_format', '_pretty']);
const UNSUPPORTED_PARAMETERS = new Set(['_filter', '_query', '_list', '_text', '_content', '_type']);
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function parseSearch(resourceType: string, query: SearchQueryString, options: ParseOptions = {}): SearchRequest {
  if (!isR4ResourceType(resourceType)) throw new SearchError(`Unknown resource type ${describeName(resourceType)}.`);
  const request: SearchRequest = { resourceType, criteria: [], sort: [], include: [], revinclude: [], unknown: [] };
  const context: CriterionContext = { baseUrl: options.baseUrl };
  for (const [key, raw] of Object.entries(query)) {
    // An empty parameter is ignored (FHIR R4 search §3.1.1.1).
    const occurrences = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => value !== undefined && value !== '');
    const { name, modifier } = splitModifier(key);
    if (occurrences.length === 0 || IGNORED_PARAMETERS.has(name)) continue;
    const resultParameter = RESULT_PARAMETERS.get(name);
    if (resultParameter) {
      resultParameter(request, key, occurrences, modifier);
      continue;
    }
    for (const value of occurrences) {
      const criterion = parseCriterion(resourceType, key, value, context);
      if (!criterion) {
        request.unknown.push(key);
        break;
      }
      request.criteria.push(criterion);
    }
  }
  return request;
}

// ---------------------------------------------------------------------------------------------
// Result parameters

type ResultParameterParser = (request: SearchRequest, key: string, occurrences: string[], modifier: string | undefined) => void;

/** A result parameter that takes no modifier. */
function plain(parse: (request: SearchRequest, key: string, occurrences: string[]) => void): ResultParameterParser {
  return (request, key, occurrences, modifier) => {
    if (modifier !== undefined) throw new SearchError(`${describeName(key)}: modifiers are not supported on this parameter.`);
    parse(request, key, occurrences);
  };
}

const RESULT_PARAMETERS: ReadonlyMap<string, ResultParameterParser> = new Map([
  ['_count', plain(parseCount)],
  ['_total', plain(parseTotal)],
  ['_sort', plain(parseSort)],
  ['_summary', plain(parseSummary)],
  ['_elements', plain(parseElements)],
  ['_include', (request, key, occurrences, modifier) => addIncludes(request, 'include', key, occurrences, modifier)],
  ['_revinclude', (request, key, occurrences, modifier) => addIncludes(request, 'revinclude', key, occurrences, modifier)],
  ['_contained', notSupported],
  ['_containedType', notSupported],
]);

/** Contained resources are not indexed on their own, so they cannot be searched or returned as matches. */
function notSupported(_request: SearchRequest, key: string): void {
  throw new SearchError(`${describeName(key)} is not supported: contained resources are not searchable on this server.`);
}

/** `:iterate` (and R4's older `:recurse`) applies the value to included resources too. */
function addIncludes(request: SearchRequest, kind: 'include' | 'revinclude', key: string, occurrences: string[], modifier: string | undefined): void {
  if (modifier === undefined) {
    request[kind].push(...occurrences);
    return;
  }
  if (modifier !== 'iterate' && modifier !== 'recurse') throw badModifier(key);
  const iterateKey = kind === 'include' ? 'includeIterate' : 'revincludeIterate';
  (request[iterateKey] ??= []).push(...occurrences);
}

function parseSummary(request: SearchRequest, key: string, occurrences: string[]): void {
  const value = single(key, occurrences);
  if (value !== 'true' && value !== 'false' && value !== 'count' && value !== 'data' && value !== 'text') {
    throw new SearchError(`${key} must be true, false, count, data or text.`);
  }
  request.summary = value;
}

function parseElements(request: SearchRequest, key: string, occurrences: string[]): void {
  const names = occurrences.flatMap((value) => splitList(key, value));
  const bad = names.find((name) => !/^[a-z][A-Za-z0-9]{0,63}$/.test(name));
  if (bad !== undefined) throw new SearchError(`${key} takes comma-separated top-level element names.`);
  request.elements = [...(request.elements ?? []), ...names];
}

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

/** How many chain and `_has` links one parameter may go through (`subject.organization.partof.name` is 3). */
export const MAX_CHAIN_DEPTH = 3;

/** Per-request context of criteria parsing. */
interface CriterionContext { baseUrl?: string }

/**
 * One occurrence of a criterion parameter; undefined when the parameter is unknown to this server
 * (the caller reports it). `_has:` keys and dotted (chained) keys recurse into the other type.
 */
function parseCriterion(resourceType: string, key: string, value: string, context: CriterionContext, depth = 0): Criterion | undefined {
  if (key.startsWith('_has:')) return parseReverseChain(resourceType, key, value, context, depth);
  const dot = key.indexOf('.');
  if (dot !== -1) return parseChain(resourceType, key, key.slice(0, dot), key.slice(dot + 1), value, context, depth);
  const { name, modifier } = splitModifier(key);
  if (name === '_id') {
    noModifier(key, modifier);
    return { type: 'id', values: splitList(key, value).map((id) => parseId(key, unescape(id))) };
  }
  if (name === '_lastUpdated') {
    noModifier(key, modifier);
    return { type: 'lastUpdated', values: splitList(key, value).map((item) => parseDate(key, item)) };
  }
  if (UNSUPPORTED_PARAMETERS.has(name)) return undefined;
  const parameter = searchParameter(resourceType, name);
  if (!parameter || parameter.type === 'special') return undefined;
  if (modifier === 'missing') return { type: 'missing', code: name, missing: parseBoolean(key, value) };
  if (parameter.type === 'composite') {
    noModifier(key, modifier);
    return { type: 'composite', code: name, values: splitList(key, value).map((item) => parseCompositeValue(key, name, parameter, item, context)) };
  }
  return parseTyped(parameter, key, name, modifier, value, context);
}

/** A criterion on a parameter of a plain (non-composite) type. */
function parseTyped(parameter: SearchParameter, key: string, code: string, modifier: string | undefined, value: string, context: CriterionContext): Criterion {
  switch (parameter.type) {
    case 'string':
      return parseStringCriterion(key, code, modifier, value);
    case 'token':
      return parseTokenCriterion(key, code, modifier, value);
    case 'reference':
      return parseReferenceCriterion(key, code, modifier, value, parameter.target ?? [], context);
    case 'uri':
      if (modifier !== undefined && modifier !== 'above' && modifier !== 'below') throw badModifier(key);
      return { type: 'uri', code, match: modifier ?? 'equals', values: splitList(key, value).map(unescape) };
    case 'date':
      noModifier(key, modifier);
      return { type: 'date', code, values: splitList(key, value).map((item) => parseDate(key, item)) };
    case 'number':
      noModifier(key, modifier);
      return { type: 'number', code, values: splitList(key, value).map((item) => parseNumber(key, item)) };
    case 'quantity':
      noModifier(key, modifier);
      return { type: 'quantity', code, values: splitList(key, value).map((item) => parseQuantity(key, item)) };
    default:
      throw new SearchError(`${describeName(key)}: ${parameter.type} parameters cannot be used here.`);
  }
}

/**
 * `part1$part2…`: one criterion per component, each parsed by its own type, on the index params
 * `<code>#<part>` that the indexer writes for composites.
 */
function parseCompositeValue(key: string, code: string, parameter: SearchParameter, item: string, context: CriterionContext): Criterion[] {
  const components = parameter.component ?? [];
  const parts = splitUnescaped(item, '$');
  if (parts.length !== components.length || parts.some((part) => part === '')) {
    throw new SearchError(`${describeName(key)}: a value of this composite parameter has ${components.length} parts separated by $.`);
  }
  return parts.map((part, index) => {
    const definition = components[index].definition;
    const partParameter = definition ? searchParameterByUrl(definition) : undefined;
    if (!partParameter) throw new SearchError(`${describeName(key)}: this composite parameter is not searchable.`);
    return parseTyped(partParameter, key, `${code}#${index}`, undefined, part, context);
  });
}

/** Without a `:Type` modifier, a chain is searched on at most this many target types. */
const MAX_CHAIN_TARGETS = 8;

/**
 * `param[:Type].rest`: the reference's target must match `rest` (itself possibly chained). Without
 * `:Type`, every target type that has the chained parameter is searched (FHIR R4 search, chaining),
 * provided the parameter means the same on all of them; otherwise the chain is ambiguous (400).
 */
function parseChain(resourceType: string, key: string, head: string, rest: string, value: string, context: CriterionContext, depth: number): Criterion | undefined {
  const { name, modifier } = splitModifier(head);
  const parameter = searchParameter(resourceType, name);
  if (!parameter) return undefined;
  if (parameter.type !== 'reference') throw new SearchError(`${describeName(key)}: only reference parameters can be chained.`);
  const types = chainTargetTypes(key, modifier, parameter.target ?? [], rest);
  if (types.length === 0) return undefined;
  checkDepth(key, depth);
  const targets: ChainTarget[] = [];
  for (const type of types) {
    const criterion = parseCriterion(type, rest, value, context, depth + 1);
    if (!criterion) return undefined;
    targets.push({ type, criterion });
  }
  return { type: 'chain', code: name, targets };
}

/** The `:Type` modifier, or the target types that define the chained parameter (see parseChain). */
function chainTargetTypes(key: string, modifier: string | undefined, targets: string[], rest: string): string[] {
  if (modifier !== undefined) {
    if (!isR4ResourceType(modifier) || (targets.length > 0 && !targets.includes(modifier))) {
      throw new SearchError(`${describeName(key)}: this parameter cannot reference that resource type.`);
    }
    return [modifier];
  }
  const next = /^[^.:]*/.exec(rest)![0];
  const common = next === '_id' || next === '_lastUpdated' || next === '_has';
  const candidates = targets.filter((type) => isR4ResourceType(type) && (common || searchParameter(type, next) !== undefined));
  const meanings = new Set(candidates.map((type) => (common ? next : searchParameter(type, next)!.type)));
  if (meanings.size > 1 || candidates.length > MAX_CHAIN_TARGETS) {
    throw new SearchError(`${describeName(key)}: this chain is ambiguous over the parameter's target types; name one, as in param:Type.name.`);
  }
  return candidates;
}

/** `_has:Type:param:rest`: some `Type` resource that matches `rest` references this one through `param`. */
function parseReverseChain(resourceType: string, key: string, value: string, context: CriterionContext, depth: number): Criterion | undefined {
  const [, sourceType, param, ...restParts] = key.split(':');
  const rest = restParts.join(':');
  if (!sourceType || !param || !rest) throw new SearchError(`${describeName(key)}: _has takes _has:Type:parameter:criterion.`);
  if (!isR4ResourceType(sourceType)) throw new SearchError(`${describeName(key)}: _has names an unknown resource type.`);
  const parameter = searchParameter(sourceType, param);
  if (!parameter) return undefined;
  const targets = parameter.target ?? [];
  if (parameter.type !== 'reference' || (targets.length > 0 && !targets.includes(resourceType as never))) {
    throw new SearchError(`${describeName(key)}: _has needs a reference parameter that can point at ${resourceType}.`);
  }
  checkDepth(key, depth);
  const criterion = parseCriterion(sourceType, rest, value, context, depth + 1);
  return criterion && { type: 'has', sourceType, code: param, criterion };
}

function checkDepth(key: string, depth: number): void {
  if (depth >= MAX_CHAIN_DEPTH) throw new SearchError(`${describeName(key)}: chains and _has go at most ${MAX_CHAIN_DEPTH} levels deep.`);
}

function parseStringCriterion(key: string, code: string, modifier: string | undefined, value: string): Criterion {
  if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') throw badModifier(key);
  return { type: 'string', code, match: modifier ?? 'prefix', values: splitList(key, value).map(unescape) };
}

function parseTokenCriterion(key: string, code: string, modifier: string | undefined, value: string): Criterion {
  const items = splitList(key, value);
  if (modifier === 'text') return { type: 'tokenText', code, values: items.map(unescape) };
  if (modifier === 'of-type') return { type: 'tokenOfType', code, values: items.map((item) => parseOfType(key, item)) };
  if (modifier === 'in' || modifier === 'not-in' || modifier === 'above' || modifier === 'below') {
    throw new SearchError(`${describeName(key)}: terminology modifiers (:in, :not-in, :above, :below) are not supported: this server expands no ValueSets or code hierarchies.`);
  }
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

/** `type-system|type-code|value`, all three required (FHIR R4 search, :of-type). */
function parseOfType(key: string, item: string): OfTypeValue {
  const parts = splitUnescaped(item, '|').map(unescape);
  if (parts.length !== 3 || parts.some((part) => part === '')) throw new SearchError(`${describeName(key)}: :of-type takes type-system|type-code|value.`);
  const [typeSystem, typeCode, value] = parts;
  return { typeSystem, typeCode, value };
}

function parseReferenceCriterion(key: string, code: string, modifier: string | undefined, value: string, targets: string[], context: CriterionContext): Criterion {
  const items = splitList(key, value);
  if (modifier === 'identifier') return { type: 'reference', code, values: items.map((item) => parseReferenceIdentifier(key, item)) };
  if (modifier !== undefined && !isR4ResourceType(modifier)) throw badModifier(key);
  return { type: 'reference', code, values: items.map((item) => parseReference(key, unescape(item), modifier, targets, context)) };
}

function parseReferenceIdentifier(key: string, item: string): ReferenceValue {
  const token = parseToken(key, item);
  if (token.code === undefined) throw new SearchError(`${describeName(key)}: an identifier needs a value.`);
  return token.system === undefined || token.system === '' ? { kind: 'identifier', value: token.code } : { kind: 'identifier', system: token.system, value: token.code };
}

/**
 * `Type/id`, `id` (with an optional `:Type` modifier) or an absolute URL. A URL on this server's
 * own FHIR base is the local reference it names, so it matches `Type/id` references too.
 */
function parseReference(key: string, item: string, typeModifier: string | undefined, targets: string[], context: CriterionContext): ReferenceValue {
  const local = localPath(item, context);
  if (local === undefined && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(item)) {
    if (typeModifier !== undefined) throw new SearchError(`${describeName(key)}: a type modifier needs a relative reference.`);
    return { kind: 'url', url: item };
  }
  const relative = local ?? item;
  const slash = relative.indexOf('/');
  const type = slash === -1 ? typeModifier : relative.slice(0, slash);
  const id = slash === -1 ? relative : relative.slice(slash + 1);
  if (!ID_PATTERN.test(id)) throw new SearchError(`${describeName(key)}: a reference is Type/id, id or an absolute URL.`);
  if (type === undefined) return { kind: 'local', id };
  if (!isR4ResourceType(type) || (typeModifier !== undefined && type !== typeModifier)) {
    throw new SearchError(`${describeName(key)}: the reference's resource type is not valid here.`);
  }
  if (targets.length > 0 && !targets.includes(type)) throw new SearchError(`${describeName(key)}: this parameter cannot reference that resource type.`);
  return { kind: 'local', type, id };
}

/** `Type/id` when `url` is `{baseUrl}/v1/fhir/Type/id`, else undefined. */
function localPath(url: string, context: CriterionContext): string | undefined {
  if (!context.baseUrl) return undefined;
  const base = `${context.baseUrl}/v1/fhir/`;
  if (!url.startsWith(base)) return undefined;
  const path = url.slice(base.length);
  return /^[A-Z][A-Za-z]+\/[^/]+$/.test(path) ? path : undefined;
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
function splitUnescaped(value: string, separator: ',' | '|' | '$'): string[] {
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
export function describeName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$/.test(name) ? `"${name}"` : 'a search parameter';
}
