import { ApiError } from '../../errors.js';
import type { Database } from '../../store/database.js';
import type { SortSpec } from '../../store/search-query.js';
import { readResources } from '../../store/resources.js';
import { findReferencing, referencedTargets, runSearch, type SearchRow } from '../../store/search.js';
import { isR4ResourceType, searchParameter, searchParameters } from '../definitions/index.js';
import type { RequestContext, ResourceVersion } from '../repository.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { parseSearch, SearchError, type SearchQueryString, type SearchRequest } from './parse.js';
import { FHIR_DEFAULT_SORT, planSearch, SIMPLIFIED_DEFAULT_SORT } from './plan.js';

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

/** How many resources one _revinclude value may add to a read. */
const REVINCLUDE_LIMIT = 1000;
const CURSOR_PARAMETER = '_cursor';

/** FHIR search for both APIs: parse → plan → store, then paging cursors and Bundles. */
export class FhirSearch {
  constructor(private readonly db: Database) {}

  async search(ctx: RequestContext, resourceType: string, query: SearchQueryString, options: SearchOptions): Promise<SearchPage> {
    const request = parse(resourceType, query);
    const defaultSort: readonly SortSpec[] = options.defaultSort === 'created' ? SIMPLIFIED_DEFAULT_SORT : FHIR_DEFAULT_SORT;
    const plan = planSearch(request, { defaultSort, defaultCount: options.count, defaultTotal: 'bounded' });
    plan.after = decodeCursor(options.cursor, plan);
    const result = await this.db.read((tx) => runSearch(tx, ctx.partitionId, plan));
    return {
      versions: result.rows.map((row) => toVersion(resourceType, row)),
      ...(result.total !== undefined ? { total: result.total } : {}),
      ...(result.next ? { nextCursor: encodeCursor(result.next, plan) } : {}),
    };
  }

  /** A FHIR searchset Bundle, assembled around the stored resource texts without re-encoding them. */
  async searchBundle(ctx: RequestContext, resourceType: string, query: SearchQueryString, baseUrl: string): Promise<string> {
    const { [CURSOR_PARAMETER]: cursor, ...criteria } = query;
    const page = await this.search(ctx, resourceType, criteria, { cursor: Array.isArray(cursor) ? cursor[0] : cursor, defaultSort: 'lastUpdated' });
    const typeUrl = `${baseUrl}/v1/fhir/${resourceType}`;
    const links = [{ relation: 'self', url: `${typeUrl}${queryString(query)}` }];
    if (page.nextCursor) links.push({ relation: 'next', url: `${typeUrl}${queryString({ ...criteria, [CURSOR_PARAMETER]: page.nextCursor })}` });
    const entries = page.versions.map((version) => entryText(`${typeUrl}/${version.id}`, version.content, 'match'));
    const head = { resourceType: 'Bundle', type: 'searchset', ...(page.total !== undefined ? { total: page.total } : {}), link: links };
    return `${JSON.stringify(head).slice(0, -1)},"entry":[${entries.join(',')}]}`;
  }

