import { invalidIssue, validationError } from '../../errors.js';
import { conceptText, conceptTextField, DATE_TIME_SCHEMA, element, known, pickDefined, reference, replaceFirst, setOrDelete, text, objectList } from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/encounters ↔ FHIR Encounter (contract §3.4). */

const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CLASSES: Record<string, string> = { AMB: 'ambulatory', IMP: 'inpatient encounter', EMER: 'emergency', HH: 'home health', VR: 'virtual' };
const PARTICIPATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
/** v3-ParticipationType codes a participant's `role` may name; other roles are kept as text. */
const PARTICIPATION_TYPES: Record<string, string> = {
  ADM: 'admitter', ATND: 'attender', CALLBCK: 'callback contact', CON: 'consultant', DIS: 'discharger', ESC: 'escort', REF: 'referrer',
  SPRF: 'secondary performer', PPRF: 'primary performer', PART: 'Participation',
};
const PRIMARY = 'PPRF';
const DIAGNOSIS_ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/diagnosis-role';
const DIAGNOSIS_ROLES: Record<string, string> = {
  AD: 'Admission diagnosis', DD: 'Discharge diagnosis', CC: 'Chief complaint', CM: 'Comorbidity diagnosis', 'pre-op': 'pre-op diagnosis',
  'post-op': 'post-op diagnosis', billing: 'Billing',
};
const UCUM = 'http://unitsofmeasure.org';
const MINUTES_PER_UNIT: Record<string, number> = { s: 1 / 60, min: 1, h: 60, d: 1440, wk: 10080 };

/** A code from a known code system when the input is one of its codes, else free text; read back as the code or the text. */
function codeOrText(system: string, table: Record<string, string>, value: string): FhirObject {
  const display = known(table, value);
  return display ? { coding: [{ system, code: value, display }] } : { text: value };
}
function codeOrTextFromFhir(concept: FhirObject | undefined, system: string): string | undefined {
  if (!concept) return undefined;
  return concept.coding?.find((coding: FhirObject) => coding.system === system && coding.code)?.code ?? concept.text ?? concept.coding?.find((coding: FhirObject) => coding.code)?.code;
}

const encounterClass: FieldMapping = {
  schema: { type: 'string', enum: Object.keys(CLASSES) },
  write: (resource, value) => setOrDelete(resource, 'class', value === undefined ? undefined : { system: ACT_CODE_SYSTEM, code: value, display: known(CLASSES, String(value)) }),
  read: (resource) => resource.class?.code,
};

const isPrimary = (participant: FhirObject): boolean =>
  (participant.type ?? []).some((type: FhirObject) => type.coding?.some((coding: FhirObject) => coding.system === PARTICIPATION_SYSTEM && coding.code === PRIMARY));
const practitionerOf = (participant: FhirObject): string | undefined => {
  const ref: string | undefined = participant.individual?.reference;
  return ref?.startsWith('Practitioner/') ? ref.slice('Practitioner/'.length) : undefined;
};

/** The primary practitioner: the participant typed PPRF (primary performer), kept first in `participant`. */
const practitionerId: FieldMapping = {
  schema: { type: 'string', format: 'reference-id' },
  write: (resource, value) => {
    const others = ((resource.participant ?? []) as FhirObject[]).filter((participant) => !(isPrimary(participant) && practitionerOf(participant)));
    const primary = value === undefined ? [] : [{
      type: [{ coding: [{ system: PARTICIPATION_SYSTEM, code: PRIMARY, display: known(PARTICIPATION_TYPES, PRIMARY) }] }],
      individual: { reference: `Practitioner/${String(value)}` },
    }];
    setOrDelete(resource, 'participant', [...primary, ...others]);
  },
  read: (resource) => {
    const primary = ((resource.participant ?? []) as FhirObject[]).find((participant) => isPrimary(participant) && practitionerOf(participant));
    return primary && practitionerOf(primary);
  },
};

