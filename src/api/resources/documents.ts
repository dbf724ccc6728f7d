import {
  CODE_SCHEMA, CODEABLE_CONCEPT_SCHEMA, relatesTo, slugType, conceptFromFhir, conceptText, conceptToFhir, DATE_TIME_SCHEMA, element, known, PERIOD_SCHEMA, pickDefined, reference, setOrDelete, text, objectList,
} from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/documents ↔ FHIR Composition (contract §3.14). */

/** The document-type value, kept as a coding of `type` so the `type` filter is a plain token search. */
export const DOCUMENT_TYPE_SYSTEM = 'https://clinikapi.com/fhir/CodeSystem/document-type';
/** The documented type slugs and their LOINC document codes; any other type is kept as the slug coding only. */
const DOCUMENT_TYPES: Record<string, { code: string; display: string }> = {
  'discharge-summary': { code: '18842-5', display: 'Discharge summary' },
  'referral-letter': { code: '57133-1', display: 'Referral note' },
  'care-plan': { code: '18776-5', display: 'Plan of care note' },
  'operative-report': { code: '11504-8', display: 'Surgical operation note' },
  'transfer-summary': { code: '18761-7', display: 'Transfer summary note' },
  'consultation-report': { code: '11488-4', display: 'Consult note' },
};
/** Sections nest at most this deep (a section, its sub-sections and theirs). */
const MAX_SECTION_DEPTH = 3;
const PRACTITIONER = 'Practitioner/';
/** An entry or event detail can be any resource, so it is given as a relative reference `Type/id`. */
const RELATIVE_REFERENCE_SCHEMA: JsonSchema = { type: 'string', pattern: '^[A-Z][A-Za-z]+/[A-Za-z0-9\\-.]{1,64}$' };
const RELATIVE_REFERENCE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

/** `YYYY-MM-DD`, stored as is (a FHIR dateTime may be a day); a stored time is read back as its day. */
const date: FieldMapping = {
  schema: { type: 'string', format: 'date' },
  write: (resource, value) => setOrDelete(resource, 'date', value),
  read: (resource) => (typeof resource.date === 'string' ? resource.date.slice(0, 10) : undefined),
};

const XHTML_OPEN = '<div xmlns="http://www.w3.org/1999/xhtml">';
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Section text as generated narrative: the text, XML-escaped, in the XHTML div. */
function narrative(value: string): FhirObject {
  const escaped = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return { status: 'generated', div: `${XHTML_OPEN}${escaped}</div>` };
}

/** The text of a narrative: exactly what `narrative` wrapped; for other XHTML, its text content with whitespace collapsed. */
function narrativeText(div: unknown): string | undefined {
  if (typeof div !== 'string') return undefined;
  const inner = div.startsWith(XHTML_OPEN) && div.endsWith('</div>') ? div.slice(XHTML_OPEN.length, -'</div>'.length) : undefined;
  const raw = inner !== undefined && !inner.includes('<') ? inner : div.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  const value = raw.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, name: string) => {
    if (name.startsWith('#')) return String.fromCodePoint(name[1].toLowerCase() === 'x' ? parseInt(name.slice(2), 16) : Number(name.slice(1)));
    return known(ENTITIES, name) ?? entity;
  });
  return value || undefined;
}

function sectionSchema(depth: number): JsonSchema {
  return {
    type: 'array',
    minItems: 1,
    maxItems: 50,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['title', 'text'],
      properties: {
        title: text(200),
        text: text(50000),
        code: CODEABLE_CONCEPT_SCHEMA,
        resourceIds: { type: 'array', minItems: 1, maxItems: 100, items: RELATIVE_REFERENCE_SCHEMA },
        authorId: { type: 'string', format: 'reference-id' },
        mode: { type: 'string', enum: ['working', 'snapshot', 'changes'] },
        ...(depth < MAX_SECTION_DEPTH ? { sections: sectionSchema(depth + 1) } : {}),
      },
    },
  };
}

function sectionToFhir(section: FhirObject): FhirObject {
  return pickDefined({
    title: section.title,
    code: section.code === undefined ? undefined : conceptToFhir(section.code),
    author: section.authorId === undefined ? undefined : [{ reference: `${PRACTITIONER}${String(section.authorId)}` }],
    mode: section.mode,
    text: narrative(String(section.text)),
    entry: (section.resourceIds as string[] | undefined)?.map((ref) => ({ reference: ref })),
    section: (section.sections as FhirObject[] | undefined)?.map(sectionToFhir),
  });
}

/** References of a list that are relative `Type/id`, or undefined when there are none. */
function relativeReferences(list: FhirObject[] | undefined): string[] | undefined {
  const refs = list?.map((ref) => ref.reference).filter((ref): ref is string => typeof ref === 'string' && RELATIVE_REFERENCE.test(ref));
  return refs?.length ? refs : undefined;
}

function practitionerId(ref: FhirObject | undefined): string | undefined {
  const value: unknown = ref?.reference;
  return typeof value === 'string' && value.startsWith(PRACTITIONER) ? value.slice(PRACTITIONER.length) : undefined;
}

