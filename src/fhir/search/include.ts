import type { Tx } from '../../store/database.js';
import { readReferenced, readReferencing } from '../../store/include.js';
import type { StoredResource } from '../../store/resources.js';
import { isR4ResourceType, searchParameter } from '../definitions/index.js';
import type { ResourceVersion } from '../repository.js';
import { SearchError } from './parse.js';

/**
 * The one _include / _revinclude engine, for FHIR searches and for the simplified API's reads.
 *
 * Values:
 * - `_include=Source:param[:Target]` adds what `param` of each Source match references (of type
 *   Target only, when given); `Source:*` every reference parameter of Source; `*` every reference
 *   of every match; a bare `Type` (the simplified API's form), or `Source:Type` as the SDK sends it,
 *   every reference to a Type.
 * - `_revinclude=Source:param[:Target]` adds the Source resources whose `param` references a
 *   match (of type Target, when given); `Source` or `Source:*` through any parameter; `*` every
 *   resource that references a match. A `param` that Source lacks adds nothing: the official SDK
 *   asks for Type:subject and Type:patient for every type it includes.
 * - `:iterate` (R4 also `:recurse`) applies the value to the included resources too, up to
 *   MAX_DEPTH rounds.
 *
 * Each resource appears once (matches are never repeated as includes), and no more than
 * MAX_INCLUDED are added: the result says when it stopped there.
 */

export const MAX_DEPTH = 3;
export const MAX_INCLUDED = 1000;

export interface IncludeSpec {
  direction: 'include' | 'revinclude';
  /** The referencing type; undefined = any. */
  sourceType?: string;
  /** The reference parameters; undefined = every one. */
  params?: string[];
  /** The referenced type; undefined = any. */
  targetType?: string;
  iterate: boolean;
}

export interface IncludeRequest {
  include: string[];
  revinclude: string[];
  includeIterate?: string[];
  revincludeIterate?: string[];
}

export interface Included {
  versions: ResourceVersion[];
  /** True when MAX_INCLUDED cut the includes short. */
  truncated: boolean;
}

export function parseIncludes(request: IncludeRequest): IncludeSpec[] {
  return [
    ...request.include.map((value) => parseInclude(value, false)),
    ...(request.includeIterate ?? []).map((value) => parseInclude(value, true)),
    ...request.revinclude.flatMap((value) => parseRevinclude(value, false)),
    ...(request.revincludeIterate ?? []).flatMap((value) => parseRevinclude(value, true)),
  ];
}

function parseInclude(value: string, iterate: boolean): IncludeSpec {
  if (value === '*') return { direction: 'include', iterate };
  const [source, param, target, ...extra] = value.split(':');
  if (extra.length > 0 || !isR4ResourceType(source) || (target !== undefined && !isR4ResourceType(target))) throw invalid('_include');
  if (param === undefined) return { direction: 'include', targetType: source, iterate };
  if (param === '*') return { direction: 'include', sourceType: source, targetType: target, iterate };
  // The SDK's include:['Observation'] on a lab arrives as DiagnosticReport:Observation (Source:Target).
  if (target === undefined && isR4ResourceType(param) && !searchParameter(source, param)) return { direction: 'include', sourceType: source, targetType: param, iterate };
  if (searchParameter(source, param)?.type !== 'reference') {
    throw new SearchError('_include takes Source:param[:Target] with a reference parameter of Source, Source:*, Type or *.');
  }
  return { direction: 'include', sourceType: source, params: [param], targetType: target, iterate };
}

/** No spec at all for a parameter that Source does not have (see above). */
function parseRevinclude(value: string, iterate: boolean): IncludeSpec[] {
  if (value === '*') return [{ direction: 'revinclude', iterate }];
  const [source, param, target, ...extra] = value.split(':');
  if (extra.length > 0 || !isR4ResourceType(source) || (target !== undefined && !isR4ResourceType(target))) throw invalid('_revinclude');
  if (param === undefined || param === '*') return [{ direction: 'revinclude', sourceType: source, targetType: target, iterate }];
  if (searchParameter(source, param)?.type !== 'reference') return [];
  return [{ direction: 'revinclude', sourceType: source, params: [param], targetType: target, iterate }];
}

