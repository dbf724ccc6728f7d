import { annotationText, conceptText, conceptTextField, DATE_TIME_SCHEMA, element, pickDefined, reference, setOrDelete, text, typedIds, typedReferences, objectList } from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/assessments ↔ FHIR ClinicalImpression (contract §3.13). */

const ICD10_CM = 'http://hl7.org/fhir/sid/icd-10-cm';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const SNOMED = 'http://snomed.info/sct';
/** An ICD-10 code (`I10`, `E11.9`, `S52.521A`) or a SNOMED CT identifier (6 to 18 digits); the shape tells the system. */
const ICD10_CODE = '[A-Z]\\d[0-9A-Z](\\.[0-9A-Z]{1,4})?';
const SNOMED_CODE = '\\d{6,18}';
const IS_SNOMED = new RegExp(`^${SNOMED_CODE}$`);
const codeSystemOf = (code: string): string => (IS_SNOMED.test(code) ? SNOMED : ICD10_CM);

/** Findings and prognoses: `{code?, text}` ↔ a CodeableConcept with the coded `coding[0]` and the `text`. */
const CODED_TEXT_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: { code: { type: 'string', pattern: `^(${ICD10_CODE}|${SNOMED_CODE})$` }, text: text(500) },
};

function codedTextToFhir(value: FhirObject): FhirObject {
  return pickDefined({ coding: value.code === undefined ? undefined : [{ system: codeSystemOf(String(value.code)), code: value.code }], text: value.text });
}

/** The code of an ICD-10 or SNOMED coding, and the concept's text (else a coding's display or code). */
function codedTextFromFhir(concept: FhirObject | undefined): FhirObject | undefined {
  const text = conceptText(concept);
  if (text === undefined) return undefined;
  const code = concept?.coding?.find((coding: FhirObject) => [ICD10_CM, ICD10, SNOMED].includes(coding.system) && coding.code)?.code;
  return pickDefined({ code, text });
}

const findings: FieldMapping = {
  schema: {
    type: 'array',
    maxItems: 50,
    items: { ...CODED_TEXT_SCHEMA, properties: { ...(CODED_TEXT_SCHEMA.properties as JsonSchema), basis: text(1000) } },
  },
  write: (resource, value) =>
    setOrDelete(resource, 'finding', (value as FhirObject[] | undefined)?.map((item) => pickDefined({ itemCodeableConcept: codedTextToFhir(item), basis: item.basis }))),
  read: (resource) => {
    const items = ((resource.finding ?? []) as FhirObject[]).flatMap((finding) => {
      // A finding that only references a resource shows its display as the text.
      const item = codedTextFromFhir(finding.itemCodeableConcept) ?? (finding.itemReference?.display ? { text: finding.itemReference.display } : undefined);
      return item ? [pickDefined({ ...item, basis: finding.basis }) as Json] : [];
    });
    return items.length ? items : undefined;
  },
};

const prognosis: FieldMapping = {
  schema: { type: 'array', maxItems: 10, items: CODED_TEXT_SCHEMA },
  write: (resource, value) => setOrDelete(resource, 'prognosisCodeableConcept', (value as FhirObject[] | undefined)?.map(codedTextToFhir)),
  read: (resource) => {
    const items = ((resource.prognosisCodeableConcept ?? []) as FhirObject[]).map(codedTextFromFhir).filter((item): item is FhirObject => item !== undefined);
    return items.length ? (items as Json[]) : undefined;
  },
};

/** What an investigation's items may be (R4's investigation.item targets), Observation by default. */
const investigationItems = typedIds(['Observation', 'QuestionnaireResponse', 'FamilyMemberHistory', 'DiagnosticReport', 'RiskAssessment', 'ImagingStudy', 'Media']);

/** `investigation[]`: the name is `code.text`, the items references; replaced whole. */
const investigations: FieldMapping = {
  schema: objectList(20, ['name'], { name: text(200), itemIds: { type: 'array', maxItems: 50, items: investigationItems.schema } }),
  write: (resource, value) =>
    setOrDelete(resource, 'investigation', (value as FhirObject[] | undefined)?.map((item) => pickDefined({
      code: { text: item.name },
      item: (item.itemIds as string[] | undefined)?.length ? (item.itemIds as string[]).map(investigationItems.toFhir) : undefined,
    }))),
  read: (resource) => {
    const items = ((resource.investigation ?? []) as FhirObject[]).flatMap((investigation) => {
      const name = conceptText(investigation.code);
      if (name === undefined) return [];
      const itemIds = ((investigation.item ?? []) as FhirObject[]).map(investigationItems.fromFhir).filter((id): id is string => id !== undefined);
      return [pickDefined({ name, itemIds: itemIds.length ? itemIds : undefined }) as Json];
    });
    return items.length ? items : undefined;
  },
};

/** `effectiveDateTime`; writing it replaces an `effectivePeriod` (effective[x] is a choice). */
const effectiveDateTime: FieldMapping = {
  schema: DATE_TIME_SCHEMA,
  write: (resource, value) => {
    if (value !== undefined) delete resource.effectivePeriod;
    setOrDelete(resource, 'effectiveDateTime', value);
  },
  read: (resource) => resource.effectiveDateTime,
};

const protocol: FieldMapping = element('protocol', { type: 'array', maxItems: 20, items: { type: 'string', format: 'uri', maxLength: 2048 } });

export const assessments: SimplifiedResource = {
  path: 'assessments',
  fhirType: 'ClinicalImpression',
  required: ['status', 'patientId', 'summary'],
  fields: {
    status: element('status', { type: 'string', enum: ['in-progress', 'completed'] }),
    patientId: reference('subject', 'Patient', { createOnly: true }),
    summary: element('summary', text(5000)),
    statusReason: conceptTextField('statusReason', 500),
    encounterId: reference('encounter', 'Encounter'),
    practitionerId: reference('assessor', 'Practitioner'),
    code: conceptTextField('code', 200),
    description: element('description', text(2000)),
    findings,
    note: annotationText('note', 2000),
    effectiveDateTime,
    date: element('date', DATE_TIME_SCHEMA),
    previousAssessmentId: reference('previous', 'ClinicalImpression'),
    // A bare id is a Condition; an allergy is named `AllergyIntolerance/{id}`.
    problemIds: typedReferences('problem', ['Condition', 'AllergyIntolerance'], 50),
    investigations,
    protocol,
    prognosis,
    supportingInfoIds: typedReferences('supportingInfo', [
      'Observation', 'Condition', 'AllergyIntolerance', 'DiagnosticReport', 'Procedure', 'MedicationStatement', 'FamilyMemberHistory', 'QuestionnaireResponse',
      'DocumentReference', 'RiskAssessment', 'ImagingStudy',
    ], 50),
  },
  initial: () => ({ date: new Date().toISOString() }),
  filters: {
    patientId: { param: 'subject', valuePrefix: 'Patient/' },
    practitionerId: { param: 'assessor', valuePrefix: 'Practitioner/' },
    status: { param: 'status' },
    encounterId: { param: 'encounter', valuePrefix: 'Encounter/' },
    ...dateRangeFilters('date'),
  },
  sorts: { date: 'date', status: 'status', updatedAt: '_lastUpdated' },
};
