import {
  CODEABLE_CONCEPT_SCHEMA, CODING_SCHEMA, DATE_TIME_SCHEMA, PERIOD_SCHEMA, codeableConcept, conceptFromFhir, conceptToFhir, element, pickDefined, reference, setOrDelete, text, known, typedIds, typedReference, objectList,
} from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/consents ↔ FHIR Consent (contract §3.10). */

const SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
const SCOPES: Record<string, string> = {
  'patient-privacy': 'Privacy Consent',
  research: 'Research',
  treatment: 'Treatment',
  adr: 'Advanced Care Directive',
};
const STATUSES = ['draft', 'proposed', 'active', 'rejected', 'inactive'];
const REFERENCE_TYPES = ['Patient', 'Practitioner', 'PractitionerRole', 'RelatedPerson', 'Organization', 'CareTeam', 'Consent', 'DocumentReference', 'Contract', 'QuestionnaireResponse'];

/** References given as a bare id of the field's default type, or `Type/id` of another of REFERENCE_TYPES. */
const DOCUMENT_IDS = typedIds(REFERENCE_TYPES, 'DocumentReference');
const PATIENT_IDS = typedIds(REFERENCE_TYPES, 'Patient');
/** A FHIR relative reference `Type/id` as written in provision actors and data. */
const RELATIVE_REFERENCE_SCHEMA: JsonSchema = { type: 'string', pattern: '^[A-Z][A-Za-z]+/[A-Za-z0-9\\-.]{1,64}$' };

const scope: FieldMapping = {
  schema: { type: 'string', enum: Object.keys(SCOPES) },
  write: (resource, value) =>
    setOrDelete(resource, 'scope', value === undefined ? undefined : { coding: [{ system: SCOPE_SYSTEM, code: value, display: known(SCOPES, String(value)) }] }),
  read: (resource) => {
    const concept = resource.scope;
    if (!concept) return undefined;
    const codings: FhirObject[] = concept.coding ?? [];
    return (codings.find((coding) => coding.system === SCOPE_SYSTEM) ?? codings[0])?.code ?? concept.text;
  },
};

/** Category slugs (free text): one string, or an array when there are several. */
const category: FieldMapping = {
  schema: { anyOf: [text(100), { type: 'array', minItems: 1, maxItems: 20, items: text(100) }] },
  write: (resource, value) => {
    const values = value === undefined ? undefined : Array.isArray(value) ? value : [value];
    setOrDelete(resource, 'category', values?.map((item) => ({ text: String(item) })));
  },
  read: (resource) => {
    const values = (resource.category as FhirObject[] | undefined)
      ?.map((concept) => (concept.text as string | undefined) ?? concept.coding?.[0]?.code)
      .filter((item): item is string => typeof item === 'string');
    if (!values?.length) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

/** `policy[0].uri` when the consent has exactly one policy that is only a URI; otherwise `policies` owns `policy[]`. */
const isUriOnly = (policy: FhirObject[] | undefined) => policy?.length === 1 && Object.keys(policy[0]).length === 1 && typeof policy[0].uri === 'string';

const policyUri: FieldMapping = {
  schema: { type: 'string', format: 'uri', maxLength: 2048 },
  write: (resource, value) => {
    const policy: FhirObject[] = resource.policy ?? [];
    if (value === undefined) return setOrDelete(resource, 'policy', isUriOnly(policy) ? undefined : policy);
    setOrDelete(resource, 'policy', [{ ...policy[0], uri: value }, ...policy.slice(1)]);
  },
  read: (resource) => (isUriOnly(resource.policy) ? resource.policy[0].uri : undefined),
};

const policies: FieldMapping = {
  schema: {
    type: 'array',
    maxItems: 20,
    items: { type: 'object', additionalProperties: false, minProperties: 1, properties: { authority: { type: 'string', format: 'uri', maxLength: 2048 }, uri: { type: 'string', format: 'uri', maxLength: 2048 } } },
  },
  write: (resource, value) => setOrDelete(resource, 'policy', (value as FhirObject[] | undefined)?.map((item) => pickDefined({ authority: item.authority, uri: item.uri }))),
  read: (resource) => {
    const policy = resource.policy as FhirObject[] | undefined;
    if (!policy?.length || isUriOnly(policy)) return undefined;
    return policy.map((item) => pickDefined({ authority: item.authority, uri: item.uri }) as Json);
  },
};

const sourceAttachment: FieldMapping = {
  schema: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { contentType: text(100), data: { type: 'string', format: 'base64' }, url: { type: 'string', format: 'uri', maxLength: 2048 }, title: text(500) },
  },
  write: (resource, value) => {
    const attachment = value as FhirObject | undefined;
    // source[x] is a choice: setting the attachment replaces a source reference.
    if (attachment) delete resource.sourceReference;
    setOrDelete(resource, 'sourceAttachment', attachment && pickDefined({ contentType: attachment.contentType, data: attachment.data, url: attachment.url, title: attachment.title }));
  },
  read: (resource) => {
    const attachment = resource.sourceAttachment;
    if (!attachment) return undefined;
    const output = pickDefined({ contentType: attachment.contentType, data: attachment.data, url: attachment.url, title: attachment.title });
    return Object.keys(output).length ? (output as Json) : undefined;
  },
};

const sourceReferenceId: FieldMapping = {
  schema: DOCUMENT_IDS.schema,
  write: (resource, value) => {
    if (value !== undefined) delete resource.sourceAttachment;
    setOrDelete(resource, 'sourceReference', value === undefined ? undefined : DOCUMENT_IDS.toFhir(String(value)));
  },
  read: (resource) => DOCUMENT_IDS.fromFhir(resource.sourceReference),
};

const VERIFICATION_ITEM: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['verified'],
  properties: { verified: { type: 'boolean' }, verifiedWith: PATIENT_IDS.schema, verificationDate: DATE_TIME_SCHEMA },
};