function invalid(name: string): SearchError {
  return new SearchError(`${name} takes Source:param[:Target], Source:*, Type or * with R4 resource types.`);
}

/**
 * The first round of `specs` that a search of `resourceType` reads together with its page
 * (SearchQuery.include): the _include specs from that type, which need only the page's ids.
 */
export function pageIncludes(resourceType: string, specs: IncludeSpec[]): IncludeSpec[] {
  return specs.filter((spec) => spec.direction === 'include' && (spec.sourceType === undefined || spec.sourceType === resourceType));
}

/** What the search already read for the `specs` from pageIncludes. */
export interface PageIncluded { specs: IncludeSpec[]; versions: ResourceVersion[] }

/**
 * The resources `specs` add to `matches`, breadth first: the matches, then (for :iterate specs)
 * each round's additions. `read` holds what the search read with the page for some of the first
 * round's specs.
 */
export async function collectIncludes(tx: Tx, partitionId: number, matches: ResourceVersion[], specs: IncludeSpec[], read?: PageIncluded): Promise<Included> {
  if (specs.length === 0) return { versions: [], truncated: false };
  const seen = new Set(matches.map(keyOf));
  const versions: ResourceVersion[] = [];
  let frontier = matches;
  for (let depth = 0; depth < MAX_DEPTH && frontier.length > 0; depth += 1) {
    const active = depth === 0 ? specs : specs.filter((spec) => spec.iterate);
    const added: ResourceVersion[] = [];
    /** Adds what is new; false once MAX_INCLUDED is reached. */
    const take = (found: ResourceVersion[]): boolean => {
      for (const version of found) {
        if (seen.has(keyOf(version))) continue;
        if (versions.length + added.length === MAX_INCLUDED) return false;
        seen.add(keyOf(version));
        added.push(version);
      }
      return true;
    };
    const pending = depth === 0 && read ? active.filter((spec) => !read.specs.includes(spec)) : active;
    if (depth === 0 && read && !take(read.versions)) return { versions: [...versions, ...added], truncated: true };
    for (const spec of pending) {
      if (!take(await resourcesFor(tx, partitionId, spec, frontier, MAX_INCLUDED - versions.length - added.length + 1))) return { versions: [...versions, ...added], truncated: true };
    }
    versions.push(...added);
    frontier = added;
  }
  return { versions, truncated: false };
}

/** The live resources `spec` adds to `frontier` (some may be there already), at most `limit` of them for a _revinclude. */
async function resourcesFor(tx: Tx, partitionId: number, spec: IncludeSpec, frontier: ResourceVersion[], limit: number): Promise<ResourceVersion[]> {
  const found: StoredResource[] = [];
  for (const [type, ids] of groupByType(frontier)) {
    if (spec.direction === 'include') {
      if (spec.sourceType !== undefined && spec.sourceType !== type) continue;
      found.push(...(await readReferenced(tx, partitionId, type, ids, spec.params ?? null, spec.targetType ?? null)));
    } else {
      if (spec.targetType !== undefined && spec.targetType !== type) continue;
      found.push(...(await readReferencing(tx, partitionId, type, ids, spec.sourceType ?? null, spec.params ?? null, limit - found.length)));
    }
  }
  // Only live resources are read, so each has content.
  return found.map((stored) => ({ ...stored, content: stored.content! }));
}

type ResourceKey = Pick<ResourceVersion, 'resourceType' | 'id'>;

function groupByType(keys: ResourceKey[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const ids = groups.get(key.resourceType);
    if (ids) ids.push(key.id);
    else groups.set(key.resourceType, [key.id]);
  }
  return groups;
}

function keyOf(key: ResourceKey): string {
  return `${key.resourceType}/${key.id}`;
}
