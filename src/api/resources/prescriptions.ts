import {
  annotationText, CODEABLE_CONCEPT_SCHEMA, conceptFromFhir, conceptText, conceptToFhir, DATE_TIME_SCHEMA, element, known, pickDefined, reference, replaceFirst, setOrDelete, text,
} from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/prescriptions ↔ FHIR MedicationRequest (contract §3.7). */

const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/medicationrequest-category';
const CATEGORY_DISPLAYS: Record<string, string> = { inpatient: 'Inpatient', outpatient: 'Outpatient', community: 'Community', discharge: 'Discharge' };
const COURSE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy';
const COURSE_DISPLAYS: Record<string, string> = { continuous: 'Continuous long term therapy', acute: 'Short course (acute) therapy', seasonal: 'Seasonal' };
const UCUM = 'http://unitsofmeasure.org';

const QUANTITY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['value'],
  properties: { value: { type: 'number' }, unit: text(100) },
};

function quantityToFhir(quantity: FhirObject): FhirObject {
  return pickDefined({ value: quantity.value, unit: quantity.unit });
}

function quantityFromFhir(quantity: FhirObject | undefined): Json | undefined {
  if (typeof quantity?.value !== 'number') return undefined;
  return pickDefined({ value: quantity.value, unit: quantity.unit ?? quantity.code }) as Json;
}

/**
 * A string kept as a CodeableConcept's text; a value that is one of the R4 codes of `system` also
 * gets that coding (so token search on the code works).
 */
function textConcept(name: string, maxLength: number, system: string, displays: Record<string, string>, list: boolean): FieldMapping {
  return {
    schema: text(maxLength),
    write: (resource, value) => {
      const code = value === undefined ? undefined : String(value);
      const display = code === undefined ? undefined : known(displays, code);
      const concept = code === undefined ? undefined : display ? { coding: [{ system, code, display }], text: code } : { text: code };
      if (list) replaceFirst(resource, name, concept);
      else setOrDelete(resource, name, concept);
    },
    read: (resource) => conceptText(list ? resource[name]?.[0] : resource[name]),
  };
}

/** A text-only CodeableConcept (statusReason, reasonCode[0]). */
function plainConcept(name: string, maxLength: number, list: boolean): FieldMapping {
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

/**
 * The medication: written as `medicationCodeableConcept` (removing any `medicationReference`).
 * Read from `medicationCodeableConcept`, else from the code of a contained Medication that
 * `medicationReference` points to (`#id`), else the reference's display.
 */
const medication: FieldMapping = {
  schema: CODEABLE_CONCEPT_SCHEMA,
  write: (resource, value) => {
    if (value === undefined) return setOrDelete(resource, 'medicationCodeableConcept', undefined);
    delete resource.medicationReference;
    resource.medicationCodeableConcept = conceptToFhir(value);
  },
  read: (resource) => {
    if (resource.medicationCodeableConcept) return conceptFromFhir(resource.medicationCodeableConcept);
    const ref: FhirObject | undefined = resource.medicationReference;
    if (!ref) return undefined;
    if (typeof ref.reference === 'string' && ref.reference.startsWith('#')) {
      const contained = (resource.contained as FhirObject[] | undefined)?.find((item) => item.resourceType === 'Medication' && `#${item.id}` === ref.reference);
      const code = conceptFromFhir(contained?.code);
      if (code !== undefined) return code;
    }
    return ref.display;
  },
};

/** `dosageInstruction[0]`, created when a field writes into it and removed when it becomes empty. */
function writeFirstDosage(resource: FhirObject, change: (dosage: FhirObject) => void): void {
  const dosage: FhirObject = { ...resource.dosageInstruction?.[0] };
  change(dosage);
  replaceFirst(resource, 'dosageInstruction', Object.keys(dosage).length ? dosage : undefined);
}

const dosageText: FieldMapping = {
  schema: text(1000),
  write: (resource, value) => writeFirstDosage(resource, (dosage) => setOrDelete(dosage, 'text', value)),
  read: (resource) => resource.dosageInstruction?.[0]?.text,
};

const PERIOD_UNITS = ['h', 'd', 'wk', 'mo'];

/**
 * The structured dosage owns `doseAndRate`, `timing` and `route` of `dosageInstruction[0]`, and
 * replaces them whole; the instruction's text and other elements are kept.
 */
const dosage: FieldMapping = {
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      dose: QUANTITY_SCHEMA,
      frequency: { type: 'integer', minimum: 1, maximum: 1000 },
      period: { type: 'number', exclusiveMinimum: 0 },
      periodUnit: { type: 'string', enum: PERIOD_UNITS },
      route: text(200),
    },
  },
  write: (resource, value) =>
    writeFirstDosage(resource, (instruction) => {
      const given = value as FhirObject | undefined;
      delete instruction.doseAndRate;
      delete instruction.timing;
      delete instruction.route;
      if (!given) return;
      if (given.dose) instruction.doseAndRate = [{ doseQuantity: quantityToFhir(given.dose) }];
      const repeat = pickDefined({ frequency: given.frequency, period: given.period, periodUnit: given.periodUnit });
      if (Object.keys(repeat).length) instruction.timing = { repeat };
      if (given.route) instruction.route = { text: given.route };
    }),
  read: (resource) => {
    const instruction: FhirObject | undefined = resource.dosageInstruction?.[0];
    if (!instruction) return undefined;
    const repeat: FhirObject = instruction.timing?.repeat ?? {};
    const out = pickDefined({
      dose: quantityFromFhir(instruction.doseAndRate?.[0]?.doseQuantity),
      frequency: repeat.frequency,
      period: repeat.period,
      periodUnit: repeat.periodUnit,
      route: conceptText(instruction.route),
    });
    return Object.keys(out).length ? (out as Json) : undefined;
  },
};

