import { ApiError } from '../../errors.js';
import type { Tx } from '../../store/database.js';
import type { SearchFilter, SearchQuery } from '../../store/search-query.js';
import { runSearch, type SearchRow } from '../../store/search.js';
import { patientCompartmentParameters } from './compartment.js';
import { describeName, parseSearch, SearchError, type SearchQueryString } from './parse.js';
import { planSearch } from './plan.js';

/**
 * The scans of a FHIR Bulk Data export: every selected resource of one type, in keyset pages by
 * id, through the same parse → plan → SQL path as searches. `_typeFilter` queries of a type are
 * ORed (Bulk Data §_typeFilter); the search plans are ANDs, so the scan runs them one after the
 * other and drops from query k's page the resources an earlier query already exported.
 */

/** What an export selects of one type. */
export interface TypeSelection {
  resourceType: string;
  /** `_typeFilter` queries of this type (the part after `?`); none = every resource of the type. */
  queries: string[];
  /**
   * Patient and Group levels: the Patient compartments of these patients, or of every patient
   * when null. Undefined at the system level.
   */
  patients?: string[] | null;
  /** `_since`: last updated at or after this instant. */
  since?: string;
  /** The export's transactionTime: later changes are left to the next `_since` export. */
  until: string;
}

/** Where a scan resumes: the `_typeFilter` query it is on and the last id it exported (null: its start). */
export interface ScanPosition { query: number; after: string | null }

export interface ScanPage {
  rows: SearchRow[];
  /** Null when the type is finished. */
  next: ScanPosition | null;
}

export const SCAN_START: ScanPosition = { query: 0, after: null };

/** Result parameters change what a search returns, not which resources match: not a filter. */
const RESULT_PARAMETER_MESSAGE = '_typeFilter queries take search criteria only (no _sort, _count, _include, _revinclude, _summary, _elements or _total)';

/**
 * The plans of one type's scan, one per query. Throws a 400 ApiError for a malformed or unknown
 * criterion: an ignored filter would export more than the client asked for.
 */
export function selectionPlans(selection: TypeSelection, baseUrl: string): SearchQuery[] {
  const queries = selection.queries.length > 0 ? selection.queries.map((query) => typeFilterCriteria(selection.resourceType, query, baseUrl)) : [[]];
  const common = [...scopeFilters(selection), ...timeFilters(selection)];
  return queries.map((criteria) => ({ resourceType: selection.resourceType, filters: [...criteria, ...common], sort: [{ by: 'id', direction: 'asc' }], pageSize: 0, total: 'none', columns: 'content' }));
}

/** Up to `pageSize` resources from `position` on. */
export async function scanPage(tx: Tx, partitionId: number, plans: SearchQuery[], position: ScanPosition, pageSize: number): Promise<ScanPage> {
  const plan = plans[position.query];
  const found = await runSearch(tx, partitionId, { ...plan, pageSize, ...(position.after !== null ? { after: { values: [position.after], id: position.after } } : {}) });
  let rows = found.rows;
  for (const earlier of plans.slice(0, position.query)) {
    if (rows.length === 0) break;
    const ids = rows.map((row) => row.id);
    const seen = await runSearch(tx, partitionId, { ...earlier, filters: [...earlier.filters, { kind: 'id', anyOf: ids }], pageSize: ids.length });
    const exported = new Set(seen.rows.map((row) => row.id));
    rows = rows.filter((row) => !exported.has(row.id));
  }
  const last = found.rows[found.rows.length - 1];
  let next: ScanPosition | null = null;
  if (found.hasMore && last) next = { query: position.query, after: last.id };
  else if (position.query + 1 < plans.length) next = { query: position.query + 1, after: null };
  return { rows, next };
}

function typeFilterCriteria(resourceType: string, query: string, baseUrl: string): SearchFilter[] {
  const parameters: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [key, value] of new URLSearchParams(query)) (parameters[key] ??= []).push(value);
  let request;
  try {
    request = parseSearch(resourceType, parameters as SearchQueryString, { baseUrl });
  } catch (error) {
    if (error instanceof SearchError) throw new ApiError('INVALID_REQUEST', `_typeFilter: ${error.message}`);
    throw error;
  }
  if (request.unknown.length > 0) throw new ApiError('INVALID_REQUEST', `_typeFilter: unknown or unsupported search parameters: ${request.unknown.map(describeName).join(', ')}.`);
  const { sort, count, total, include, revinclude, includeIterate, revincludeIterate, summary, elements } = request;
  if (sort.length > 0 || count !== undefined || total !== undefined || include.length > 0 || revinclude.length > 0 || includeIterate || revincludeIterate || summary || elements) {
    throw new ApiError('INVALID_REQUEST', RESULT_PARAMETER_MESSAGE);
  }
  return planSearch(request).filters;
}

/** The Patient compartment(s) at the Patient and Group levels; a Patient is its own compartment's owner. */
function scopeFilters(selection: TypeSelection): SearchFilter[] {
  if (selection.patients === undefined) return [];
  if (selection.resourceType === 'Patient') return selection.patients === null ? [] : [{ kind: 'id', anyOf: selection.patients }];
  const params = patientCompartmentParameters(selection.resourceType);
  if (!params) throw new ApiError('INVALID_REQUEST', `${selection.resourceType} is not in the Patient compartment`);
  return [{ kind: 'compartment', params, targetType: 'Patient', targetIds: selection.patients }];
}

/** last_updated in [since, until): an instant is a range of zero width, so `ge`/`lt` compare it directly. */
function timeFilters(selection: TypeSelection): SearchFilter[] {
  const filters: SearchFilter[] = [{ kind: 'lastUpdated', anyOf: [{ comparator: 'lt', low: selection.until, high: selection.until }] }];
  if (selection.since !== undefined) filters.push({ kind: 'lastUpdated', anyOf: [{ comparator: 'ge', low: selection.since, high: selection.since }] });
  return filters;
}