/** The other practitioners taking part: every non-primary participant whose individual is a Practitioner. Replaced whole. */
const participants: FieldMapping = {
  schema: objectList(50, ['practitionerId'], { practitionerId: { type: 'string', format: 'reference-id' }, role: text(100) }),
  write: (resource, value) => {
    const owned = (participant: FhirObject) => !isPrimary(participant) && practitionerOf(participant) !== undefined;
    const kept = ((resource.participant ?? []) as FhirObject[]).filter((participant) => !owned(participant));
    const added = ((value ?? []) as FhirObject[]).map((item) => pickDefined({
      type: item.role === undefined ? undefined : [codeOrText(PARTICIPATION_SYSTEM, PARTICIPATION_TYPES, String(item.role))],
      individual: { reference: `Practitioner/${String(item.practitionerId)}` },
    }));
    setOrDelete(resource, 'participant', [...kept, ...added]);
  },
  read: (resource) => {
    const items = ((resource.participant ?? []) as FhirObject[])
      .filter((participant) => !isPrimary(participant) && practitionerOf(participant) !== undefined)
      .map((participant) => pickDefined({ practitionerId: practitionerOf(participant), role: codeOrTextFromFhir(participant.type?.[0], PARTICIPATION_SYSTEM) }) as Json);
    return items.length ? items : undefined;
  },
};

/** Reasons: one string, or a list (the SDK also sends string[]); read back as a string when there is one, else the list. */
const reasonCode: FieldMapping = {
  schema: { anyOf: [text(500), { type: 'array', minItems: 1, maxItems: 20, items: text(500) }] },
  write: (resource, value) =>
    setOrDelete(resource, 'reasonCode', value === undefined ? undefined : (Array.isArray(value) ? value : [value]).map((reason) => ({ text: reason }))),
  read: (resource) => {
    const reasons = ((resource.reasonCode ?? []) as FhirObject[]).map(conceptText).filter((reason): reason is string => reason !== undefined);
    if (reasons.length === 0) return undefined;
    return reasons.length === 1 ? reasons[0] : reasons;
  },
};

/** The bounds a partial dateTime stands for, in ms ('2024-03' is all of March). */
function lowerBound(value: string): number {
  return Date.parse(value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value);
}
function upperBound(value: string): number {
  if (value.length === 4) return Date.UTC(Number(value) + 1, 0, 1) - 1;
  if (value.length === 7) return Date.UTC(Number(value.slice(0, 4)), Number(value.slice(5, 7)), 1) - 1;
  if (value.length === 10) return Date.parse(value) + 86_400_000 - 1;
  return Date.parse(value);
}

const period: FieldMapping = {
  schema: { type: 'object', additionalProperties: false, minProperties: 1, properties: { start: DATE_TIME_SCHEMA, end: DATE_TIME_SCHEMA } },
  write: (resource, value) => {
    const range = value as FhirObject | undefined;
    // per-1: the start is not after the end.
    if (range?.start && range.end && upperBound(String(range.end)) < lowerBound(String(range.start))) {
      throw validationError([invalidIssue('period.end', 'Must not be before period.start')]);
    }
    setOrDelete(resource, 'period', range && pickDefined({ start: range.start, end: range.end }));
  },
  read: (resource) => {
    const output = pickDefined({ start: resource.period?.start, end: resource.period?.end });
    return Object.keys(output).length ? (output as Json) : undefined;
  },
};

/** `length` as a UCUM duration in minutes; other time units are converted on read. */
const lengthMinutes: FieldMapping = {
  schema: { type: 'integer', minimum: 0, maximum: 10080 },
  write: (resource, value) => setOrDelete(resource, 'length', value === undefined ? undefined : { value, unit: 'min', system: UCUM, code: 'min' }),
  read: (resource) => {
    const length = resource.length;
    if (typeof length?.value !== 'number') return undefined;
    const factor = known(MINUTES_PER_UNIT, length.code ?? length.unit ?? 'min') ?? (/^min/.test(length.unit ?? '') ? 1 : undefined);
    return factor === undefined ? undefined : Math.round(length.value * factor * 1000) / 1000;
  },
};

const location: FieldMapping = {
  schema: text(200),
  write: (resource, value) => replaceFirst(resource, 'location', value === undefined ? undefined : { location: { display: value } }),
  read: (resource) => resource.location?.[0]?.location?.display,
};

const diagnosis: FieldMapping = {
  schema: objectList(20, ['condition'], { condition: text(500), use: text(50), rank: { type: 'integer', minimum: 1 } }),
  write: (resource, value) =>
    setOrDelete(resource, 'diagnosis', (value as FhirObject[] | undefined)?.map((item) => pickDefined({
      condition: { display: item.condition },
      use: item.use === undefined ? undefined : codeOrText(DIAGNOSIS_ROLE_SYSTEM, DIAGNOSIS_ROLES, String(item.use)),
      rank: item.rank,
    }))),
  read: (resource) => {
    const items = ((resource.diagnosis ?? []) as FhirObject[])
      .map((item) => pickDefined({ condition: item.condition?.display ?? item.condition?.reference, use: codeOrTextFromFhir(item.use, DIAGNOSIS_ROLE_SYSTEM), rank: item.rank }))
      .filter((item) => item.condition !== undefined) as Json[];
    return items.length ? items : undefined;
  },
};

