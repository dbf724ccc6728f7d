import { invalidIssue, validationError } from '../../errors.js';
import { CODEABLE_CONCEPT_SCHEMA, concepts, conceptText, contactPoint, element, known, PERIOD_SCHEMA, pickDefined, reference, replaceFirst, setOrDelete, text } from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/practitioner-roles ↔ FHIR PractitionerRole (contract §3.3). */

const ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/practitioner-role';
/** The contract's roles that R4's practitioner-role code system has; other roles are kept as text. */
const ROLES: Record<string, string> = { doctor: 'Doctor', nurse: 'Nurse', pharmacist: 'Pharmacist', researcher: 'Researcher', teacher: 'Teacher/educator', ict: 'ICT professional' };
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** `HH:mm` ([PAGES]) or `HH:mm:ss` ([SDK]); stored and read back as R4 `time`, `HH:mm:ss`. */
const TIME_SCHEMA: JsonSchema = { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d)?$' };
const withSeconds = (time: string): string => (time.length === 5 ? `${time}:00` : time);
const DAYS_SCHEMA: JsonSchema = { type: 'array', minItems: 1, maxItems: 7, uniqueItems: true, items: { type: 'string', enum: DAYS } };

/**
 * Several fields own the same FHIR element (`status` and `active`; the legacy availability fields
 * and `availableTime[0]`). The resource object lives for one request, so what each field wrote is
 * remembered per resource: a second field writing a different value is a 422, in either order.
 */
const writtenInRequest = new WeakMap<FhirObject, Map<string, { field: string; value: string | undefined }>>();
function agreeWithinRequest(resource: FhirObject, target: string, field: string, value: unknown): void {
  const writes = writtenInRequest.get(resource) ?? new Map<string, { field: string; value: string | undefined }>();
  writtenInRequest.set(resource, writes);
  const serialized = JSON.stringify(value);
  const earlier = writes.get(target);
  if (earlier && earlier.field !== field && earlier.value !== serialized) throw validationError([invalidIssue(field, `Must agree with ${earlier.field}`)]);
  writes.set(target, { field, value: serialized });
}

/** `code[0]`: a known practitioner-role code as a coding, anything else as text; read back as the code or the text. */
const role: FieldMapping = {
  schema: text(100),
  write: (resource, value) => {
    if (value === undefined) return replaceFirst(resource, 'code', undefined);
    const code = String(value);
    const display = known(ROLES, code);
    replaceFirst(resource, 'code', display ? { coding: [{ system: ROLE_SYSTEM, code, display }] } : { text: code });
  },
  read: (resource) => {
    const concept: FhirObject | undefined = resource.code?.[0];
    return concept?.coding?.find((coding: FhirObject) => coding.system === ROLE_SYSTEM && coding.code)?.code ?? conceptText(concept);
  },
};

/** `active` (SDK) and `status: active | inactive` ([PAGES]) both own `active`; both are read back. Update only: create sets `active: true`. */
function activeField(name: string, schema: JsonSchema, toActive: (value: Json) => boolean, fromActive: (active: boolean) => Json): FieldMapping {
  return {
    schema,
    updateOnly: true,
    write: (resource, value) => {
      const active = value === undefined ? undefined : toActive(value);
      agreeWithinRequest(resource, 'active', name, active);
      setOrDelete(resource, 'active', active);
    },
    read: (resource) => (typeof resource.active === 'boolean' ? fromActive(resource.active) : undefined),
  };
}

/** `specialty[]`: items are CodeableConcept inputs; a single one (the [PAGES] `{code, display}` object) is taken as a one-item list. */
const specialtyList = concepts('specialty', 20);
const specialty: FieldMapping = {
  ...specialtyList,
  schema: { anyOf: [specialtyList.schema, CODEABLE_CONCEPT_SCHEMA] },
  write: (resource, value) => specialtyList.write(resource, value === undefined || Array.isArray(value) ? value : [value]),
};

/** A display-only Reference (the contract gives names, not ids). */
function displayReference(name: string, list: boolean): FieldMapping {
  return {
    schema: text(200),
    write: (resource, value) => {
      const ref = value === undefined ? undefined : { display: value };
      if (list) replaceFirst(resource, name, ref);
      else setOrDelete(resource, name, ref);
    },
    read: (resource) => (list ? resource[name]?.[0] : resource[name])?.display,
  };
}

const AVAILABLE_TIME_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { daysOfWeek: DAYS_SCHEMA, allDay: { type: 'boolean' }, availableStartTime: TIME_SCHEMA, availableEndTime: TIME_SCHEMA },
};
function availableTimeToFhir(item: FhirObject): FhirObject {
  return pickDefined({
    daysOfWeek: item.daysOfWeek,
    allDay: item.allDay,
    availableStartTime: item.availableStartTime === undefined ? undefined : withSeconds(item.availableStartTime),
    availableEndTime: item.availableEndTime === undefined ? undefined : withSeconds(item.availableEndTime),
  });
}