  /**
   * The resource as a searchset Bundle's match, plus the resources it references (`_include`)
   * and those that reference it (`_revinclude`), each included once.
   */
  async relatedBundle(ctx: RequestContext, version: ResourceVersion, related: { include: string[]; revinclude: string[] }, baseUrl: string): Promise<unknown> {
    const referencing = related.revinclude.flatMap((value) => referencingParameters(value, version.resourceType));
    const referenced = related.include.map((value) => referencedSelection(value, version.resourceType));
    const included = await this.db.read(async (tx) => {
      const found = new Map<string, ResourceVersion>();
      for (const { type, param } of referencing) {
        for (const row of await findReferencing(tx, ctx.partitionId, type, param, version.resourceType, [version.id], REVINCLUDE_LIMIT)) {
          found.set(`${type}/${row.id}`, toVersion(type, row));
        }
      }
      for (const { param, targetType } of referenced) {
        const targets = (await referencedTargets(tx, ctx.partitionId, version.resourceType, version.id, param))
          .filter((target) => !targetType || target.targetType === targetType);
        for (const type of new Set(targets.map((target) => target.targetType))) {
          const ids = targets.filter((target) => target.targetType === type).map((target) => target.targetId);
          for (const stored of await readResources(tx, ctx.partitionId, type, ids)) {
            found.set(`${type}/${stored.id}`, { ...stored, content: stored.content! });
          }
        }
      }
      found.delete(`${version.resourceType}/${version.id}`);
      return [...found.values()];
    });
    const entry = (item: ResourceVersion, mode: string) => ({
      fullUrl: `${baseUrl}/v1/fhir/${item.resourceType}/${item.id}`,
      resource: JSON.parse(item.content) as unknown,
      search: { mode },
    });
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: 1,
      entry: [entry(version, 'match'), ...included.map((item) => entry(item, 'include'))],
    };
  }
}

function parse(resourceType: string, query: SearchQueryString): SearchRequest {
  try {
    return parseSearch(resourceType, query);
  } catch (error) {
    if (error instanceof SearchError) throw new ApiError('INVALID_REQUEST', error.message);
    throw error;
  }
}

/**
 * `Type:param[:Target]` → that reference parameter (none when `Type` has no such reference
 * parameter, or when Target is another type);
 * a bare `Type` → each of its reference parameters that can point at `targetType`.
 */
function referencingParameters(value: string, targetType: string): Array<{ type: string; param: string }> {
  const [type, param, target] = value.split(':');
  if (!isR4ResourceType(type) || (target !== undefined && !isR4ResourceType(target))) {
    throw new ApiError('INVALID_REQUEST', '_revinclude names an unknown resource type');
  }
  if (target !== undefined && target !== targetType) return [];
  if (param) {
    // The official SDK asks for Type:subject and Type:patient for every type it includes, and
    // some types have only one of them (Medication has neither): such values add nothing.
    return searchParameter(type, param)?.type === 'reference' ? [{ type, param }] : [];
  }
  return Object.entries(searchParameters(type))
    .filter(([, definition]) => definition.type === 'reference' && definition.target?.includes(targetType as never))
    .map(([code]) => ({ type, param: code }));
}

/**
 * `_include` values: `Source:param[:Target]` (FHIR form; Source must be the resource's own type)
 * selects the targets of that reference parameter; a bare `Type`, or `Source:Type` as the SDK sends
 * it, selects every resource of that type the resource references.
 */
function referencedSelection(value: string, sourceType: string): { param: string | null; targetType?: string } {
  const [first, param, target] = value.split(':');
  if (param === undefined) {
    if (!isR4ResourceType(first)) throw new ApiError('INVALID_REQUEST', '_include names an unknown resource type');
    return { param: null, targetType: first };
  }
  // The SDK's include:['Observation'] on a lab arrives as DiagnosticReport:Observation: Source:Target.
  if (first === sourceType && target === undefined && isR4ResourceType(param) && !searchParameter(sourceType, param)) return { param: null, targetType: param };
  if (first !== sourceType || searchParameter(sourceType, param)?.type !== 'reference' || (target !== undefined && !isR4ResourceType(target))) {
    throw new ApiError('INVALID_REQUEST', '_include takes Type or Source:param[:Target] with a reference parameter of this resource');
  }
  return { param, targetType: target };
}

function toVersion(resourceType: string, row: SearchRow): ResourceVersion {
  return { resourceType, id: row.id, versionId: row.versionId, createdAt: row.createdAt, lastUpdated: row.lastUpdated, content: row.content };
}

function entryText(fullUrl: string, content: string, mode: string): string {
  return `{"fullUrl":${JSON.stringify(fullUrl)},"resource":${content},"search":{"mode":"${mode}"}}`;
}

function queryString(query: SearchQueryString): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) params.append(key, item);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
