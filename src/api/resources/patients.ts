import {
  ADDRESS_SCHEMA, addressFromFhir, addressToFhir, contactPoint, element, familyName, firstAddress, fullName, givenName, languageFromFhir, languageToFhir,
  photo, pickDefined, primaryName, reference, setOrDelete, text, known,
} from '../fields.js';
import type { FhirObject, FieldMapping, Json, SimplifiedResource } from '../simplified-resource.js';

/** /v1/patients ↔ FHIR Patient (contract §3.1). */

const MARITAL_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';
const MARITAL_CODES: Record<string, { code: string; display: string }> = {
  married: { code: 'M', display: 'Married' },
  single: { code: 'S', display: 'Never Married' },
  divorced: { code: 'D', display: 'Divorced' },
  widowed: { code: 'W', display: 'Widowed' },
};

const maritalStatus: FieldMapping = {
  schema: text(50),
  write: (resource, value) => {
    if (value === undefined) return setOrDelete(resource, 'maritalStatus', undefined);
    const marital = known(MARITAL_CODES, String(value).toLowerCase());
    resource.maritalStatus = marital ? { coding: [{ system: MARITAL_SYSTEM, ...marital }], text: String(value) } : { text: String(value) };
  },
  read: (resource) => {
    const concept = resource.maritalStatus;
    if (!concept) return undefined;
    if (concept.text) return concept.text;
    const code = concept.coding?.find((coding: FhirObject) => coding.system === MARITAL_SYSTEM)?.code;
    return Object.entries(MARITAL_CODES).find(([, entry]) => entry.code === code)?.[0] ?? concept.coding?.[0]?.display ?? concept.coding?.[0]?.code;
  },
};

const contact: FieldMapping = {
  schema: {
    type: 'array',
    maxItems: 10,
    items: {
      type: 'object',
      additionalProperties: false,
      properties: {
        relationship: text(100), firstName: text(100), lastName: text(100), phone: text(20),
        email: { type: 'string', format: 'email', maxLength: 254 }, address: ADDRESS_SCHEMA,
      },
    },
  },
  write: (resource, value) =>
    setOrDelete(resource, 'contact', (value as FhirObject[] | undefined)?.map((item) => pickDefined({
      relationship: item.relationship ? [{ text: item.relationship }] : undefined,
      name: item.firstName || item.lastName ? pickDefined({ given: item.firstName ? [item.firstName] : undefined, family: item.lastName }) : undefined,
      telecom: [
        ...(item.phone ? [{ system: 'phone', value: item.phone }] : []),
        ...(item.email ? [{ system: 'email', value: item.email }] : []),
      ],
      address: item.address ? addressToFhir(item.address) : undefined,
    })).map((item) => (item.telecom.length ? item : pickDefined({ ...item, telecom: undefined })))),
  read: (resource) =>
    (resource.contact as FhirObject[] | undefined)?.map((item) => pickDefined({
      relationship: item.relationship?.[0]?.text ?? item.relationship?.[0]?.coding?.[0]?.code,
      firstName: item.name?.given?.[0],
      lastName: item.name?.family,
      phone: item.telecom?.find((point: FhirObject) => point.system === 'phone')?.value,
      email: item.telecom?.find((point: FhirObject) => point.system === 'email')?.value,
      address: addressFromFhir(item.address),
    }) as Json),
};

const languages: FieldMapping = {
  schema: {
    type: 'array',
    maxItems: 20,
    items: { type: 'object', additionalProperties: false, required: ['language'], properties: { language: text(100), preferred: { type: 'boolean' } } },
  },
  write: (resource, value) =>
    setOrDelete(resource, 'communication', (value as FhirObject[] | undefined)?.map((item) => pickDefined({
      language: languageToFhir(item.language),
      preferred: item.preferred,
    }))),
  read: (resource) =>
    (resource.communication as FhirObject[] | undefined)?.map((item) => pickDefined({
      language: languageFromFhir(item.language),
      preferred: item.preferred,
    }) as Json),
};

export const patients: SimplifiedResource = {
  path: 'patients',
  fhirType: 'Patient',
  required: ['firstName', 'lastName'],
  fields: {
    firstName: givenName(),
    lastName: familyName(),
    email: contactPoint('email', { type: 'string', format: 'email', maxLength: 254 }),
    phone: contactPoint('phone', text(20)),
    gender: element('gender', { type: 'string', enum: ['male', 'female', 'other', 'unknown'] }),
    birthDate: element('birthDate', { type: 'string', format: 'date' }),
    address: firstAddress(),
    maritalStatus,
    photo: photo(),
    contact,
    languages,
    generalPractitionerId: reference('generalPractitioner', 'Practitioner', { list: true }),
    active: element('active', { type: 'boolean' }, { updateOnly: true }),
  },
  initial: () => ({ active: true }),
  derived: (resource) => {
    const name = primaryName(resource);
    return {
      fullName: fullName(resource),
      middleName: name?.given?.length > 1 ? name!.given.slice(1).join(' ') : undefined,
      prefix: name?.prefix?.join(' '),
      suffix: name?.suffix?.join(' '),
    };
  },
  filters: {
    name: { param: 'name', modifier: 'contains' },
    email: { param: 'email' },
    phone: { param: 'phone' },
    gender: { param: 'gender' },
    birthDate: { param: 'birthdate' },
    active: { param: 'active' },
  },
  sorts: { lastName: 'family', firstName: 'given', birthDate: 'birthdate', updatedAt: '_lastUpdated' },
  revinclude: true,
};
