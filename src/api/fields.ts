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
