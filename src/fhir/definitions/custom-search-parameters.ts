import type { SearchParameter } from '@medplum/fhirtypes';

/**
 * Search parameters that R4 lacks but the simplified API filters on. They are ordinary
 * SearchParameter resources, indexed and searched exactly like the R4 ones.
 */
export const CLINIK_EXTENSION_BASE = 'https://clinikapi.com/fhir/StructureDefinition';

/** A practitioner's primary specialty: R4's home for it is PractitionerRole, so Practitioner keeps it in an extension. */
export const PRACTITIONER_SPECIALTY_URL = `${CLINIK_EXTENSION_BASE}/practitioner-specialty`;

export const customSearchParameters: SearchParameter[] = [
  {
    resourceType: 'SearchParameter',
    url: 'https://clinikapi.com/fhir/SearchParameter/Practitioner-specialty',
    name: 'specialty',
    status: 'active',
    description: "The practitioner's primary specialty (the simplified API's `specialty`).",
    code: 'specialty',
    base: ['Practitioner'],
    type: 'string',
    expression: `Practitioner.extension('${PRACTITIONER_SPECIALTY_URL}').value`,
  },
  {
    resourceType: 'SearchParameter',
    url: 'https://clinikapi.com/fhir/SearchParameter/MedicationRequest-medication-text',
    name: 'medication-text',
    status: 'active',
    description: "The prescribed medication's name or code: the text, coding displays and codes of medicationCodeableConcept, or the display of medicationReference (the simplified API's prescription `medication`).",
    code: 'medication-text',
    base: ['MedicationRequest'],
    type: 'string',
    expression:
      'MedicationRequest.medication.ofType(CodeableConcept).text | MedicationRequest.medication.ofType(CodeableConcept).coding.display'
      + ' | MedicationRequest.medication.ofType(CodeableConcept).coding.code | MedicationRequest.medication.ofType(Reference).display',
  },
  {
    resourceType: 'SearchParameter',
    url: 'https://clinikapi.com/fhir/SearchParameter/Encounter-date-start',
    name: 'date-start',
    status: 'active',
    description: "When the encounter started: period.start (the simplified API's encounter `dateFrom` / `dateTo` and `sort=period.start`; R5 has the same code on actualPeriod.start).",
    code: 'date-start',
    base: ['Encounter'],
    type: 'date',
    expression: 'Encounter.period.start',
  },
  {
    resourceType: 'SearchParameter',
    url: 'https://clinikapi.com/fhir/SearchParameter/PractitionerRole-status',
    name: 'status',
    status: 'active',
    description: "`active` as the simplified API's practitioner-role `status` token: `active` when active is true, `inactive` when false.",
    code: 'status',
    base: ['PractitionerRole'],
    type: 'token',
    expression: "PractitionerRole.active.iif($this, 'active', 'inactive')",
  },
];
