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
];
