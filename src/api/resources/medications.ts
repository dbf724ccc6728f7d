import {
  CODEABLE_CONCEPT_SCHEMA, codeableConcept, conceptFromFhir, conceptTextField, conceptToFhir, DATE_TIME_SCHEMA, element, pickDefined, setOrDelete, text, objectList,
} from '../fields.js';
import type { FhirObject, FieldMapping, Json, JsonSchema, SimplifiedResource } from '../simplified-resource.js';

/** /v1/medications ↔ FHIR Medication (contract §3.6). */

/** `{value, unit}`: a FHIR Quantity's value and unit. */
export const QUANTITY_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['value'],
  properties: { value: { type: 'number' }, unit: text(100) },
};

const RATIO_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { numerator: QUANTITY_SCHEMA, denominator: QUANTITY_SCHEMA },
};

function quantityToFhir(quantity: FhirObject | undefined): FhirObject | undefined {
  return quantity && pickDefined({ value: quantity.value, unit: quantity.unit });
}

/** Value and unit (else the unit code) of a Quantity; nothing when it has no value. */
function quantityFromFhir(quantity: FhirObject | undefined): FhirObject | undefined {
  if (typeof quantity?.value !== 'number') return undefined;
  return pickDefined({ value: quantity.value, unit: quantity.unit ?? quantity.code });
}

function ratioToFhir(ratio: FhirObject | undefined): FhirObject | undefined {
  if (!ratio) return undefined;
  const out = pickDefined({ numerator: quantityToFhir(ratio.numerator), denominator: quantityToFhir(ratio.denominator) });
  return Object.keys(out).length ? out : undefined;
}

function ratioFromFhir(ratio: FhirObject | undefined): Json | undefined {
  if (!ratio) return undefined;
  const out = pickDefined({ numerator: quantityFromFhir(ratio.numerator), denominator: quantityFromFhir(ratio.denominator) });
  return Object.keys(out).length ? (out as Json) : undefined;
}


/** The manufacturer's name, as the display of the `manufacturer` Reference. */
const manufacturer: FieldMapping = {
  schema: text(200),
  write: (resource, value) => setOrDelete(resource, 'manufacturer', value === undefined ? undefined : { display: value }),
  read: (resource) => resource.manufacturer?.display,
};

const amount: FieldMapping = {
  schema: RATIO_SCHEMA,
  write: (resource, value) => setOrDelete(resource, 'amount', ratioToFhir(value as FhirObject | undefined)),
  read: (resource) => ratioFromFhir(resource.amount),
};

const ingredient: FieldMapping = {
  schema: objectList(50, ['item'], { item: CODEABLE_CONCEPT_SCHEMA, isActive: { type: 'boolean' }, strength: RATIO_SCHEMA }),
  write: (resource, value) =>
    setOrDelete(resource, 'ingredient', (value as FhirObject[] | undefined)?.map((item) => pickDefined({
      itemCodeableConcept: conceptToFhir(item.item),
      isActive: item.isActive,
      strength: ratioToFhir(item.strength),
    }))),
  // Ingredients given as a Reference (itemReference) have no simplified form and are left out.
  read: (resource) => {
    const items = (resource.ingredient as FhirObject[] | undefined)
      ?.filter((item) => conceptFromFhir(item.itemCodeableConcept) !== undefined)
      .map((item) => pickDefined({
        item: conceptFromFhir(item.itemCodeableConcept),
        isActive: item.isActive,
        strength: ratioFromFhir(item.strength),
      }) as Json);
    return items?.length ? items : undefined;
  },
};

const batch: FieldMapping = {
  schema: { type: 'object', additionalProperties: false, properties: { lotNumber: text(100), expirationDate: DATE_TIME_SCHEMA } },
  write: (resource, value) => {
    const given = value as FhirObject | undefined;
    const out = given && pickDefined({ lotNumber: given.lotNumber, expirationDate: given.expirationDate });
    setOrDelete(resource, 'batch', out && Object.keys(out).length ? out : undefined);
  },
  read: (resource) => {
    const out = resource.batch && pickDefined({ lotNumber: resource.batch.lotNumber, expirationDate: resource.batch.expirationDate });
    return out && Object.keys(out).length ? (out as Json) : undefined;
  },
};

export const medications: SimplifiedResource = {
  path: 'medications',
  fhirType: 'Medication',
  required: ['code'],
  fields: {
    code: codeableConcept('code'),
    status: element('status', { type: 'string', enum: ['active', 'inactive'] }),
    form: conceptTextField('form', 100),
    manufacturer,
    amount,
    ingredient,
    batch,
  },
  initial: () => ({ status: 'active' }),
  filters: {
    status: { param: 'status' },
    code: { param: 'code' },
    form: { param: 'form', modifier: 'text' },
    lotNumber: { param: 'lot-number' },
  },
  sorts: { expirationDate: 'expiration-date', updatedAt: '_lastUpdated' },
};
