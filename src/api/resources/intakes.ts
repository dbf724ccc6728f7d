import { invalidIssue, validationError, type Issue } from '../../errors.js';
import { CODING_SCHEMA, DATE_TIME_SCHEMA, element, known, pickDefined, reference, setOrDelete, text, typedReference, typedReferences } from '../fields.js';
import { dateRangeFilters, type FhirObject, type FieldMapping, type Json, type JsonSchema, type SimplifiedResource } from '../simplified-resource.js';

/** /v1/intakes ↔ FHIR QuestionnaireResponse (contract §3.9). */

// ---------------------------------------------------------------------------------------------
// items: the recursive questionnaire answers

/** Limits on input (stored responses loaded through FHIR may be larger and still read back). */
const MAX_TOP_LEVEL_ITEMS = 200;
const MAX_NESTED_ITEMS = 100;
const MAX_ANSWERS = 100;
/** Levels of items, the top level being 1; an item under an answer is one level below the answered item. */
const MAX_ITEM_DEPTH = 10;
/** Items at every level together. */
const MAX_ITEMS_IN_ALL = 1000;

/** The answer value[x] types of the contract, each with its schema; an answer carries exactly one. */
const ANSWER_VALUES: Record<string, JsonSchema> = {
  valueString: text(5000),
  valueBoolean: { type: 'boolean' },
  valueInteger: { type: 'integer', minimum: -2147483648, maximum: 2147483647 },
  valueDecimal: { type: 'number' },
  valueDate: { type: 'string', format: 'date' },
  valueDateTime: DATE_TIME_SCHEMA,
  valueTime: { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d{1,9})?$' },
  valueCoding: CODING_SCHEMA,
  valueQuantity: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: { type: 'number' }, unit: text(100) } },
  valueUri: { type: 'string', format: 'uri', maxLength: 2048 },
};
const VALUE_NAMES = Object.keys(ANSWER_VALUES);

/** Nested item lists refer back to the item schema (`#` resolves against its `$id`). */
const nestedItems: JsonSchema = { type: 'array', minItems: 1, maxItems: MAX_NESTED_ITEMS, items: { $ref: '#' } };
const ITEM_SCHEMA: JsonSchema = {
  $id: 'https://clinikapi.com/schemas/intake-item',
  type: 'object',
  additionalProperties: false,
  required: ['linkId'],
  properties: {
    linkId: text(255),
    definition: { type: 'string', format: 'uri', maxLength: 2048 },
    text: text(2000),
    answer: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_ANSWERS,
      items: { type: 'object', additionalProperties: false, properties: { ...ANSWER_VALUES, items: nestedItems } },
    },
    items: nestedItems,
  },
};

/** Writing walks the whole tree: it counts items and collects every rule the schema cannot say. */
interface Walk {
  issues: Issue[];
  count: number;
}

function itemsToFhir(items: FhirObject[], path: string, depth: number, walk: Walk): FhirObject[] {
  return items.map((item, index) => {
    const at = `${path}.${index}`;
    walk.count += 1;
    if (depth > MAX_ITEM_DEPTH) walk.issues.push(invalidIssue(at, `Items may nest at most ${MAX_ITEM_DEPTH} levels deep`));
    // qrs-1: an item holds answers or child items, not both (follow-up questions go under an answer).
    if (item.answer?.length && item.items?.length) walk.issues.push(invalidIssue(at, 'An item has answer or items, not both (nest follow-up items under an answer)'));
    const below = (children: FhirObject[] | undefined, childPath: string) =>
      (children?.length && depth <= MAX_ITEM_DEPTH ? itemsToFhir(children, childPath, depth + 1, walk) : undefined);
    const answer = (item.answer as FhirObject[] | undefined)?.map((given, answerIndex) => {
      const answerPath = `${at}.answer.${answerIndex}`;
      const values = VALUE_NAMES.filter((name) => given[name] !== undefined);
      if (values.length !== 1) walk.issues.push(invalidIssue(answerPath, `Exactly one of ${VALUE_NAMES.join(', ')} must be given`));
      return pickDefined({ ...Object.fromEntries(values.map((name) => [name, valueParts(name, given[name])])), item: below(given.items, `${answerPath}.items`) });
    });
    return pickDefined({
      linkId: item.linkId,
      definition: item.definition,
      text: item.text,
      answer,
      item: below(item.items, `${at}.items`),
    });
  });
}

