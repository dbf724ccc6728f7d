import type { Resource } from '@medplum/fhirtypes';
import { ApiError, invalidIssue, validationError } from '../errors.js';
import type { FhirRepository, RequestContext, ResourceVersion } from '../fhir/repository.js';
import { DEFAULT_COUNT, MAX_COUNT, type FhirSearch, type SearchPage } from '../fhir/search/service.js';
import { isFhirId } from '../ids.js';
import type { CompiledResource, FhirObject, Json, SimplifiedResource } from './simplified-resource.js';

export type Simplified = Record<string, Json | undefined>;

export interface ListResult {
  data: Simplified[];
  total?: number;
  cursor: string | null;
  hasMore: boolean;
}

/** Include values: Type, Type:param (as the SDK validates them) or the FHIR Type:param:Target. */
const INCLUDE_VALUE = /^[A-Za-z]+(?::[A-Za-z-]+(?::[A-Za-z]+)?)?$/;

/**
 * The simplified API on top of the FHIR repository: validates flat JSON, maps it onto FHIR
 * resources field by field, and projects stored resources back to the flat shape.
 */
export class SimplifiedService {
  constructor(private readonly repository: FhirRepository, private readonly search: FhirSearch) {}

  async create(ctx: RequestContext, resource: CompiledResource, body: unknown): Promise<Simplified> {
    return project(resource, await this.repository.create(ctx, toFhirResource(resource, body)));
  }

  async read(ctx: RequestContext, resource: CompiledResource, id: string): Promise<Simplified> {
    return project(resource, await this.current(ctx, resource, id));
  }

  /** Partial merge of simplified fields: objects and arrays replace the stored ones whole. */
  async update(ctx: RequestContext, resource: CompiledResource, id: string, body: unknown, ifMatch?: number): Promise<Simplified> {
    assertId(id);
    const changes = resource.checkUpdate(body);
    const { definition } = resource;
    const version = await this.repository
      .modify(ctx, definition.fhirType, id, (current) => {
        const next = current as FhirObject;
        writeFields(definition, next, changes);
        return next as Resource;
      }, { ifMatch })
      .catch(goneAsNotFound);
    return project(resource, version);
  }

  async delete(ctx: RequestContext, resource: CompiledResource, id: string): Promise<void> {
    assertId(id);
    await this.repository.delete(ctx, resource.definition.fhirType, id);
  }

  async list(ctx: RequestContext, resource: CompiledResource, query: Record<string, unknown>): Promise<ListResult> {
    const fhirQuery = toFhirQuery(resource.definition, query);
    const page: SearchPage = await this.search.search(ctx, resource.definition.fhirType, fhirQuery, {
      count: clampCount(query.count),
      cursor: asStrings(query.cursor)[0],
      defaultSort: 'created',
    });
    return {
      data: page.versions.map((version) => project(resource, version)),
      ...(page.total !== undefined ? { total: page.total } : {}),
      cursor: page.nextCursor ?? null,
      hasMore: page.nextCursor !== undefined,
    };
  }

  /** A read with `_include` and/or `_revinclude`: the resource and its related resources, as a searchset Bundle. */
  async readWithRelated(ctx: RequestContext, resource: CompiledResource, id: string, related: { include: string[]; revinclude: string[] }, baseUrl: string): Promise<unknown> {
    const { definition } = resource;
    if (related.include.length > 0 && !definition.include) throw new ApiError('INVALID_REQUEST', '_include is not supported on this resource');
    if (related.revinclude.length > 0 && !definition.revinclude) throw new ApiError('INVALID_REQUEST', '_revinclude is not supported on this resource');
    for (const value of [...related.include, ...related.revinclude]) {
      if (!INCLUDE_VALUE.test(value)) throw new ApiError('INVALID_REQUEST', '_include and _revinclude values look like Type or Type:param');
    }
    const version = await this.current(ctx, resource, id);
    return this.search.relatedBundle(ctx, version, related, baseUrl);
  }

