import { relatesTo, slugType, concepts, conceptText, element, PERIOD_SCHEMA, pickDefined, reference, setOrDelete, text } from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/notes ↔ FHIR DocumentReference (contract §3.12). */

/** The note-type slug, kept as a second coding of `type` so the `type` filter is a plain token search. */
export const NOTE_TYPE_SYSTEM = 'https://clinikapi.com/fhir/CodeSystem/note-type';
const NOTE_TYPES: Record<string, { code: string; display: string }> = {
  'progress-note': { code: '11506-3', display: 'Progress note' },
  'discharge-summary': { code: '18842-5', display: 'Discharge summary' },
  'consultation-note': { code: '11488-4', display: 'Consult note' },
  'history-and-physical': { code: '34117-2', display: 'History and physical note' },
  'operative-note': { code: '11504-8', display: 'Surgical operation note' },
  'procedure-note': { code: '28570-0', display: 'Procedure note' },
  'referral-note': { code: '57133-1', display: 'Referral note' },
  'transfer-summary': { code: '18761-7', display: 'Transfer summary note' },
  other: { code: '34109-9', display: 'Note' },
};

/** `content[0].attachment`, created on demand (content is 1..* in R4). */
function attachment(resource: FhirObject): FhirObject {
  const content: FhirObject[] = (resource.content ??= []);
  if (!content[0]) content[0] = { attachment: {} };
  return (content[0].attachment ??= {});
}

/** The note text, stored UTF-8 and base64-encoded in `content[0].attachment.data`. */
const content: FieldMapping = {
  schema: text(100000),
  write: (resource, value) => {
    const target = attachment(resource);
    // size and hash describe the old data.
    delete target.size;
    delete target.hash;
    setOrDelete(target, 'data', value === undefined ? undefined : Buffer.from(String(value), 'utf8').toString('base64'));
  },
  read: (resource) => {
    const { data, contentType: type } = resource.content?.[0]?.attachment ?? {};
    // Binary attachments (a PDF loaded through FHIR) have no text to show.
    return typeof data === 'string' && isTextual(type) ? Buffer.from(data, 'base64').toString('utf8') : undefined;
  },
};

/** Text, markdown, JSON, XML… — or no content type at all (FHIR lets it be absent). */
function isTextual(type: unknown): boolean {
  if (typeof type !== 'string') return true;
  const mime = type.split(';')[0].trim().toLowerCase();
  return mime.startsWith('text/') || /^application\/([\w.-]+\+)?(json|xml)$/.test(mime);
}

const contentType: FieldMapping = {
  schema: { type: 'string', maxLength: 100, pattern: '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(; ?[A-Za-z0-9_.+-]+=[A-Za-z0-9_.+"-]+)*$' },
  write: (resource, value) => setOrDelete(attachment(resource), 'contentType', value),
  read: (resource) => resource.content?.[0]?.attachment?.contentType,
};

/** `date` is an instant in R4: a day is stored as its midnight UTC, and read back as the day. */
const date: FieldMapping = {
  schema: { type: 'string', format: 'date' },
  write: (resource, value) => setOrDelete(resource, 'date', value === undefined ? undefined : `${String(value)}T00:00:00Z`),
  read: (resource) => (typeof resource.date === 'string' ? resource.date.slice(0, 10) : undefined),
};

/** A free-text CodeableConcept: written as `text`, read as the text, else the first coding's display or code. */
function textConcept(get: (resource: FhirObject, create: boolean) => FhirObject | undefined, name: string, maxLength: number, list = false): FieldMapping {
  return {
    schema: text(maxLength),
    write: (resource, value) => {
      const target = get(resource, value !== undefined);
      if (!target) return;
      const concept = value === undefined ? undefined : { text: String(value) };
      if (!list) return setOrDelete(target, name, concept);
      const rest: unknown[] = (target[name] ?? []).slice(1);
      setOrDelete(target, name, concept === undefined ? rest : [concept, ...rest]);
    },
    read: (resource) => {
      const concept = list ? get(resource, false)?.[name]?.[0] : get(resource, false)?.[name];
      return conceptText(concept);
    },
  };
}

const self = (resource: FhirObject) => resource;
/** `context`, created on demand; an emptied context is removed by `tidyContext`. */
const context = (resource: FhirObject, create: boolean): FhirObject | undefined => (create ? (resource.context ??= {}) : resource.context);

function inContext(field: FieldMapping): FieldMapping {
  return {
    ...field,
    write: (resource, value) => {
      field.write(resource, value);
      if (resource.context && Object.keys(resource.context).length === 0) delete resource.context;
    },
  };
}

const encounterId = inContext({
  schema: { type: 'string', format: 'reference-id' },
  write: (resource, value) => {
    const target = context(resource, value !== undefined);
    if (!target) return;
    const rest: unknown[] = (target.encounter ?? []).slice(1);
    setOrDelete(target, 'encounter', value === undefined ? rest : [{ reference: `Encounter/${String(value)}` }, ...rest]);
  },
  read: (resource) => {
    const ref: string | undefined = resource.context?.encounter?.[0]?.reference;
    return ref?.startsWith('Encounter/') ? ref.slice('Encounter/'.length) : undefined;
  },
});

const servicePeriod = inContext({
  schema: PERIOD_SCHEMA,
  write: (resource, value) => {
    const period = value === undefined ? undefined : pickDefined({ start: (value as FhirObject).start, end: (value as FhirObject).end });
    const target = context(resource, period !== undefined && Object.keys(period).length > 0);
    if (target) setOrDelete(target, 'period', period && Object.keys(period).length ? period : undefined);
  },
  read: (resource) => {
    const period = resource.context?.period;
    const value = period && pickDefined({ start: period.start, end: period.end });
    return value && Object.keys(value).length ? (value as Json) : undefined;
  },
});

export const notes: SimplifiedResource = {
  path: 'notes',
  fhirType: 'DocumentReference',
  required: ['patientId', 'title', 'content'],
  fields: {
    patientId: reference('subject', 'Patient', { createOnly: true }),
    title: element('description', text(500)),
    content,
    contentType,
    authorId: reference('author', 'Practitioner', { list: true }),
    encounterId,
    type: slugType(NOTE_TYPE_SYSTEM, NOTE_TYPES, { type: 'string', enum: Object.keys(NOTE_TYPES) }),
    docStatus: element('docStatus', { type: 'string', enum: ['preliminary', 'final', 'amended'] }),
    category: textConcept(self, 'category', 100, true),
    date,
    relatesTo: relatesTo('target', 'DocumentReference'),
    securityLabel: concepts('securityLabel', 20),
    authenticatorId: reference('authenticator', 'Practitioner'),
    custodianId: reference('custodian', 'Organization'),
    servicePeriod,
    facilityType: inContext(textConcept(context, 'facilityType', 200)),
    practiceSetting: inContext(textConcept(context, 'practiceSetting', 200)),
  },
  initial: () => ({
    status: 'current',
    docStatus: 'preliminary',
    date: new Date().toISOString(),
    content: [{ attachment: { contentType: 'text/plain' } }],
  }),
  filters: {
    patientId: { param: 'patient', valuePrefix: 'Patient/' },
    authorId: { param: 'author', valuePrefix: 'Practitioner/' },
    encounterId: { param: 'encounter', valuePrefix: 'Encounter/' },
    type: { param: 'type', valuePrefix: `${NOTE_TYPE_SYSTEM}|` },
    category: { param: 'category', modifier: 'text' },
    date: { param: 'date' },
    ...dateRangeFilters('date'),
  },
  sorts: { date: 'date', title: 'description', updatedAt: '_lastUpdated' },
};
