import type { FhirObject, FieldMapping, Json, JsonSchema } from './simplified-resource.js';

/**
 * Building blocks for simplified field mappings, shared by the resource files. Each returns a
 * FieldMapping that owns a precise part of the FHIR resource.
 */

export const text = (maxLength: number, extra: JsonSchema = {}): JsonSchema => ({ type: 'string', minLength: 1, maxLength, ...extra });

export const ADDRESS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    line: { type: 'array', maxItems: 10, items: text(200) },
    city: text(100),
    state: text(100),
    postalCode: text(20),
    country: text(100),
  },
};

/** A top-level element copied as is (gender, birthDate, active…). */
export function element(name: string, schema: JsonSchema, options: Partial<FieldMapping> = {}): FieldMapping {
  return {
    schema,
    write: (resource, value) => setOrDelete(resource, name, value),
    read: (resource) => resource[name] as Json | undefined,
    ...options,
  };
}

/** The first ContactPoint of a system (email, phone) in an element such as `telecom`. */
export function contactPoint(system: 'email' | 'phone', schema: JsonSchema): FieldMapping {
  return {
    schema,
    write: (resource, value) => {
      const telecom: FhirObject[] = (resource.telecom ?? []).filter((point: FhirObject) => point.system !== system);
      if (value !== undefined) {
        const existing = (resource.telecom ?? []).find((point: FhirObject) => point.system === system);
        telecom.push({ ...existing, system, value });
      }
      setOrDelete(resource, 'telecom', telecom.length ? telecom : undefined);
    },
    read: (resource) => (resource.telecom ?? []).find((point: FhirObject) => point.system === system)?.value,
  };
}

export function addressToFhir(address: FhirObject): FhirObject {
  return pickDefined({ line: address.line, city: address.city, state: address.state, postalCode: address.postalCode, country: address.country });
}

export function addressFromFhir(address: FhirObject | undefined): Json | undefined {
  if (!address) return undefined;
  return pickDefined({ line: address.line, city: address.city, state: address.state, postalCode: address.postalCode, country: address.country }) as Json;
}

/** `address[0]`, replaced whole on update. */
export function firstAddress(): FieldMapping {
  return {
    schema: ADDRESS_SCHEMA,
    write: (resource, value) => replaceFirst(resource, 'address', value === undefined ? undefined : addressToFhir(value as FhirObject)),
    read: (resource) => addressFromFhir(resource.address?.[0]),
  };
}

/** A Reference element (or the first of a list) to `targetType/<id>`, exposed as the bare id. */
export function reference(name: string, targetType: string, options: { list?: boolean } & Partial<FieldMapping> = {}): FieldMapping {
  const { list, ...rest } = options;
  const prefix = `${targetType}/`;
  return {
    schema: { type: 'string', format: 'reference-id' },
    write: (resource, value) => {
      const ref = value === undefined ? undefined : { reference: `${prefix}${String(value)}` };
      if (list) replaceFirst(resource, name, ref);
      else setOrDelete(resource, name, ref);
    },
    read: (resource) => {
      const ref: string | undefined = (list ? resource[name]?.[0] : resource[name])?.reference;
      return ref?.startsWith(prefix) ? ref.slice(prefix.length) : undefined;
    },
    ...rest,
  };
}

/** A list of at most `maxItems` objects with exactly these properties (no others). */
export function objectList(maxItems: number, required: string[], properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'array', maxItems, items: { type: 'object', additionalProperties: false, required, properties } };
}

export interface TypedIds {
  schema: JsonSchema;
  toFhir(id: string): FhirObject;
  /** The id, or undefined when the reference is not a relative reference to one of the types. */
  fromFhir(ref: FhirObject | undefined): string | undefined;
}

/**
 * Ids of a Reference(A | B | …): a bare id is of `defaultType` (the first type unless given),
 * `Type/id` names any of the types. Canonical output: the bare id for the default type, `Type/id`
 * for the others.
 */
