import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { fhirBaseUrl } from '../../config.js';
import { ApiError } from '../../errors.js';
import { allResourceTypes, isR4ResourceType } from '../definitions/index.js';
import { parseReference } from '../indexing/references.js';
import { patientCompartmentParameters } from '../search/compartment.js';
import { selectionPlans } from '../search/export-scan.js';
import { describeName, type SearchQueryString } from '../search/parse.js';

/**
 * The kick-off parameters of a FHIR Bulk Data export (https://hl7.org/fhir/uv/bulkdata/export.html),
 * from the URL (GET) or a Parameters body (POST), checked completely before the job is created:
 * a bad parameter is a 400 at kick-off, never a job that fails later.
 */

export type ExportLevel = 'system' | 'patient' | 'group';

/** The job's `request`: the parameters as the handler needs them (the kick-off URL for the manifest). */
export interface FhirExportRequest {
  level: ExportLevel;
  groupId?: string;
  /** The types to export, in file order. */
  types: string[];
  /** `_typeFilter` queries (after the `?`) by type. */
  typeFilters: Record<string, string[]>;
  since?: string;
  /** The `patient` parameter: only these patients' compartments (Patient and Group levels). */
  patients?: string[];
  /** The kick-off request URL, echoed as the manifest's `request`. */
  requestUrl: string;
}

export interface KickOff {
  level: ExportLevel;
  groupId?: string;
  /** The URL's parameters (GET), or the body's Parameters resource (POST). */
  query: SearchQueryString;
  body?: unknown;
  requestUrl: string;
  /** The server's public base URL. */
  baseUrl: string;
  /** `Prefer: handling=lenient`: unsupported parameters are ignored instead of refused. */
  lenient: boolean;
}

/** The NDJSON media type and the aliases the specification lets a client use for it. */
const OUTPUT_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const KNOWN = new Set(['_outputFormat', '_type', '_since', '_typeFilter', 'patient']);
/** A FHIR instant: a time zone is required, so that the instant is unambiguous. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
/** `Type?query`, where a comma-separated `_typeFilter` value starts its next query. */
const QUERY_START = /,(?=[A-Z][A-Za-z]+\?)/;

export function parseKickOff(kickOff: KickOff): FhirExportRequest {
  const parameters = kickOff.body === undefined ? fromQuery(kickOff.query) : fromParameters(kickOff.body);
  for (const name of parameters.keys()) {
    if (KNOWN.has(name) || kickOff.lenient) continue;
    throw new ApiError('INVALID_REQUEST', `Unsupported $export parameter ${describeName(name)} (send Prefer: handling=lenient to ignore it)`);
  }
  const format = single(parameters, '_outputFormat');
  if (format !== undefined && !OUTPUT_FORMATS.has(format)) throw new ApiError('INVALID_REQUEST', '_outputFormat: only application/fhir+ndjson is supported');

  const since = single(parameters, '_since');
  if (since !== undefined && (!INSTANT.test(since) || Number.isNaN(Date.parse(since)))) throw new ApiError('INVALID_REQUEST', '_since must be a FHIR instant, e.g. 2024-01-01T00:00:00Z');

  const types = exportTypes(kickOff.level, (parameters.get('_type') ?? []).flatMap((value) => value.split(',')).map((type) => type.trim()).filter((type) => type !== ''));
  const typeFilters = typeFiltersOf(parameters.get('_typeFilter') ?? [], types, kickOff.baseUrl);
  const patients = patientsOf(kickOff.level, parameters.get('patient') ?? [], fhirBaseUrl(kickOff.baseUrl));
  return {
    level: kickOff.level,
    ...(kickOff.groupId !== undefined ? { groupId: kickOff.groupId } : {}),
    types,
    typeFilters,
    ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
    ...(patients ? { patients } : {}),
    requestUrl: kickOff.requestUrl,
  };
}

/** Parameter name → values (repeated parameters keep every value). */
type Values = Map<string, string[]>;

function fromQuery(query: SearchQueryString): Values {
  const values: Values = new Map();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    values.set(name, Array.isArray(value) ? value : [value]);
  }
  return values;
}

