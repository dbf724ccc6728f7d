import { ApiError } from '../../errors.js';
import type { Database } from '../../store/database.js';
import type { SearchFilter, SearchQuery, SortSpec } from '../../store/search-query.js';
import { runSearch } from '../../store/search.js';
import type { RequestContext, ResourceVersion } from '../repository.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { renderSearchset, searchUrl } from './bundle.js';
import { collectIncludes, MAX_INCLUDED, pageIncludes, parseIncludes, type IncludeRequest, type Included } from './include.js';
import { describeName, parseSearch, SearchError, type SearchQueryString, type SearchRequest } from './parse.js';
import { FHIR_DEFAULT_SORT, planSearch, SIMPLIFIED_DEFAULT_SORT } from './plan.js';
import type { Subset } from './subset.js';
import { decodeSystemCursor, encodeSystemCursor, mergePages, type TypePage } from './system.js';
import { isR4ResourceType } from '../definitions/index.js';

export interface SearchOptions {
  /** Page size when the query has no _count. */
  count?: number;
  cursor?: string;
  /** `created` (newest first, the simplified API) or `lastUpdated` (the FHIR API). */
  defaultSort: 'created' | 'lastUpdated';
}

export interface SearchPage {
  versions: ResourceVersion[];
  total?: number;
  nextCursor?: string;
}

/** Where a FHIR search was asked, for its Bundle's links. */
export interface BundleOptions {
  /** The public base URL of the server. */
  baseUrl: string;
  /** The search's path under /v1/fhir: `Observation`, or `Patient/{id}/Observation` for a compartment. */
  path: string;
  /** Only resources in this compartment: referenced through one of `params` (ORed). */
  compartment?: { type: string; id: string; params: string[] };
  /** `Prefer: handling=strict`: unknown parameters are an error instead of a warning. */
  strict?: boolean;
}

/** The page size rules of the API contract, on both APIs: 20 by default, at most 100. */
export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 100;
export const CURSOR_PARAMETER = '_cursor';

/** FHIR search for both APIs: parse → plan → store, then paging cursors and Bundles. */
export class FhirSearch {
  constructor(private readonly db: Database) {}

  /** A page of matches, for the simplified API: its total is counted up to the store's threshold. */
  async search(ctx: RequestContext, resourceType: string, query: SearchQueryString, options: SearchOptions): Promise<SearchPage> {
    const request = parse(() => parseSearch(resourceType, query));
    // The simplified filters compile to known parameters only: anything else is a bug to surface.
    if (request.unknown.length > 0) throw unknownParameters(request.unknown);
    const defaultSort: readonly SortSpec[] = options.defaultSort === 'created' ? SIMPLIFIED_DEFAULT_SORT : FHIR_DEFAULT_SORT;
    const plan = planSearch(request, { defaultSort, defaultCount: options.count, maxCount: MAX_COUNT, defaultTotal: 'bounded' });
    plan.after = decodeCursor(options.cursor, plan);
    const result = await this.db.read((tx) => runSearch(tx, ctx.partitionId, plan));
    return {
      versions: result.rows,
      ...(result.total !== undefined ? { total: result.total } : {}),
      ...(result.next ? { nextCursor: encodeCursor(result.next, plan) } : {}),
    };
  }

  /** A FHIR searchset Bundle for one type (or one compartment). See docs/search.md for the total, paging and include rules. */
  async searchBundle(ctx: RequestContext, resourceType: string, query: SearchQueryString, options: BundleOptions): Promise<string> {
    const { [CURSOR_PARAMETER]: cursor, ...criteria } = query;
    const search = prepare(resourceType, criteria, options);
    if (options.compartment) search.plan.filters.push(compartmentFilter(options.compartment));
    search.plan.after = decodeCursor(firstOf(cursor), search.plan);
    const withPage = pageIncludes(resourceType, search.specs);
    search.plan.include = withPage.map((spec) => ({ params: spec.params ?? null, targetType: spec.targetType ?? null }));
    const { result, matches, included } = await this.db.read(async (tx) => {
      const found = await runSearch(tx, ctx.partitionId, search.plan);
      const versions = found.rows;
      const read = { specs: withPage, versions: found.included };
      return { result: found, matches: versions, included: await collectIncludes(tx, ctx.partitionId, versions, search.specs, read) };
    });
    // Free total: a first page with no next page holds every match.
    const cheap = search.plan.after === undefined && !result.hasMore && search.request.total !== 'none';
    const next = result.next ? encodeCursor(result.next, search.plan) : undefined;
    return renderSearchset({
      baseUrl: options.baseUrl,
      matches,
      included: included.versions,
      total: result.total ?? (cheap ? matches.length : undefined),
      warnings: [...search.warnings, ...includeWarnings(included)],
      subset: subsetOf(search.request),
      selfUrl: searchUrl(options.baseUrl, options.path, query),
      ...(next ? { nextUrl: searchUrl(options.baseUrl, options.path, { ...criteria, [CURSOR_PARAMETER]: next }) } : {}),
    });
  }