/** `verification[]`; a single object is accepted too (older pages) and comes back as a one-item array. */
const verification: FieldMapping = {
  schema: { anyOf: [VERIFICATION_ITEM, { type: 'array', maxItems: 20, items: VERIFICATION_ITEM }] },
  write: (resource, value) => {
    const items = value === undefined ? undefined : ((Array.isArray(value) ? value : [value]) as FhirObject[]);
    setOrDelete(resource, 'verification', items?.map((item) => pickDefined({
      verified: item.verified,
      verifiedWith: item.verifiedWith === undefined ? undefined : PATIENT_IDS.toFhir(item.verifiedWith),
      verificationDate: item.verificationDate,
    })));
  },
  read: (resource) => {
    const items = (resource.verification as FhirObject[] | undefined)?.filter((item) => typeof item.verified === 'boolean');
    return items?.length
      ? items.map((item) => pickDefined({ verified: item.verified, verifiedWith: PATIENT_IDS.fromFhir(item.verifiedWith), verificationDate: item.verificationDate }) as Json)
      : undefined;
  },
};

// ---------------------------------------------------------------------------------------------
// provision (nested exceptions, to a bounded depth)

const PROVISION_DEPTH = 4;

function provisionSchema(depth: number): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    type: { type: 'string', enum: ['deny', 'permit'] },
    period: PERIOD_SCHEMA,
    actor: {
      type: 'array',
      maxItems: 20,
      items: { type: 'object', additionalProperties: false, required: ['role', 'reference'], properties: { role: CODEABLE_CONCEPT_SCHEMA, reference: RELATIVE_REFERENCE_SCHEMA } },
    },
    action: { type: 'array', maxItems: 20, items: CODEABLE_CONCEPT_SCHEMA },
    securityLabel: { type: 'array', maxItems: 20, items: CODING_SCHEMA },
    purpose: { type: 'array', maxItems: 20, items: CODING_SCHEMA },
    class: { type: 'array', maxItems: 20, items: CODING_SCHEMA },
    code: { type: 'array', maxItems: 20, items: CODEABLE_CONCEPT_SCHEMA },
    dataPeriod: PERIOD_SCHEMA,
    data: objectList(50, ['meaning', 'reference'], { meaning: { type: 'string', enum: ['instance', 'related', 'dependents', 'authoredby'] }, reference: RELATIVE_REFERENCE_SCHEMA }),
  };
  if (depth > 1) properties.provision = { type: 'array', maxItems: 20, items: provisionSchema(depth - 1) };
  return { type: 'object', additionalProperties: false, properties };
}

const nonEmpty = <T>(items: T[] | undefined): T[] | undefined => (items?.length ? items : undefined);
const codingToFhir = (coding: FhirObject) => pickDefined({ system: coding.system, code: coding.code, display: coding.display });
const codingFromFhir = (coding: FhirObject) => pickDefined({ system: coding.system, code: coding.code, display: coding.display }) as Json;
const periodOf = (period: FhirObject | undefined) => {
  const value = period && pickDefined({ start: period.start, end: period.end });
  return value && Object.keys(value).length ? value : undefined;
};