/** A POST kick-off's Parameters resource; `patient` is the only parameter given as a reference. */
function fromParameters(body: unknown): Values {
  const resource = body as Parameters | null;
  if (resource === null || typeof resource !== 'object' || resource.resourceType !== 'Parameters') {
    throw new ApiError('INVALID_REQUEST', 'A POST $export takes a FHIR Parameters resource');
  }
  if (resource.parameter !== undefined && !Array.isArray(resource.parameter)) throw new ApiError('INVALID_REQUEST', 'Parameters.parameter must be an array');
  const values: Values = new Map();
  for (const [index, parameter] of (resource.parameter ?? []).entries()) {
    if (parameter === null || typeof parameter !== 'object' || typeof parameter.name !== 'string') {
      throw new ApiError('INVALID_REQUEST', `Parameters.parameter[${index}] needs a name`);
    }
    const value = parameterValue(parameter);
    if (value === undefined) throw new ApiError('INVALID_REQUEST', `Parameters.parameter[${index}] needs a string, instant or reference value`);
    const list = values.get(parameter.name);
    if (list) list.push(value);
    else values.set(parameter.name, [value]);
  }
  return values;
}

function parameterValue(parameter: ParametersParameter): string | undefined {
  const value = parameter.valueString ?? parameter.valueInstant ?? parameter.valueDateTime ?? parameter.valueCode ?? parameter.valueReference?.reference;
  return typeof value === 'string' ? value : undefined;
}

function single(values: Values, name: string): string | undefined {
  const list = values.get(name);
  if (list && list.length > 1) throw new ApiError('INVALID_REQUEST', `${name} may be given once`);
  return list?.[0];
}

/** The requested types, checked; by default every type the level can export. */
function exportTypes(level: ExportLevel, requested: string[]): string[] {
  const inCompartment = (type: string) => type === 'Patient' || patientCompartmentParameters(type) !== undefined;
  if (requested.length === 0) return allResourceTypes().filter((type) => level === 'system' || inCompartment(type));
  for (const type of requested) {
    if (!isR4ResourceType(type)) throw new ApiError('INVALID_REQUEST', `_type: ${describeName(type)} is not an R4 resource type`);
    if (level !== 'system' && !inCompartment(type)) throw new ApiError('INVALID_REQUEST', `_type: ${type} is not in the Patient compartment`);
  }
  return [...new Set(requested)];
}

/**
 * `Type?criteria` values, checked through the search parser. A filter on a type that is not
 * exported selects nothing more, so it is dropped (Bulk Data: _type decides the types).
 */
function typeFiltersOf(values: string[], types: string[], baseUrl: string): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const value of values.flatMap((item) => item.split(QUERY_START))) {
    const mark = value.indexOf('?');
    const type = mark > 0 ? value.slice(0, mark) : '';
    if (!isR4ResourceType(type)) throw new ApiError('INVALID_REQUEST', '_typeFilter values are FHIR search queries: ResourceType?criteria');
    if (!types.includes(type)) continue;
    (filters[type] ??= []).push(value.slice(mark + 1));
  }
  // Plans are rebuilt by the job; building them here turns a bad criterion into a 400 now.
  for (const [resourceType, queries] of Object.entries(filters)) selectionPlans({ resourceType, queries, until: new Date().toISOString() }, baseUrl);
  return filters;
}

/** The `patient` parameter: local Patient references, at the Patient and Group levels only. */
function patientsOf(level: ExportLevel, references: string[], fhirBase: string): string[] | undefined {
  if (references.length === 0) return undefined;
  if (level === 'system') throw new ApiError('INVALID_REQUEST', 'The patient parameter applies to Patient and Group level exports only');
  const ids = references.map((reference) => {
    const target = parseReference(reference, fhirBase);
    if (target.targetType !== 'Patient' || target.targetId === null) throw new ApiError('INVALID_REQUEST', 'patient: each value must reference a Patient of this server');
    return target.targetId;
  });
  return [...new Set(ids)].sort();
}