  private async current(ctx: RequestContext, resource: CompiledResource, id: string): Promise<ResourceVersion> {
    assertId(id);
    return this.repository.read(ctx, resource.definition.fhirType, id).catch(goneAsNotFound);
  }
}

/**
 * A create body as the FHIR resource it maps to (not yet stored); throws VALIDATION_ERROR.
 * Shared by create and bulk import, so both accept and map records identically.
 */
export function toFhirResource(resource: CompiledResource, body: unknown): Resource {
  const input = resource.checkCreate(body);
  const { definition } = resource;
  const fhir: FhirObject = { resourceType: definition.fhirType, ...definition.initial?.() };
  writeFields(definition, fhir, input);
  return fhir as Resource;
}

/** Writes each given field into the FHIR resource, then lets the resource finish the whole. */
function writeFields(definition: SimplifiedResource, fhir: FhirObject, input: Record<string, Json>): void {
  for (const group of definition.exclusive ?? []) {
    const [first, second] = Object.keys(input).filter((name) => group.includes(name));
    if (second) throw validationError([invalidIssue(second, `Only one of ${group.join(', ')} may be given (${first} is too)`)]);
  }
  for (const [name, value] of Object.entries(input)) definition.fields[name].write(fhir, value);
  definition.finish?.(fhir, new Set(Object.keys(input)));
}

/** The flat projection: id, the derived fields, every mapped field present, and timestamps. */
export function project(resource: CompiledResource, version: ResourceVersion): Simplified {
  const { definition } = resource;
  const fhir = JSON.parse(version.content) as FhirObject;
  const output: Simplified = { id: version.id, ...definition.derived?.(fhir) };
  for (const [name, field] of Object.entries(definition.fields)) output[name] = field.read(fhir);
  output.createdAt = version.createdAt;
  output.updatedAt = version.lastUpdated;
  return Object.fromEntries(Object.entries(output).filter(([, value]) => value !== undefined));
}

/** On the simplified API a malformed id is simply not found. */
function assertId(id: string): void {
  if (!isFhirId(id)) throw new ApiError('NOT_FOUND', 'Resource not found');
}

/** Deleted resources answer 404 on the simplified API (410 is for the FHIR API). */
function goneAsNotFound(error: unknown): never {
  if (error instanceof ApiError && error.code === 'GONE') throw new ApiError('NOT_FOUND', 'Resource not found');
  throw error;
}

/**
 * The simplified query as a FHIR query: each filter becomes its search parameter (values of one
 * parameter are ANDed, as FHIR does with repeated parameters), `sort` becomes `_sort`.
 */
export function toFhirQuery(definition: SimplifiedResource, query: Record<string, unknown>): Record<string, string[]> {
  const fhirQuery: Record<string, string[]> = {};
  for (const [name, filter] of Object.entries(definition.filters)) {
    const given = asStrings(query[name]);
    const values = given.length > 0 ? given : asStrings(definition.defaultFilters?.[name]);
    if (values.length === 0) continue;
    const key = filter.modifier ? `${filter.param}:${filter.modifier}` : filter.param;
    (fhirQuery[key] ??= []).push(...values.map((value) => `${filter.valuePrefix ?? ''}${value}`));
  }
  const sort = asStrings(query.sort)[0] ?? definition.defaultSort;
  if (sort) {
    const descending = sort.startsWith('-');
    const param = definition.sorts?.[descending ? sort.slice(1) : sort];
    if (!param) throw new ApiError('INVALID_REQUEST', `sort takes one of: ${Object.keys(definition.sorts ?? {}).join(', ') || '(none)'}, with - for descending`);
    fhirQuery._sort = [`${descending ? '-' : ''}${param}`];
  }
  return fhirQuery;
}

/** count is clamped, never rejected: above 100 means 100; missing, zero, negative or junk means 20. */
export function clampCount(value: unknown): number {
  const count = Number(asStrings(value)[0]);
  if (!Number.isInteger(count) || count <= 0) return DEFAULT_COUNT;
  return Math.min(count, MAX_COUNT);
}

function asStrings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string' && item !== '');
}