/** One element of `dispenseRequest`, which is removed when it becomes empty. */
function dispenseElement(schema: FieldMapping['schema'], name: string, toFhir: (value: Json) => unknown, fromFhir: (value: unknown) => Json | undefined): FieldMapping {
  return {
    schema,
    write: (resource, value) => {
      const request: FhirObject = { ...resource.dispenseRequest };
      setOrDelete(request, name, value === undefined ? undefined : toFhir(value));
      setOrDelete(resource, 'dispenseRequest', Object.keys(request).length ? request : undefined);
    },
    read: (resource) => fromFhir(resource.dispenseRequest?.[name]),
  };
}

const refills = dispenseElement({ type: 'integer', minimum: 0, maximum: 99 }, 'numberOfRepeatsAllowed', (value) => value, (value) => (typeof value === 'number' ? value : undefined));
const quantity = dispenseElement(QUANTITY_SCHEMA, 'quantity', (value) => quantityToFhir(value as FhirObject), (value) => quantityFromFhir(value as FhirObject | undefined));
/** Days of supply: a Duration in UCUM days; other units are not shown. */
const supplyDays = dispenseElement(
  { type: 'integer', minimum: 0 },
  'expectedSupplyDuration',
  (value) => ({ value, unit: 'days', system: UCUM, code: 'd' }),
  (value) => {
    const duration = value as FhirObject | undefined;
    return typeof duration?.value === 'number' && (duration.code === 'd' || /^days?$/i.test(duration.unit ?? '')) ? duration.value : undefined;
  },
);

/** `substitution.allowedBoolean`; the substitution's reason is kept while a value is set. */
const substitutionAllowed: FieldMapping = {
  schema: { type: 'boolean' },
  write: (resource, value) => {
    if (value === undefined) return setOrDelete(resource, 'substitution', undefined);
    const { allowedCodeableConcept: _ignored, ...rest } = resource.substitution ?? {};
    resource.substitution = { ...rest, allowedBoolean: value };
  },
  read: (resource) => resource.substitution?.allowedBoolean,
};

export const PRESCRIPTION_STATUSES = ['active', 'on-hold', 'cancelled', 'completed', 'draft', 'stopped'];

export const prescriptions: SimplifiedResource = {
  path: 'prescriptions',
  fhirType: 'MedicationRequest',
  required: ['patientId', 'prescriberId', 'medication'],
  fields: {
    patientId: reference('subject', 'Patient', { createOnly: true }),
    prescriberId: reference('requester', 'Practitioner'),
    medication,
    encounterId: reference('encounter', 'Encounter'),
    intent: element('intent', { type: 'string', enum: ['proposal', 'plan', 'order', 'original-order'] }),
    status: element('status', { type: 'string', enum: PRESCRIPTION_STATUSES }),
    statusReason: plainConcept('statusReason', 500, false),
    priority: element('priority', { type: 'string', enum: ['routine', 'urgent', 'asap', 'stat'] }),
    category: textConcept('category', 200, CATEGORY_SYSTEM, CATEGORY_DISPLAYS, true),
    doNotPerform: element('doNotPerform', { type: 'boolean' }),
    authoredOn: element('authoredOn', DATE_TIME_SCHEMA),
    dosageText,
    dosage,
    refills,
    quantity,
    supplyDays,
    substitutionAllowed,
    reason: plainConcept('reasonCode', 500, true),
    note: annotationText('note', 2000),
    performerId: reference('performer', 'Practitioner'),
    courseOfTherapy: textConcept('courseOfTherapyType', 200, COURSE_SYSTEM, COURSE_DISPLAYS, false),
    priorPrescriptionId: reference('priorPrescription', 'MedicationRequest'),
  },
  initial: () => ({ status: 'active', intent: 'order', authoredOn: new Date().toISOString() }),
  filters: {
    patientId: { param: 'subject', valuePrefix: 'Patient/' },
    prescriberId: { param: 'requester', valuePrefix: 'Practitioner/' },
    encounterId: { param: 'encounter', valuePrefix: 'Encounter/' },
    status: { param: 'status' },
    intent: { param: 'intent' },
    priority: { param: 'priority' },
    category: { param: 'category', modifier: 'text' },
    medication: { param: 'medication-text', modifier: 'contains' },
    ...dateRangeFilters('authoredon'),
  },
  sorts: { authoredOn: 'authoredon', date: 'authoredon', updatedAt: '_lastUpdated' },
};