/** The legacy flat fields and the element of `availableTime[0]` each one stands for. */
const LEGACY_AVAILABILITY = { availableDays: 'daysOfWeek', availableStartTime: 'availableStartTime', availableEndTime: 'availableEndTime' } as const;

const availableTime: FieldMapping = {
  schema: { type: 'array', maxItems: 20, items: AVAILABLE_TIME_SCHEMA },
  write: (resource, value) => {
    const items = (value as FhirObject[] | undefined)?.map(availableTimeToFhir);
    for (const target of Object.values(LEGACY_AVAILABILITY)) agreeWithinRequest(resource, `availableTime.0.${target}`, 'availableTime', items?.[0]?.[target]);
    setOrDelete(resource, 'availableTime', items);
  },
  read: (resource) => {
    const items = (resource.availableTime as FhirObject[] | undefined)?.map(availableTimeToFhir).filter((item) => Object.keys(item).length > 0);
    return items?.length ? (items as Json[]) : undefined;
  },
};

/** A legacy availability field: one element of `availableTime[0]`, the rest of that entry (and the other entries) kept. */
function legacyAvailability(name: keyof typeof LEGACY_AVAILABILITY, schema: JsonSchema): FieldMapping {
  const target = LEGACY_AVAILABILITY[name];
  return {
    schema,
    write: (resource, value) => {
      const stored = value === undefined || Array.isArray(value) ? value : withSeconds(String(value));
      agreeWithinRequest(resource, `availableTime.0.${target}`, name, stored);
      const first: FhirObject = { ...resource.availableTime?.[0] };
      setOrDelete(first, target, stored);
      replaceFirst(resource, 'availableTime', Object.keys(first).length ? first : undefined);
    },
    read: (resource) => {
      const stored = resource.availableTime?.[0]?.[target];
      return Array.isArray(stored) && stored.length === 0 ? undefined : (stored as Json | undefined);
    },
  };
}

/** `{start?, end?}`, or nothing when both are absent. */
function periodToFhir(period: FhirObject | undefined): FhirObject | undefined {
  const value = period && pickDefined({ start: period.start, end: period.end });
  return value && Object.keys(value).length ? value : undefined;
}

const notAvailable: FieldMapping = {
  schema: {
    type: 'array',
    maxItems: 20,
    items: { type: 'object', additionalProperties: false, required: ['description'], properties: { description: text(500), during: PERIOD_SCHEMA } },
  },
  write: (resource, value) => setOrDelete(resource, 'notAvailable', (value as FhirObject[] | undefined)?.map((item) => pickDefined({ description: item.description, during: periodToFhir(item.during) }))),
  read: (resource) => {
    const items = (resource.notAvailable as FhirObject[] | undefined)
      ?.filter((item) => typeof item.description === 'string')
      .map((item) => pickDefined({ description: item.description, during: periodToFhir(item.during) }) as Json);
    return items?.length ? items : undefined;
  },
};

const period: FieldMapping = {
  schema: { ...PERIOD_SCHEMA, minProperties: 1 },
  write: (resource, value) => setOrDelete(resource, 'period', periodToFhir(value as FhirObject | undefined)),
  read: (resource) => periodToFhir(resource.period) as Json | undefined,
};

export const practitionerRoles: SimplifiedResource = {
  path: 'practitioner-roles',
  fhirType: 'PractitionerRole',
  required: ['practitionerId', 'role'],
  fields: {
    practitionerId: reference('practitioner', 'Practitioner', { createOnly: true }),
    role,
    organizationName: displayReference('organization', false),
    specialty,
    locationName: displayReference('location', true),
    phone: contactPoint('phone', text(20)),
    email: contactPoint('email', { type: 'string', format: 'email', maxLength: 254 }),
    period,
    availableTime,
    availableDays: legacyAvailability('availableDays', DAYS_SCHEMA),
    availableStartTime: legacyAvailability('availableStartTime', TIME_SCHEMA),
    availableEndTime: legacyAvailability('availableEndTime', TIME_SCHEMA),
    notAvailable,
    availabilityExceptions: element('availabilityExceptions', text(1000)),
    active: activeField('active', { type: 'boolean' }, (value) => value === true, (active) => active),
    status: activeField('status', { type: 'string', enum: ['active', 'inactive'] }, (value) => value === 'active', (active) => (active ? 'active' : 'inactive')),
  },
  initial: () => ({ active: true }),
  filters: {
    practitionerId: { param: 'practitioner', valuePrefix: 'Practitioner/' },
    // Case-insensitive, on the start of a specialty's text or a coding's display.
    specialty: { param: 'specialty', modifier: 'text' },
    // The custom `status` token (PractitionerRole-status): active → active=true, inactive → active=false.
    status: { param: 'status' },
    // PractitionerRole has no patient: the SDK's generic patientId is ignored. Dates: roles whose period overlaps the range.
    ...dateRangeFilters('date'),
  },
  sorts: { 'period.start': 'date', updatedAt: '_lastUpdated' },
};
