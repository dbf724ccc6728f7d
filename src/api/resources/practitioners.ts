import { PRACTITIONER_SPECIALTY_URL } from '../../fhir/definitions/custom-search-parameters.js';
import {
  contactPoint, element, familyName, firstAddress, fullName, givenName, languageFromFhir, languageToFhir, photo, pickDefined, primaryName, setOrDelete, text, objectList,
} from '../fields.js';
import type { FhirObject, FieldMapping, Json, SimplifiedResource } from '../simplified-resource.js';

/** /v1/practitioners ↔ FHIR Practitioner (contract §3.2). */

const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
const PERIOD_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { start: { type: 'string', format: 'date' }, end: { type: 'string', format: 'date' } },
};

/** `prefix` / `suffix` of the primary name, as string arrays. */
function nameAffix(part: 'prefix' | 'suffix'): FieldMapping {
  return {
    schema: { type: 'array', maxItems: 10, items: text(50) },
    write: (resource, value) => {
      const name = primaryName(resource, value !== undefined);
      if (name) setOrDelete(name, part, value);
    },
    read: (resource) => primaryName(resource)?.[part],
  };
}

/** The NPI, kept as the identifier with the US NPI system (the guide: "stored as an identifier"). */
const npi: FieldMapping = {
  schema: { type: 'string', pattern: '^[0-9]{10}$' },
  write: (resource, value) => {
    const others = (resource.identifier ?? []).filter((identifier: FhirObject) => identifier.system !== NPI_SYSTEM);
    setOrDelete(resource, 'identifier', value === undefined ? others : [...others, { system: NPI_SYSTEM, value }]);
  },
  read: (resource) => (resource.identifier ?? []).find((identifier: FhirObject) => identifier.system === NPI_SYSTEM)?.value,
};

const specialty: FieldMapping = {
  schema: text(200),
  write: (resource, value) => {
    const others = (resource.extension ?? []).filter((extension: FhirObject) => extension.url !== PRACTITIONER_SPECIALTY_URL);
    setOrDelete(resource, 'extension', value === undefined ? others : [...others, { url: PRACTITIONER_SPECIALTY_URL, valueString: value }]);
  },
  read: (resource) => (resource.extension ?? []).find((extension: FhirObject) => extension.url === PRACTITIONER_SPECIALTY_URL)?.valueString,
};

const qualifications: FieldMapping = {
  schema: objectList(20, ['name'], { name: text(200), issuer: text(200), period: PERIOD_SCHEMA, identifier: text(100) }),
  write: (resource, value) =>
    setOrDelete(resource, 'qualification', (value as FhirObject[] | undefined)?.map((item) => pickDefined({
      identifier: item.identifier ? [{ value: item.identifier }] : undefined,
      code: { text: item.name },
      period: item.period,
      issuer: item.issuer ? { display: item.issuer } : undefined,
    }))),
  read: (resource) =>
    (resource.qualification as FhirObject[] | undefined)
      ?.filter((item) => item.code?.text ?? item.code?.coding?.[0]?.display)
      .map((item) => pickDefined({
        name: item.code.text ?? item.code.coding[0].display,
        issuer: item.issuer?.display,
        period: item.period,
        identifier: item.identifier?.[0]?.value,
      }) as Json),
};

const languages: FieldMapping = {
  schema: { type: 'array', maxItems: 20, items: text(100) },
  write: (resource, value) => setOrDelete(resource, 'communication', (value as string[] | undefined)?.map(languageToFhir)),
  read: (resource) => (resource.communication as FhirObject[] | undefined)?.map(languageFromFhir).filter((language): language is string => language !== undefined),
};

export const practitioners: SimplifiedResource = {
  path: 'practitioners',
  fhirType: 'Practitioner',
  required: ['firstName', 'lastName'],
  fields: {
    firstName: givenName(),
    lastName: familyName(),
    prefix: nameAffix('prefix'),
    suffix: nameAffix('suffix'),
    email: contactPoint('email', { type: 'string', format: 'email', maxLength: 254 }),
    phone: contactPoint('phone', text(20)),
    gender: element('gender', { type: 'string', enum: ['male', 'female', 'other', 'unknown'] }),
    birthDate: element('birthDate', { type: 'string', format: 'date' }),
    npi,
    specialty,
    qualifications,
    languages,
    address: firstAddress(),
    photo: photo(),
    active: element('active', { type: 'boolean' }, { updateOnly: true }),
  },
  initial: () => ({ active: true }),
  derived: (resource) => ({ fullName: fullName(resource) }),
  filters: {
    name: { param: 'name', modifier: 'contains' },
    specialty: { param: 'specialty', modifier: 'contains' },
    npi: { param: 'identifier', valuePrefix: `${NPI_SYSTEM}|` },
    active: { param: 'active' },
  },
  // Deactivated practitioners are left out unless the client asks for them (contract §3.2).
  defaultFilters: { active: 'true' },
  sorts: { lastName: 'family', firstName: 'given', updatedAt: '_lastUpdated' },
};
