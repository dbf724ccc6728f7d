import { invalidIssue, validationError } from '../../errors.js';
import {
  annotationText, CODE_SCHEMA, CODEABLE_CONCEPT_SCHEMA, codeableConcept, conceptFromFhir, conceptTextField, conceptToFhir, DATE_TIME_SCHEMA, element, known, pickDefined, reference, replaceFirst, setOrDelete, text, objectList,
} from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/observations ↔ FHIR Observation (contract §3.5). */

const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
const CATEGORIES: Record<string, string> = {
  'vital-signs': 'Vital Signs',
  laboratory: 'Laboratory',
  'social-history': 'Social History',
  exam: 'Exam',
};
const INTERPRETATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
/** The v3-ObservationInterpretation codes stored as codings; any other input is kept as the concept's text. */
const INTERPRETATIONS: Record<string, string> = {
  H: 'High', L: 'Low', N: 'Normal', A: 'Abnormal', HH: 'Critical high', LL: 'Critical low', AA: 'Critical abnormal',
  HU: 'Significantly high', LU: 'Significantly low', U: 'Significant change up', D: 'Significant change down',
  '<': 'Off scale low', '>': 'Off scale high', POS: 'Positive', NEG: 'Negative', IND: 'Indeterminate', DET: 'Detected', ND: 'Not detected',
  R: 'Resistant', S: 'Susceptible', I: 'Intermediate',
};

/** A FHIR instant: a full date and time with seconds and a zone. */
const INSTANT_SCHEMA: JsonSchema = {
  type: 'string',
  format: 'date-time-utc',
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d{1,9})?(Z|[+-]((0\\d|1[0-3]):[0-5]\\d|14:00))$',
};

const QUANTITY_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['value'],
  properties: { value: { type: 'number' }, unit: text(100), system: { type: 'string', format: 'uri', maxLength: 500 }, code: { ...CODE_SCHEMA, maxLength: 100 } },
};
const SIMPLE_QUANTITY_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['value'],
  properties: { value: { type: 'number' }, unit: text(100) },
};

const quantityToFhir = (value: FhirObject): FhirObject => pickDefined({ value: value.value, unit: value.unit, system: value.system, code: value.code });
function quantityFromFhir(quantity: FhirObject | undefined): Json | undefined {
  if (typeof quantity?.value !== 'number') return undefined;
  return pickDefined({ value: quantity.value, unit: quantity.unit, system: quantity.system, code: quantity.code }) as Json;
}
function simpleQuantityFromFhir(quantity: FhirObject | undefined): Json | undefined {
  if (typeof quantity?.value !== 'number') return undefined;
  return pickDefined({ value: quantity.value, unit: quantity.unit }) as Json;
}

/** The element names of a choice type `prefix[x]` present on a FHIR object. */
const choiceKeys = (object: FhirObject, prefix: string): string[] =>
  Object.keys(object).filter((key) => key.startsWith(prefix) && key.length > prefix.length && /[A-Z]/.test(key[prefix.length]));

/**
 * `value[x]` is a choice: the three simplified value fields share it (`exclusive`). Writing one
 * replaces whatever value[x] (and dataAbsentReason, obs-6) the resource had.
 */
function valueField(element: 'valueQuantity' | 'valueString' | 'valueCodeableConcept', schema: JsonSchema, toFhir: (value: Json) => unknown, fromFhir: (resource: FhirObject) => Json | undefined): FieldMapping {
  return {
    schema,
    write: (resource, value) => {
      if (value === undefined) return setOrDelete(resource, element, undefined);
      for (const key of choiceKeys(resource, 'value')) delete resource[key];
      delete resource.dataAbsentReason;
      resource[element] = toFhir(value);
    },
    read: fromFhir,
  };
}

const component: FieldMapping = {
  schema: objectList(20, ['code'], { code: CODEABLE_CONCEPT_SCHEMA, valueQuantity: QUANTITY_SCHEMA, valueString: text(2000) }),
  write: (resource, value) => {
    const items = value as FhirObject[] | undefined;
    const both = items?.findIndex((item) => item.valueQuantity !== undefined && item.valueString !== undefined) ?? -1;
    if (both >= 0) throw validationError([invalidIssue(`component.${both}`, 'Only one of valueQuantity, valueString may be given')]);
    setOrDelete(resource, 'component', items?.map((item) => pickDefined({
      code: conceptToFhir(item.code as Json),
      valueQuantity: item.valueQuantity === undefined ? undefined : quantityToFhir(item.valueQuantity),
      valueString: item.valueString,
    })));
  },
  read: (resource) => {
    const items = (resource.component as FhirObject[] | undefined)
      ?.map((item) => ({ code: conceptFromFhir(item.code), valueQuantity: quantityFromFhir(item.valueQuantity), valueString: item.valueString }))
      .filter((item) => item.code !== undefined)
      .map((item) => pickDefined(item) as Json);
    return items?.length ? items : undefined;
  },
};