function provisionToFhir(item: FhirObject): FhirObject {
  return pickDefined({
    type: item.type,
    period: item.period,
    actor: nonEmpty((item.actor as FhirObject[] | undefined)?.map((actor) => ({ role: conceptToFhir(actor.role), reference: { reference: actor.reference } }))),
    action: nonEmpty((item.action as Json[] | undefined)?.map(conceptToFhir)),
    securityLabel: nonEmpty((item.securityLabel as FhirObject[] | undefined)?.map(codingToFhir)),
    purpose: nonEmpty((item.purpose as FhirObject[] | undefined)?.map(codingToFhir)),
    class: nonEmpty((item.class as FhirObject[] | undefined)?.map(codingToFhir)),
    code: nonEmpty((item.code as Json[] | undefined)?.map(conceptToFhir)),
    dataPeriod: item.dataPeriod,
    data: nonEmpty((item.data as FhirObject[] | undefined)?.map((data) => ({ meaning: data.meaning, reference: { reference: data.reference } }))),
    provision: nonEmpty((item.provision as FhirObject[] | undefined)?.map(provisionToFhir)),
  });
}

function provisionFromFhir(item: FhirObject): FhirObject {
  const concepts = (values: FhirObject[] | undefined) => nonEmpty(values?.map(conceptFromFhir).filter((value): value is Json => value !== undefined));
  const codings = (values: FhirObject[] | undefined) => nonEmpty(values?.filter((coding) => coding.code).map(codingFromFhir));
  return pickDefined({
    type: item.type,
    period: periodOf(item.period),
    actor: nonEmpty((item.actor as FhirObject[] | undefined)?.map((actor) => pickDefined({ role: conceptFromFhir(actor.role), reference: actor.reference?.reference }))),
    action: concepts(item.action),
    securityLabel: codings(item.securityLabel),
    purpose: codings(item.purpose),
    class: codings(item.class),
    code: concepts(item.code),
    dataPeriod: periodOf(item.dataPeriod),
    data: nonEmpty((item.data as FhirObject[] | undefined)?.map((data) => pickDefined({ meaning: data.meaning, reference: data.reference?.reference }))),
    provision: nonEmpty((item.provision as FhirObject[] | undefined)?.map(provisionFromFhir)),
  });
}

const provision: FieldMapping = {
  schema: provisionSchema(PROVISION_DEPTH),
  write: (resource, value) => {
    const fhir = value === undefined ? undefined : provisionToFhir(value as FhirObject);
    setOrDelete(resource, 'provision', fhir && Object.keys(fhir).length ? fhir : undefined);
  },
  read: (resource) => {
    if (!resource.provision) return undefined;
    const output = provisionFromFhir(resource.provision);
    return Object.keys(output).length ? (output as Json) : undefined;
  },
};

export const consents: SimplifiedResource = {
  path: 'consents',
  fhirType: 'Consent',
  required: ['patientId', 'scope', 'category'],
  fields: {
    patientId: reference('patient', 'Patient', { createOnly: true }),
    scope,
    category,
    status: element('status', { type: 'string', enum: STATUSES }),
    dateTime: element('dateTime', DATE_TIME_SCHEMA),
    performerId: typedReference('performer', REFERENCE_TYPES, { list: true, defaultType: 'Patient' }),
    organizationId: reference('organization', 'Organization', { list: true }),
    policyUri,
    policies,
    policyRule: codeableConcept('policyRule'),
    sourceAttachment,
    sourceReferenceId,
    verification,
    provision,
  },
  initial: () => ({ status: 'active' }),
  derived: (resource) => {
    const codings: FhirObject[] = resource.scope?.coding ?? [];
    return { scopeDisplay: (codings.find((coding) => coding.system === SCOPE_SYSTEM) ?? codings[0])?.display ?? resource.scope?.text };
  },
  filters: {
    patientId: { param: 'patient', valuePrefix: 'Patient/' },
    status: { param: 'status' },
    scope: { param: 'scope', valuePrefix: `${SCOPE_SYSTEM}|` },
    ...dateRangeFilters('date'),
  },
  sorts: { dateTime: 'date', status: 'status', updatedAt: '_lastUpdated' },
};