const HOSPITALIZATION_TEXTS = ['admitSource', 'reAdmission', 'dischargeDisposition'] as const;
const HOSPITALIZATION_LISTS = ['dietPreference', 'specialArrangement'] as const;
const HOSPITALIZATION_PLACES = ['origin', 'destination'] as const;

/** `hospitalization`, concepts as text and places as reference displays; replaced whole (a stored preAdmissionIdentifier is kept). */
const hospitalization: FieldMapping = {
  schema: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      ...Object.fromEntries(HOSPITALIZATION_TEXTS.map((name) => [name, text(200)])),
      ...Object.fromEntries(HOSPITALIZATION_LISTS.map((name) => [name, { type: 'array', minItems: 1, maxItems: 20, items: text(200) }])),
      ...Object.fromEntries(HOSPITALIZATION_PLACES.map((name) => [name, text(200)])),
    } as JsonSchema,
  },
  write: (resource, value) => {
    const input = value as FhirObject | undefined;
    if (input === undefined) return setOrDelete(resource, 'hospitalization', undefined);
    const output: FhirObject = pickDefined({ preAdmissionIdentifier: resource.hospitalization?.preAdmissionIdentifier });
    for (const name of HOSPITALIZATION_PLACES) if (input[name] !== undefined) output[name] = { display: input[name] };
    for (const name of HOSPITALIZATION_TEXTS) if (input[name] !== undefined) output[name] = { text: input[name] };
    for (const name of HOSPITALIZATION_LISTS) if (input[name] !== undefined) output[name] = (input[name] as string[]).map((item) => ({ text: item }));
    resource.hospitalization = output;
  },
  read: (resource) => {
    const stored: FhirObject | undefined = resource.hospitalization;
    if (!stored) return undefined;
    const output: FhirObject = {};
    for (const name of HOSPITALIZATION_TEXTS) output[name] = conceptText(stored[name]);
    for (const name of HOSPITALIZATION_LISTS) {
      const texts = ((stored[name] ?? []) as FhirObject[]).map(conceptText).filter((item): item is string => item !== undefined);
      output[name] = texts.length ? texts : undefined;
    }
    for (const name of HOSPITALIZATION_PLACES) output[name] = stored[name]?.display;
    const defined = pickDefined(output);
    return Object.keys(defined).length ? (defined as Json) : undefined;
  },
};

export const encounters: SimplifiedResource = {
  path: 'encounters',
  fhirType: 'Encounter',
  required: ['status', 'class', 'patientId'],
  fields: {
    status: element('status', { type: 'string', enum: ['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled'] }),
    class: encounterClass,
    patientId: reference('subject', 'Patient', { createOnly: true }),
    practitionerId,
    participants,
    type: conceptTextField('type', 200, true),
    serviceType: conceptTextField('serviceType', 200),
    priority: conceptTextField('priority', 50),
    reasonCode,
    period,
    lengthMinutes,
    location,
    serviceProvider: {
      schema: text(200),
      write: (resource, value) => setOrDelete(resource, 'serviceProvider', value === undefined ? undefined : { display: value }),
      read: (resource) => resource.serviceProvider?.display,
    },
    diagnosis,
    appointmentId: reference('appointment', 'Appointment', { list: true }),
    basedOnId: reference('basedOn', 'ServiceRequest', { list: true }),
    partOfId: reference('partOf', 'Encounter'),
    hospitalization,
  },
  filters: {
    patientId: { param: 'subject', valuePrefix: 'Patient/' },
    practitionerId: { param: 'practitioner', valuePrefix: 'Practitioner/' },
    status: { param: 'status' },
    class: { param: 'class' },
    type: { param: 'type', modifier: 'text' },
    appointmentId: { param: 'appointment', valuePrefix: 'Appointment/' },
    partOfId: { param: 'part-of', valuePrefix: 'Encounter/' },
    // On period.start, as the contract says (R4's `date` matches any overlap of the whole period).
    ...dateRangeFilters('date-start'),
  },
  sorts: { 'period.start': 'date-start', status: 'status', updatedAt: '_lastUpdated' },
  include: true,
};
