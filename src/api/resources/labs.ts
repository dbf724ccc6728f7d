import { codeableConcept, concepts, DATE_TIME_SCHEMA, element, known, PERIOD_SCHEMA, pickDefined, reference, references, replaceFirst, setOrDelete, text } from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/labs ↔ FHIR DiagnosticReport (contract §3.11). */

/** v2-0074 Diagnostic Service Section ID. */
const SERVICE_SECTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0074';
const CATEGORIES: Record<string, string> = { LAB: 'Laboratory', RAD: 'Radiology', PAT: 'Pathology (gross & histopath, not surgical)' };
const PRACTITIONER = 'Practitioner/';
/** What "a practitioner ID" looks like: the reference-id format. Anything else (spaces, commas…) is a name. */
const ID_LIKE = /^[A-Za-z0-9\-_.]{1,128}$/;

/** The category the field owns: the first concept with a v2-0074 coding, else a new first category. */
const category: FieldMapping = {
  schema: { type: 'string', enum: Object.keys(CATEGORIES) },
  write: (resource, value) => {
    const concepts: FhirObject[] = resource.category ?? [];
    const owned = concepts.findIndex((concept) => concept.coding?.some((coding: FhirObject) => coding.system === SERVICE_SECTION_SYSTEM));
    const others = concepts.filter((_, index) => index !== owned);
    const concept = value === undefined ? undefined : { coding: [{ system: SERVICE_SECTION_SYSTEM, code: value, display: known(CATEGORIES, String(value)) }] };
    setOrDelete(resource, 'category', concept ? [concept, ...others] : others);
  },
  read: (resource) => {
    for (const concept of (resource.category ?? []) as FhirObject[]) {
      const code = concept.coding?.find((coding: FhirObject) => coding.system === SERVICE_SECTION_SYSTEM && known(CATEGORIES, coding.code))?.code;
      if (code) return code;
    }
    return undefined;
  },
};

/**
 * `performer[0]` / `resultsInterpreter[0]`, given as "practitioner ID or name": a value in the
 * reference-id format becomes `{reference: Practitioner/{id}}`, anything else `{display: name}`.
 * Read back: a Practitioner reference as its id, else the display.
 */
function practitionerOrName(name: string): FieldMapping {
  return {
    schema: text(200),
    write: (resource, value) => {
      const actor = value === undefined ? undefined : ID_LIKE.test(String(value)) ? { reference: `${PRACTITIONER}${String(value)}` } : { display: value };
      replaceFirst(resource, name, actor);
    },
    read: (resource) => {
      const actor: FhirObject | undefined = resource[name]?.[0];
      const ref: unknown = actor?.reference;
      if (typeof ref === 'string' && ref.startsWith(PRACTITIONER)) return ref.slice(PRACTITIONER.length);
      return actor?.display;
    },
  };
}

/** effective[x] is a choice: writing one of the two fields removes the other (`exclusive` refuses both in one request). */
function effectiveField(element: 'effectiveDateTime' | 'effectivePeriod', schema: JsonSchema, toFhir: (value: Json) => unknown, fromFhir: (resource: FhirObject) => Json | undefined): FieldMapping {
  return {
    schema,
    write: (resource, value) => {
      if (value === undefined) return setOrDelete(resource, element, undefined);
      delete resource.effectiveDateTime;
      delete resource.effectivePeriod;
      resource[element] = toFhir(value);
    },
    read: fromFhir,
  };
}

const periodOf = (value: FhirObject | undefined): FhirObject | undefined => {
  const period = value && pickDefined({ start: value.start, end: value.end });
  return period && Object.keys(period).length ? period : undefined;
};

const ATTACHMENT_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['contentType'],
  properties: { contentType: text(100), data: { type: 'string', format: 'base64' }, url: { type: 'string', format: 'uri', maxLength: 2048 }, title: text(500) },
};
const attachmentFields = (attachment: FhirObject): FhirObject =>
  pickDefined({ contentType: attachment.contentType, data: attachment.data, url: attachment.url, title: attachment.title });

/** `presentedForm[]`, replaced whole; read back only the attachments that have a content type. */
const presentedForm: FieldMapping = {
  schema: { type: 'array', maxItems: 20, items: ATTACHMENT_SCHEMA },
  write: (resource, value) => setOrDelete(resource, 'presentedForm', (value as FhirObject[] | undefined)?.map(attachmentFields)),
  read: (resource) => {
    const items = (resource.presentedForm as FhirObject[] | undefined)?.filter((item) => item.contentType).map((item) => attachmentFields(item) as Json);
    return items?.length ? items : undefined;
  },
};

const MEDIA = 'Media/';
/** `media[]`: `{comment, link: Media/{linkId}}`, replaced whole. */
const media: FieldMapping = {
  schema: {
    type: 'array',
    maxItems: 50,
    items: { type: 'object', additionalProperties: false, required: ['linkId'], properties: { comment: text(1000), linkId: { type: 'string', format: 'reference-id' } } },
  },
  write: (resource, value) =>
    setOrDelete(resource, 'media', (value as FhirObject[] | undefined)?.map((item) => pickDefined({ comment: item.comment, link: { reference: `${MEDIA}${String(item.linkId)}` } }))),
  read: (resource) => {
    const items = (resource.media as FhirObject[] | undefined)
      ?.filter((item) => typeof item.link?.reference === 'string' && item.link.reference.startsWith(MEDIA))
      .map((item) => pickDefined({ comment: item.comment, linkId: item.link.reference.slice(MEDIA.length) }) as Json);
    return items?.length ? items : undefined;
  },
};

export const labs: SimplifiedResource = {
  path: 'labs',
  fhirType: 'DiagnosticReport',
  required: ['status', 'code', 'patientId'],
  fields: {
    status: element('status', { type: 'string', enum: ['registered', 'partial', 'preliminary', 'final', 'amended', 'corrected', 'appended', 'cancelled'] }),
    code: codeableConcept('code'),
    patientId: reference('subject', 'Patient', { createOnly: true }),
    encounterId: reference('encounter', 'Encounter'),
    effectiveDateTime: effectiveField('effectiveDateTime', DATE_TIME_SCHEMA, (value) => value, (resource) => resource.effectiveDateTime),
    effectivePeriod: effectiveField('effectivePeriod', { ...PERIOD_SCHEMA, minProperties: 1 }, (value) => periodOf(value as FhirObject), (resource) => periodOf(resource.effectivePeriod) as Json | undefined),
    resultIds: references('result', 'Observation', 100),
    category,
    conclusion: element('conclusion', text(5000)),
    conclusionCodes: concepts('conclusionCode', 20),
    performer: practitionerOrName('performer'),
    resultsInterpreter: practitionerOrName('resultsInterpreter'),
    specimenIds: references('specimen', 'Specimen', 50),
    presentedForm,
    basedOn: references('basedOn', 'ServiceRequest', 50),
    media,
  },
  exclusive: [['effectiveDateTime', 'effectivePeriod']],
  filters: {
    patientId: { param: 'subject', valuePrefix: 'Patient/' },
    status: { param: 'status' },
    category: { param: 'category', valuePrefix: `${SERVICE_SECTION_SYSTEM}|` },
    ...dateRangeFilters('date'),
  },
  sorts: { date: 'date', status: 'status', updatedAt: '_lastUpdated' },
  include: true,
};