  /**
   * System search over the `_type` types, with the common parameters only, sorted by
   * _lastUpdated (src/fhir/search/system.ts describes the paging across types).
   */
  async systemBundle(ctx: RequestContext, query: SearchQueryString, options: Omit<BundleOptions, 'path' | 'compartment'>): Promise<string> {
    const { [CURSOR_PARAMETER]: cursor, ...parameters } = query;
    const { _type: typeValue, ...criteria } = parameters;
    const types = systemTypes(typeValue);
    const common = Object.fromEntries(Object.entries(criteria).filter(([key]) => isCommonParameter(key)));
    const typeSpecific = Object.keys(criteria).filter((key) => !isCommonParameter(key));
    const searches = types.map((type) => ({ type, ...prepare(type, common, options) }));
    const [first] = searches;
    if (first.plan.sort.length !== 1 || first.plan.sort[0].by !== 'lastUpdated') throw new ApiError('INVALID_REQUEST', 'System search sorts by _lastUpdated or -_lastUpdated only');
    if (options.strict && typeSpecific.length > 0) throw unknownParameters(typeSpecific);
    const cursors = decodeSystemCursor(firstOf(cursor), types);
    // Exhausted types are still counted when a total is asked for (a count-only search of each).
    const active = searches.filter((search) => !cursors || cursors.has(search.type));
    const counted = searches.filter((search) => !active.includes(search) && search.plan.total !== 'none');
    for (const search of active) search.plan.after = decodeCursor(cursors?.get(search.type) ?? undefined, search.plan);
    for (const search of counted) search.plan.pageSize = 0;

    const { pages, totals, merged, included } = await this.db.read(async (tx) => {
      const found: Array<TypePage<ResourceVersion>> = [];
      const counts: Array<number | undefined> = [];
      for (const search of [...active, ...counted]) {
        const result = await runSearch(tx, ctx.partitionId, search.plan);
        counts.push(result.total);
        if (active.includes(search)) found.push({ type: search.type, rows: result.rows, positions: result.positions(), hasMore: result.hasMore });
      }
      const page = mergePages(found, first.plan.pageSize, first.plan.sort[0].direction);
      return { pages: found, totals: counts, merged: page, included: await collectIncludes(tx, ctx.partitionId, page.rows, first.specs) };
    });
    // A count-only search (pageSize 0) has no next page.
    const remaining = first.plan.pageSize === 0 ? [] : [...merged.remaining];
    const nextCursors = new Map(remaining.map(([type, position]) => {
      const search = active.find((candidate) => candidate.type === type)!;
      return [type, position ? encodeCursor(position, search.plan) : (cursors?.get(type) ?? null)];
    }));
    const cheap = cursors === undefined && nextCursors.size === 0 && first.request.total !== 'none';
    const total = totals.every((value) => value !== undefined) ? totals.reduce((sum: number, value) => sum + value!, 0) : cheap ? pages.reduce((sum, page) => sum + page.rows.length, 0) : undefined;
    const warnings = [...first.warnings, ...(typeSpecific.length > 0 ? [ignoredWarning(typeSpecific)] : []), ...includeWarnings(included)];
    const nextQuery = { ...parameters, [CURSOR_PARAMETER]: encodeSystemCursor(nextCursors) };
    return renderSearchset({
      baseUrl: options.baseUrl,
      matches: merged.rows,
      included: included.versions,
      total,
      warnings,
      subset: subsetOf(first.request),
      selfUrl: searchUrl(options.baseUrl, '', query),
      ...(nextCursors.size > 0 ? { nextUrl: searchUrl(options.baseUrl, '', nextQuery) } : {}),
    });
  }