function sectionsFromFhir(list: FhirObject[] | undefined): Json | undefined {
  const sections = list?.map((section) => pickDefined({
    title: section.title,
    text: narrativeText(section.text?.div),
    code: conceptFromFhir(section.code),
    resourceIds: relativeReferences(section.entry),
    authorId: practitionerId(section.author?.[0]),
    mode: section.mode,
    sections: sectionsFromFhir(section.section),
  }) as Json);
  return sections?.length ? sections : undefined;
}

/** `section[]`, nested sections included; replaced whole. */
const sections: FieldMapping = {
  schema: sectionSchema(1),
  write: (resource, value) => setOrDelete(resource, 'section', (value as FhirObject[] | undefined)?.map(sectionToFhir)),
  read: (resource) => sectionsFromFhir(resource.section),
};

/** `category[]` as texts (a coded category reads as its display or code). */
const category: FieldMapping = {
  schema: { type: 'array', maxItems: 20, items: text(200) },
  write: (resource, value) => setOrDelete(resource, 'category', (value as string[] | undefined)?.map((item) => ({ text: item }))),
  read: (resource) => {
    const texts = (resource.category as FhirObject[] | undefined)?.map(conceptText).filter((item): item is string => item !== undefined);
    return texts?.length ? texts : undefined;
  },
};

/** `attester[]` `{mode, time, party: Practitioner/{partyId}}`, replaced whole. */
const attester: FieldMapping = {
  schema: objectList(20, ['mode'], { mode: { type: 'string', enum: ['personal', 'professional', 'legal', 'official'] }, time: DATE_TIME_SCHEMA, partyId: { type: 'string', format: 'reference-id' } }),
  write: (resource, value) =>
    setOrDelete(resource, 'attester', (value as FhirObject[] | undefined)?.map((item) => pickDefined({
      mode: item.mode,
      time: item.time,
      party: item.partyId === undefined ? undefined : { reference: `${PRACTITIONER}${String(item.partyId)}` },
    }))),
  read: (resource) => {
    const items = (resource.attester as FhirObject[] | undefined)?.map((item) => pickDefined({ mode: item.mode, time: item.time, partyId: practitionerId(item.party) }) as Json);
    return items?.length ? items : undefined;
  },
};

/** `event[]` `{code[], period, detail[]}`, replaced whole. */
const event: FieldMapping = {
  schema: {
    type: 'array',
    maxItems: 20,
    items: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        code: { type: 'array', minItems: 1, maxItems: 20, items: CODEABLE_CONCEPT_SCHEMA },
        period: { ...PERIOD_SCHEMA, minProperties: 1 },
        detailIds: { type: 'array', minItems: 1, maxItems: 50, items: RELATIVE_REFERENCE_SCHEMA },
      },
    },
  },
  write: (resource, value) =>
    setOrDelete(resource, 'event', (value as FhirObject[] | undefined)?.map((item) => pickDefined({
      code: (item.code as Json[] | undefined)?.map(conceptToFhir),
      period: item.period && pickDefined({ start: item.period.start, end: item.period.end }),
      detail: (item.detailIds as string[] | undefined)?.map((ref) => ({ reference: ref })),
    }))),
  read: (resource) => {
    const items = (resource.event as FhirObject[] | undefined)
      ?.map((item) => {
        const codes = (item.code as FhirObject[] | undefined)?.map(conceptFromFhir).filter((code): code is Json => code !== undefined);
        const period = item.period && pickDefined({ start: item.period.start, end: item.period.end });
        return pickDefined({ code: codes?.length ? codes : undefined, period: period && Object.keys(period).length ? period : undefined, detailIds: relativeReferences(item.detail) });
      })
      .filter((item) => Object.keys(item).length > 0) as Json[] | undefined;
    return items?.length ? items : undefined;
  },
};

export const documents: SimplifiedResource = {
  path: 'documents',
  fhirType: 'Composition',
  required: ['status', 'type', 'patientId', 'practitionerId', 'title', 'sections'],
  fields: {
    status: element('status', { type: 'string', enum: ['preliminary', 'final', 'amended'] }),
    // Free text or a slug; a FHIR code (no leading, trailing or double spaces) because it is stored as one.
    type: slugType(DOCUMENT_TYPE_SYSTEM, DOCUMENT_TYPES, { ...CODE_SCHEMA, maxLength: 100 }, { freeText: true }),
    patientId: reference('subject', 'Patient', { createOnly: true }),
    practitionerId: reference('author', 'Practitioner', { list: true }),
    title: element('title', text(500)),
    sections,
    category,
    encounterId: reference('encounter', 'Encounter'),
    date,
    confidentiality: element('confidentiality', { type: 'string', enum: ['N', 'R', 'V'] }),
    attester,
    custodianId: reference('custodian', 'Organization'),
    relatesTo: relatesTo('targetReference', 'Composition'),
    event,
  },
  // Composition.date is required: create dates the document today unless told otherwise.
  initial: () => ({ date: new Date().toISOString().slice(0, 10), confidentiality: 'N' }),
  filters: {
    patientId: { param: 'subject', valuePrefix: 'Patient/' },
    practitionerId: { param: 'author', valuePrefix: 'Practitioner/' },
    type: { param: 'type', valuePrefix: `${DOCUMENT_TYPE_SYSTEM}|` },
    status: { param: 'status' },
    ...dateRangeFilters('date'),
  },
  sorts: { date: 'date', title: 'title', status: 'status', updatedAt: '_lastUpdated' },
};