export function typedIds(types: string[], defaultType = types[0]): TypedIds {
  return {
    schema: { type: 'string', pattern: `^((${types.join('|')})/)?[A-Za-z0-9\\-_.]{1,128}$` },
    toFhir: (id) => ({ reference: id.includes('/') ? id : `${defaultType}/${id}` }),
    fromFhir: (ref) => {
      const [type, id, ...rest] = String(ref?.reference ?? '').split('/');
      if (rest.length > 0 || !id || !types.includes(type)) return undefined;
      return type === defaultType ? id : `${type}/${id}`;
    },
  };
}

/** A Reference (or the first of a list, with `list`) to one of `types`, as a typed id. */
export function typedReference(name: string, types: string[], options: { list?: boolean; defaultType?: string } = {}): FieldMapping {
  const ids = typedIds(types, options.defaultType);
  return {
    schema: ids.schema,
    write: (resource, value) => {
      const ref = value === undefined ? undefined : ids.toFhir(String(value));
      if (options.list) replaceFirst(resource, name, ref);
      else setOrDelete(resource, name, ref);
    },
    read: (resource) => ids.fromFhir(options.list ? resource[name]?.[0] : resource[name]),
  };
}

/** A list of typed ids; references to other types (or contained ones) are not shown and are dropped by a write. */
export function typedReferences(name: string, types: string[], maxItems: number): FieldMapping {
  const ids = typedIds(types);
  return {
    schema: { type: 'array', maxItems, items: ids.schema },
    write: (resource, value) => setOrDelete(resource, name, (value as string[] | undefined)?.map(ids.toFhir)),
    read: (resource) => {
      const values = ((resource[name] ?? []) as FhirObject[]).map(ids.fromFhir).filter((id): id is string => id !== undefined);
      return values.length ? values : undefined;
    },
  };
}

const LOINC = 'http://loinc.org';

/**
 * A document or note type given as a slug. A slug with a LOINC code is stored as that coding, and
 * the slug itself is always kept as a coding of `slugSystem`, so that the `type` filter is a plain
 * token search. Read: the slug coding, else the slug of a known LOINC code, else (with
 * `freeText`, for types not limited to the slugs) the concept's text.
 */
export function slugType(slugSystem: string, loincCodes: Readonly<Record<string, { code: string; display: string }>>, schema: JsonSchema, options: { freeText?: boolean } = {}): FieldMapping {
  return {
    schema,
    write: (resource, value) => {
      if (value === undefined) return setOrDelete(resource, 'type', undefined);
      const loinc = known(loincCodes, String(value));
      resource.type = { coding: [...(loinc ? [{ system: LOINC, ...loinc }] : []), { system: slugSystem, code: value }] };
    },
    read: (resource) => {
      const codings: FhirObject[] = resource.type?.coding ?? [];
      const slug = codings.find((coding) => coding.system === slugSystem)?.code;
      if (slug) return slug;
      const loinc = codings.find((coding) => coding.system === LOINC)?.code;
      const fromLoinc = Object.entries(loincCodes).find(([, coding]) => coding.code === loinc)?.[0];
      return fromLoinc ?? (options.freeText ? conceptText(resource.type) : undefined);
    },
  };
}

/**
 * `relatesTo[]` `{code, targetId}` of a document-like resource: the target is a reference to the
 * same type, in `targetElement` (`target` on DocumentReference, `targetReference` on Composition).
 * Targets given otherwise (by identifier) are not projected. Replaced whole.
 */
export function relatesTo(targetElement: string, targetType: string): FieldMapping {
  const prefix = `${targetType}/`;
  return {
    schema: objectList(20, ['code', 'targetId'], { code: { type: 'string', enum: ['replaces', 'transforms', 'signs', 'appends'] }, targetId: { type: 'string', format: 'reference-id' } }),
    write: (resource, value) =>
      setOrDelete(resource, 'relatesTo', (value as FhirObject[] | undefined)?.map((item) => ({ code: item.code, [targetElement]: { reference: `${prefix}${String(item.targetId)}` } }))),
    read: (resource) => {
      const items = (resource.relatesTo as FhirObject[] | undefined)
        ?.filter((item) => typeof item[targetElement]?.reference === 'string' && item[targetElement].reference.startsWith(prefix))
        .map((item) => pickDefined({ code: item.code, targetId: item[targetElement].reference.slice(prefix.length) }) as Json);
      return items?.length ? items : undefined;
    },
  };
}