  /**
   * The resource as a searchset Bundle's match, plus the resources it references (`_include`)
   * and those that reference it (`_revinclude`), each included once: the simplified API's reads.
   */
  async relatedBundle(ctx: RequestContext, version: ResourceVersion, related: IncludeRequest, baseUrl: string): Promise<unknown> {
    const specs = parse(() => parseIncludes(related));
    const included = await this.db.read((tx) => collectIncludes(tx, ctx.partitionId, [version], specs));
    const entry = (item: ResourceVersion, mode: string) => ({
      fullUrl: `${baseUrl}/v1/fhir/${item.resourceType}/${item.id}`,
      resource: JSON.parse(item.content) as unknown,
      search: { mode },
    });
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: 1,
      entry: [entry(version, 'match'), ...included.versions.map((item) => entry(item, 'include'))],
    };
  }
}

/** A parsed and planned FHIR search, with the warnings its unknown parameters raise. */
function prepare(resourceType: string, criteria: SearchQueryString, options: { baseUrl: string; strict?: boolean }) {
  const request = parse(() => parseSearch(resourceType, criteria, { baseUrl: options.baseUrl }));
  if (options.strict && request.unknown.length > 0) throw unknownParameters(request.unknown);
  const specs = parse(() => parseIncludes(request));
  const warnings = request.unknown.length > 0 ? [ignoredWarning(request.unknown)] : [];
  return { request, specs, plan: fhirPlan(request), warnings };
}

/** At most this many types in one system search: each is one query. */
const MAX_SYSTEM_TYPES = 20;

function systemTypes(value: string | string[] | undefined): string[] {
  const types = [...new Set((Array.isArray(value) ? value : [value ?? '']).flatMap((item) => item.split(',')).filter((type) => type !== ''))];
  if (types.length === 0) throw new ApiError('INVALID_REQUEST', 'System search needs _type: the comma-separated resource types to search');
  if (types.length > MAX_SYSTEM_TYPES) throw new ApiError('INVALID_REQUEST', `System search takes at most ${MAX_SYSTEM_TYPES} types`);
  for (const type of types) if (!isR4ResourceType(type)) throw new ApiError('INVALID_REQUEST', `_type: ${describeName(type)} is not an R4 resource type`);
  return types;
}

/** `_id`, `_lastUpdated`, `_tag`… and the result parameters apply to every type; `_has:Type:param` does not. */
function isCommonParameter(key: string): boolean {
  return key.startsWith('_') && !key.startsWith('_has:');
}

function firstOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function unknownParameters(names: string[]): ApiError {
  return new ApiError('INVALID_REQUEST', `Unknown or unsupported search parameters: ${names.map(describeName).join(', ')}.`);
}

function ignoredWarning(names: string[]): string {
  return `Ignored unknown or unsupported search parameters: ${names.map(describeName).join(', ')}.`;
}

function includeWarnings(included: Included): string[] {
  return included.truncated ? [`Only the first ${MAX_INCLUDED} included resources are returned.`] : [];
}

/**
 * The FHIR API's plan: _count as the contract says, no total unless asked; `_summary=count` (or
 * `_count=0`) counts only. A Bundle sends each resource as stored, its meta included: the rows
 * need no version columns.
 */
function fhirPlan(request: SearchRequest): SearchQuery {
  const plan: SearchQuery = { ...planSearch(request, { defaultSort: FHIR_DEFAULT_SORT, defaultCount: DEFAULT_COUNT, maxCount: MAX_COUNT, defaultTotal: 'none' }), columns: 'content' };
  if (request.summary === 'count') plan.pageSize = 0;
  if (plan.pageSize === 0 && plan.total === 'none') plan.total = 'exact';
  return plan;
}

function compartmentFilter(compartment: { type: string; id: string; params: string[] }): SearchFilter {
  return { kind: 'compartment', params: compartment.params, targetType: compartment.type, targetIds: [compartment.id] };
}

function subsetOf(request: SearchRequest): Subset | undefined {
  if (request.elements) return { elements: request.elements };
  if (request.summary === 'true' || request.summary === 'text' || request.summary === 'data') return { summary: request.summary };
  return undefined;
}

function parse<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SearchError) throw new ApiError('INVALID_REQUEST', error.message);
    throw error;
  }
}