const category: FieldMapping = {
  schema: { type: 'string', enum: Object.keys(CATEGORIES) },
  write: (resource, value) =>
    replaceFirst(resource, 'category', value === undefined ? undefined : { coding: [{ system: CATEGORY_SYSTEM, code: value, display: known(CATEGORIES, String(value)) }] }),
  read: (resource) => {
    for (const concept of (resource.category ?? []) as FhirObject[]) {
      const code = concept.coding?.find((coding: FhirObject) => coding.system === CATEGORY_SYSTEM)?.code;
      if (code) return code;
    }
    return undefined;
  },
};

const interpretation: FieldMapping = {
  schema: text(10),
  write: (resource, value) => {
    if (value === undefined) return replaceFirst(resource, 'interpretation', undefined);
    const code = String(value);
    const display = known(INTERPRETATIONS, code);
    replaceFirst(resource, 'interpretation', display ? { coding: [{ system: INTERPRETATION_SYSTEM, code, display }] } : { text: code });
  },
  read: (resource) => {
    const concept = resource.interpretation?.[0];
    if (!concept) return undefined;
    return concept.coding?.find((coding: FhirObject) => coding.system === INTERPRETATION_SYSTEM && coding.code)?.code ?? concept.coding?.find((coding: FhirObject) => coding.code)?.code ?? concept.text;
  },
};

const referenceRange: FieldMapping = {
  schema: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { low: SIMPLE_QUANTITY_SCHEMA, high: SIMPLE_QUANTITY_SCHEMA, text: text(500) },
  },
  write: (resource, value) => {
    const range = value as FhirObject | undefined;
    replaceFirst(resource, 'referenceRange', range && pickDefined({
      low: range.low && pickDefined({ value: range.low.value, unit: range.low.unit }),
      high: range.high && pickDefined({ value: range.high.value, unit: range.high.unit }),
      text: range.text,
    }));
  },
  read: (resource) => {
    const range = resource.referenceRange?.[0];
    if (!range) return undefined;
    const output = pickDefined({ low: simpleQuantityFromFhir(range.low), high: simpleQuantityFromFhir(range.high), text: range.text });
    return Object.keys(output).length ? (output as Json) : undefined;
  },
};

/** `effectiveDateTime`; writing it replaces any other effective[x]. */
const effectiveDateTime: FieldMapping = {
  schema: DATE_TIME_SCHEMA,
  write: (resource, value) => {
    if (value !== undefined) for (const key of choiceKeys(resource, 'effective')) delete resource[key];
    setOrDelete(resource, 'effectiveDateTime', value);
  },
  read: (resource) => resource.effectiveDateTime,
};

export const observations: SimplifiedResource = {
  path: 'observations',
  fhirType: 'Observation',
  required: ['status', 'code', 'patientId'],
  fields: {
    status: element('status', { type: 'string', enum: ['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled'] }),
    code: codeableConcept('code'),
    patientId: reference('subject', 'Patient', { createOnly: true }),
    encounterId: reference('encounter', 'Encounter'),
    performerId: reference('performer', 'Practitioner', { list: true }),
    category,
    effectiveDateTime,
    issued: element('issued', INSTANT_SCHEMA),
    valueQuantity: valueField('valueQuantity', QUANTITY_SCHEMA, (value) => quantityToFhir(value as FhirObject), (resource) => quantityFromFhir(resource.valueQuantity)),
    valueString: valueField('valueString', text(2000), (value) => value, (resource) => resource.valueString),
    valueCodeableConcept: valueField('valueCodeableConcept', CODEABLE_CONCEPT_SCHEMA, conceptToFhir, (resource) => conceptFromFhir(resource.valueCodeableConcept)),
    component,
    interpretation,
    referenceRange,
    bodySite: conceptTextField('bodySite', 200),
    method: conceptTextField('method', 200),
    specimenId: reference('specimen', 'Specimen'),
    deviceId: reference('device', 'Device'),
    note: annotationText('note', 2000),
  },
  exclusive: [['valueQuantity', 'valueString', 'valueCodeableConcept']],
  filters: {
    patientId: { param: 'subject', valuePrefix: 'Patient/' },
    encounterId: { param: 'encounter', valuePrefix: 'Encounter/' },
    status: { param: 'status' },
    category: { param: 'category' },
    code: { param: 'code' },
    ...dateRangeFilters('date'),
  },
  sorts: { effectiveDateTime: 'date', status: 'status', updatedAt: '_lastUpdated' },
  include: true,
};