export function setOrDelete(target: FhirObject, name: string, value: unknown): void {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) delete target[name];
  else target[name] = value;
}

/** Replaces (or removes) the first item of a list element, keeping the others. */
export function replaceFirst(resource: FhirObject, name: string, value: unknown): void {
  const rest: unknown[] = (resource[name] ?? []).slice(1);
  setOrDelete(resource, name, value === undefined ? rest : [value, ...rest]);
}

export function pickDefined(object: FhirObject): FhirObject {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

/** The name the simplified fields own: the official one, else the first. */
export function primaryName(resource: FhirObject, create = false): FhirObject | undefined {
  const names: FhirObject[] = resource.name ?? [];
  const found = names.find((name) => name.use === 'official') ?? names[0];
  if (found || !create) return found;
  const name = {};
  resource.name = [name];
  return name;
}

/** The first given name of the primary name. */
export const givenName = (): FieldMapping => ({
  schema: text(100),
  write: (resource, value) => {
    const name = primaryName(resource, value !== undefined);
    if (!name) return;
    const given: string[] = name.given ?? [];
    setOrDelete(name, 'given', value === undefined ? given.slice(1) : [String(value), ...given.slice(1)]);
  },
  read: (resource) => primaryName(resource)?.given?.[0],
});

/** The family name of the primary name. */
export const familyName = (): FieldMapping => ({
  schema: text(100),
  write: (resource, value) => {
    const name = primaryName(resource, value !== undefined);
    if (name) setOrDelete(name, 'family', value);
  },
  read: (resource) => primaryName(resource)?.family,
});

/** `photo[0]`, an Attachment given as {url, data, contentType}. */
export const photo = (): FieldMapping => ({
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { url: { type: 'string', format: 'uri', maxLength: 2048 }, data: { type: 'string', format: 'base64' }, contentType: text(100) },
  },
  write: (resource, value) => {
    const attachment = value as FhirObject | undefined;
    setOrDelete(resource, 'photo', attachment && [pickDefined({ contentType: attachment.contentType, url: attachment.url, data: attachment.data })]);
  },
  read: (resource) => {
    const attachment = resource.photo?.[0];
    return attachment && (pickDefined({ url: attachment.url, data: attachment.data, contentType: attachment.contentType }) as Json);
  },
});

/** The display name: the name's text, else its parts in reading order. */
export function fullName(resource: FhirObject): string {
  const name = primaryName(resource);
  if (!name) return '';
  if (name.text) return name.text;
  return [...(name.prefix ?? []), ...(name.given ?? []), name.family, ...(name.suffix ?? [])].filter(Boolean).join(' ');
}

const BCP47 = /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/;

/** A language: a BCP-47 tag becomes a coding, anything else (a display name) the concept's text. */
export function languageToFhir(language: string): FhirObject {
  return BCP47.test(language) ? { coding: [{ system: 'urn:ietf:bcp:47', code: language }] } : { text: language };
}

export function languageFromFhir(concept: FhirObject | undefined): string | undefined {
  return concept?.coding?.[0]?.code ?? concept?.text;
}

/**
 * CodeableConcept input: a plain string (free text) or `{system?, code, display?}`. Canonical
 * output: a concept that is text only comes back as the string, one with a coding as the object
 * of its first coding — so both input forms round-trip unchanged.
 */
/** A FHIR code: no leading, trailing or double whitespace (the R4 validator refuses it otherwise). */
export const CODE_SCHEMA: JsonSchema = text(200, { pattern: '^\\S+( \\S+)*$' });
/** A Coding as the simplified API takes it: `{system?, code, display?}`. */
export const CODING_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['code'],
  properties: { system: { type: 'string', format: 'uri', maxLength: 500 }, code: CODE_SCHEMA, display: text(500) },
};
export const CODEABLE_CONCEPT_SCHEMA: JsonSchema = { anyOf: [text(500), CODING_SCHEMA] };

export function conceptToFhir(value: Json): FhirObject {
  if (typeof value === 'string') return { text: value };
  const coding = value as FhirObject;
  return { coding: [pickDefined({ system: coding.system, code: coding.code, display: coding.display })] };
}

