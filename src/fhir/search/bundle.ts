import type { ResourceVersion } from '../repository.js';
import type { SearchQueryString } from './parse.js';
import { subsetResource, type Subset } from './subset.js';

/**
 * A searchset Bundle, assembled around the stored resource texts without re-encoding them
 * (unless _summary or _elements subsets them): matches, then includes, then an OperationOutcome
 * entry (search.mode outcome) when the server has warnings.
 */

export interface Searchset {
  baseUrl: string;
  matches: ResourceVersion[];
  included: ResourceVersion[];
  total?: number;
  warnings: string[];
  subset?: Subset;
  selfUrl: string;
  nextUrl?: string;
}

export function renderSearchset(searchset: Searchset): string {
  const links = [{ relation: 'self', url: searchset.selfUrl }, ...(searchset.nextUrl ? [{ relation: 'next', url: searchset.nextUrl }] : [])];
  const entry = (version: ResourceVersion, mode: string) =>
    `{"fullUrl":${JSON.stringify(`${searchset.baseUrl}/v1/fhir/${version.resourceType}/${version.id}`)},"resource":${content(version, searchset.subset)},"search":{"mode":"${mode}"}}`;
  const entries = [
    ...searchset.matches.map((version) => entry(version, 'match')),
    ...searchset.included.map((version) => entry(version, 'include')),
    ...(searchset.warnings.length > 0 ? [outcomeEntry(searchset.warnings)] : []),
  ];
  const head = { resourceType: 'Bundle', type: 'searchset', ...(searchset.total !== undefined ? { total: searchset.total } : {}), link: links };
  return `${JSON.stringify(head).slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

/** An absolute search URL: `{baseUrl}/v1/fhir/{path}?{query}`, every parameter kept in order. */
export function searchUrl(baseUrl: string, path: string, query: SearchQueryString): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) params.append(key, item);
  }
  const text = params.toString();
  return `${baseUrl}/v1/fhir${path ? `/${path}` : ''}${text ? `?${text}` : ''}`;
}

function content(version: ResourceVersion, subset: Subset | undefined): string {
  return subset ? JSON.stringify(subsetResource(JSON.parse(version.content) as Record<string, unknown>, subset)) : version.content;
}

/** What the server did not do as asked. */
function outcomeEntry(warnings: string[]): string {
  const outcome = { resourceType: 'OperationOutcome', issue: warnings.map((diagnostics) => ({ severity: 'warning', code: 'not-supported', diagnostics })) };
  return JSON.stringify({ resource: outcome, search: { mode: 'outcome' } });
}
