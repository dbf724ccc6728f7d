import { checkBody, compileSchema } from '../validation.js';

/** A JSON value in the simplified (flat) shape. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
/** A FHIR resource being read or built by a mapping: a loose object on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FhirObject = Record<string, any>;
export type JsonSchema = Record<string, unknown>;

/**
 * One simplified field and how it maps onto the FHIR resource, both ways. `write` changes only
 * the elements this field owns, so a PATCH leaves everything else in the resource as it was —
 * including data that only the FHIR API can set.
 */
export interface FieldMapping {
  schema: JsonSchema;
  /** Sets the field's FHIR elements; `undefined` removes them. */
  write(resource: FhirObject, value: Json | undefined): void;
  read(resource: FhirObject): Json | undefined;
  /** Set on create and never changed (e.g. the patient a record belongs to): a PATCH naming it is a 422. */
  createOnly?: boolean;
  /** Accepted on update only (e.g. `active`, which create sets itself). */
  updateOnly?: boolean;
}

/** A simplified search filter: the FHIR search parameter (and modifier) it compiles to. */
export interface SearchFilter {
  param: string;
  modifier?: string;
  /** Put before the client's value: a comparison prefix (`ge`), a type (`Patient/`) or a system (`http://…|`). */
  valuePrefix?: string;
}

/** `dateFrom` / `dateTo` (`YYYY-MM-DD`, inclusive: on or after / on or before, contract §2.5) on a date search parameter. */
export function dateRangeFilters(param: string): Record<'dateFrom' | 'dateTo', SearchFilter> {
  return { dateFrom: { param, valuePrefix: 'ge' }, dateTo: { param, valuePrefix: 'le' } };
}

/** The declaration of one /v1/{path} resource: schema, mapping both ways, search filters. */
export interface SimplifiedResource {
  path: string;
  fhirType: string;
  fields: Record<string, FieldMapping>;
  required: string[];
  filters: Record<string, SearchFilter>;
  /** Filter values applied when the client does not give that filter (inactive practitioners are hidden by default). */
  defaultFilters?: Record<string, string>;
  /** What `sort=field` / `sort=-field` may name: simplified field → FHIR search parameter. */
  sorts?: Record<string, string>;
  /** The `sort` used when the client gives none (a key of `sorts`); without it, newest created first. */
  defaultSort?: string;
  /** Elements a new resource starts with, before the fields are written. */
  initial?(): FhirObject;
  /**
   * Groups of fields one request may give at most one of: the fields that share a FHIR choice
   * element such as value[x]. Writing any of them replaces the element.
   */
  exclusive?: string[][];
  /**
   * Runs after the fields of a create or PATCH are written, with the names of those fields:
   * derives elements that depend on several fields and checks rules that span them (throws
   * VALIDATION_ERROR). A single field's write sees only its own value.
   */
  finish?(resource: FhirObject, written: ReadonlySet<string>): void;
  /** Output-only fields derived from the resource (e.g. a patient's fullName). */
  derived?(resource: FhirObject): Record<string, Json | undefined>;
  /** Whether reads accept _include / _revinclude (and then return a searchset Bundle). */
  include?: boolean;
  revinclude?: boolean;
}

export interface CompiledResource {
  definition: SimplifiedResource;
  /** Checks a create body; throws VALIDATION_ERROR with issues. */
  checkCreate(body: unknown): Record<string, Json>;
  checkUpdate(body: unknown): Record<string, Json>;
}

export function compileResource(definition: SimplifiedResource): CompiledResource {
  const entries = Object.entries(definition.fields);
  const createSchema = objectSchema(entries.filter(([, field]) => !field.updateOnly), definition.required);
  const validateCreate = compileSchema(createSchema);
  const validateUpdate = compileSchema(updateSchema(entries));
  return {
    definition,
    checkCreate: (body) => checkBody<Record<string, Json>>(validateCreate, body),
    checkUpdate: (body) => checkBody<Record<string, Json>>(validateUpdate, body),
  };
}

function objectSchema(entries: Array<[string, FieldMapping]>, required: string[]): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(entries.map(([name, field]) => [name, field.schema])),
    required,
  };
}

/** The update schema: every field but the create-only ones, which are refused by name. */
function updateSchema(entries: Array<[string, FieldMapping]>): JsonSchema {
  const schema = objectSchema(entries.filter(([, field]) => !field.createOnly), []);
  const immutable = entries.filter(([, field]) => field.createOnly).map(([name]) => [name, IMMUTABLE]);
  return { ...schema, properties: { ...(schema.properties as JsonSchema), ...Object.fromEntries(immutable) } };
}

/** Matches nothing; the validator reports it as "Cannot be changed". */
const IMMUTABLE: JsonSchema = { not: {} };