/** The parts of a coding or quantity answer the contract names (written and read alike); other values are as they are. */
const VALUE_PARTS: Record<string, string[]> = { valueCoding: ['system', 'code', 'display'], valueQuantity: ['value', 'unit'] };
function valueParts(name: string, value: Json): Json {
  const parts = known(VALUE_PARTS, name);
  return parts ? (pickDefined(Object.fromEntries(parts.map((part) => [part, (value as FhirObject)[part]]))) as Json) : value;
}

/** The answer's value in the simplified shape, or undefined when it has none of the contract's types. */
function answerValueFromFhir(answer: FhirObject): [string, Json] | undefined {
  const name = VALUE_NAMES.find((candidate) => answer[candidate] !== undefined);
  const value = name && answer[name];
  if (!name || (name === 'valueCoding' && !value.code) || (name === 'valueQuantity' && typeof value.value !== 'number')) return undefined;
  return [name, valueParts(name, value)];
}

function itemsFromFhir(items: FhirObject[] | undefined): Json[] | undefined {
  const output = (items ?? []).filter((item) => typeof item.linkId === 'string').map((item) => {
    const answers = ((item.answer ?? []) as FhirObject[]).flatMap((answer) => {
      // Answers of other types (valueAttachment, valueReference) are not shown.
      const value = answerValueFromFhir(answer);
      return value ? [pickDefined({ [value[0]]: value[1], items: itemsFromFhir(answer.item) }) as Json] : [];
    });
    return pickDefined({ linkId: item.linkId, definition: item.definition, text: item.text, answer: answers.length ? answers : undefined, items: itemsFromFhir(item.item) }) as Json;
  });
  return output.length ? output : undefined;
}

/** `item[]`, replaced whole. */
const items: FieldMapping = {
  schema: { type: 'array', minItems: 1, maxItems: MAX_TOP_LEVEL_ITEMS, items: ITEM_SCHEMA },
  write: (resource, value) => {
    if (value === undefined) return setOrDelete(resource, 'item', undefined);
    const walk: Walk = { issues: [], count: 0 };
    const item = itemsToFhir(value as FhirObject[], 'items', 1, walk);
    if (walk.count > MAX_ITEMS_IN_ALL) walk.issues.push(invalidIssue('items', `At most ${MAX_ITEMS_IN_ALL} items in all, nested ones included`));
    if (walk.issues.length) throw validationError(walk.issues);
    setOrDelete(resource, 'item', item);
  },
  read: (resource) => itemsFromFhir(resource.item),
};

/** `questionnaire` (a canonical): a URL as is, a bare id as `Questionnaire/{id}`. */
const questionnaire: FieldMapping = {
  schema: { anyOf: [{ type: 'string', format: 'uri', maxLength: 2048 }, { type: 'string', format: 'reference-id' }] },
  write: (resource, value) => {
    const given = value === undefined ? undefined : String(value);
    setOrDelete(resource, 'questionnaire', given === undefined || given.includes(':') ? given : `Questionnaire/${given}`);
  },
  read: (resource) => {
    const canonical: string | undefined = resource.questionnaire;
    return canonical?.startsWith('Questionnaire/') ? canonical.slice('Questionnaire/'.length) : canonical;
  },
};

export const intakes: SimplifiedResource = {
  path: 'intakes',
  fhirType: 'QuestionnaireResponse',
  required: ['patientId', 'items'],
  fields: {
    patientId: reference('subject', 'Patient', { createOnly: true }),
    items,
    encounterId: reference('encounter', 'Encounter'),
    authorId: typedReference('author', ['Practitioner', 'Device', 'PractitionerRole', 'Patient', 'RelatedPerson', 'Organization']),
    sourceId: typedReference('source', ['Patient', 'Practitioner', 'PractitionerRole', 'RelatedPerson']),
    questionnaire,
    status: element('status', { type: 'string', enum: ['in-progress', 'completed', 'amended', 'stopped'] }),
    authored: element('authored', DATE_TIME_SCHEMA),
    basedOn: typedReferences('basedOn', ['ServiceRequest', 'CarePlan'], 20),
    partOf: typedReferences('partOf', ['Observation', 'Procedure'], 20),
  },
  initial: () => ({ status: 'completed', authored: new Date().toISOString() }),
  filters: {
    patientId: { param: 'subject', valuePrefix: 'Patient/' },
    status: { param: 'status' },
    ...dateRangeFilters('authored'),
  },
  sorts: { date: 'authored', authored: 'authored', updatedAt: '_lastUpdated' },
  defaultSort: '-date',
};