export function conceptFromFhir(concept: FhirObject | undefined): Json | undefined {
  if (!concept) return undefined;
  const coding = concept.coding?.find((c: FhirObject) => c.code);
  if (coding) return pickDefined({ system: coding.system, code: coding.code, display: coding.display }) as Json;
  return concept.text;
}

/** A CodeableConcept element, or the first of a list element. */
export function codeableConcept(name: string, options: { list?: boolean } & Partial<FieldMapping> = {}): FieldMapping {
  const { list, ...rest } = options;
  return {
    schema: CODEABLE_CONCEPT_SCHEMA,
    write: (resource, value) => {
      const concept = value === undefined ? undefined : conceptToFhir(value);
      if (list) replaceFirst(resource, name, concept);
      else setOrDelete(resource, name, concept);
    },
    read: (resource) => conceptFromFhir(list ? resource[name]?.[0] : resource[name]),
    ...rest,
  };
}

/** A FHIR dateTime: `2024`, `2024-03`, `2024-03-15`, or `2024-03-15T09:30:00Z` (a zone is required with a time). */
export const DATE_TIME_SCHEMA: JsonSchema = { type: 'string', format: 'fhir-date-time' };
export const PERIOD_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { start: DATE_TIME_SCHEMA, end: DATE_TIME_SCHEMA },
};

/** A list of references to `targetType`, exposed as an array of bare ids. */
export function references(name: string, targetType: string, maxItems = 50, options: Partial<FieldMapping> = {}): FieldMapping {
  const prefix = `${targetType}/`;
  return {
    schema: { type: 'array', maxItems, items: { type: 'string', format: 'reference-id' } },
    write: (resource, value) => setOrDelete(resource, name, (value as string[] | undefined)?.map((id) => ({ reference: `${prefix}${id}` }))),
    read: (resource) => {
      const ids = (resource[name] as FhirObject[] | undefined)
        ?.map((ref) => ref.reference as string | undefined)
        .filter((ref): ref is string => ref?.startsWith(prefix) === true)
        .map((ref) => ref.slice(prefix.length));
      return ids?.length ? ids : undefined;
    },
    ...options,
  };
}

/** A list of CodeableConcepts, each given as a string or `{system?, code, display?}`. */
export function concepts(name: string, maxItems = 20, options: Partial<FieldMapping> = {}): FieldMapping {
  return {
    schema: { type: 'array', maxItems, items: CODEABLE_CONCEPT_SCHEMA },
    write: (resource, value) => setOrDelete(resource, name, (value as Json[] | undefined)?.map(conceptToFhir)),
    read: (resource) => {
      const values = (resource[name] as FhirObject[] | undefined)?.map(conceptFromFhir).filter((value): value is Json => value !== undefined);
      return values?.length ? values : undefined;
    },
    ...options,
  };
}

/** Free-text notes: the text of the first Annotation in `name` (usually `note`). */
export function annotationText(name = 'note', maxLength = 5000): FieldMapping {
  return {
    schema: text(maxLength),
    write: (resource, value) => replaceFirst(resource, name, value === undefined ? undefined : { text: value }),
    read: (resource) => resource[name]?.[0]?.text,
  };
}

/**
 * A value from a fixed code table, or undefined. Client input is never used as a plain property
 * lookup: `constructor` or `toString` would find Object.prototype's members.
 */
export function known<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A CodeableConcept's text, else a coding's display, else a coding's code. */
export function conceptText(concept: FhirObject | undefined): string | undefined {
  if (!concept) return undefined;
  return concept.text ?? concept.coding?.find((coding: FhirObject) => coding.display)?.display ?? concept.coding?.find((coding: FhirObject) => coding.code)?.code;
}

/** A CodeableConcept element (or the first of a list element) written as its text and read back with `conceptText`. */
export function conceptTextField(name: string, maxLength: number, list = false): FieldMapping {
  return {
    schema: text(maxLength),
    write: (resource, value) => {
      const concept = value === undefined ? undefined : { text: value };
      if (list) replaceFirst(resource, name, concept);
      else setOrDelete(resource, name, concept);
    },
    read: (resource) => conceptText(list ? resource[name]?.[0] : resource[name]),
  };
}
