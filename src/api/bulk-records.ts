import type { Resource } from '@medplum/fhirtypes';
import { ApiError, invalidIssue, validationError } from '../errors.js';
import { isR4ResourceType } from '../fhir/definitions/index.js';
import { isFhirId } from '../ids.js';
import type { RecordMapper } from '../jobs/import.js';
import { COMPILED_RESOURCES, SIMPLIFIED_RESOURCES } from './resources/index.js';
import { toFhirResource } from './resource-service.js';
import type { CompiledResource } from './simplified-resource.js';

/** The simplified resources by FHIR type. */
const SIMPLIFIED_BY_TYPE = new Map<string, CompiledResource>(COMPILED_RESOURCES.map((resource) => [resource.definition.fhirType, resource]));

/** A simplified resource named by its FHIR type (`Patient`) or its route (`patients`): the FHIR type. */
export function simplifiedType(name: string): string | undefined {
  return SIMPLIFIED_RESOURCES.find((definition) => definition.fhirType === name || definition.path === name)?.fhirType;
}

/** Any R4 resource type, also accepting the route names of the simplified resources. */
export function fhirType(name: string): string | undefined {
  return simplifiedType(name) ?? (isR4ResourceType(name) ? name : undefined);
}

/**
 * One import record as the FHIR resource to store: a simplified record goes through the same
 * validation and mapping as `POST /v1/{resource}`; a raw FHIR record is checked for its type and
 * id here and validated by the repository when written.
 */
export const mapImportRecord: RecordMapper = (request, record) => {
  if (request.format === 'simplified') return toFhirResource(SIMPLIFIED_BY_TYPE.get(request.resourceType!)!, record);
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw validationError([invalidIssue('record', 'Expected object')]);
  const { resourceType, id } = record as { resourceType?: unknown; id?: unknown };
  if (typeof resourceType !== 'string' || !isR4ResourceType(resourceType)) throw validationError([invalidIssue('resourceType', 'Expected an R4 resource type')]);
  if (request.resourceType && resourceType !== request.resourceType) throw validationError([invalidIssue('resourceType', `Expected ${request.resourceType}`)]);
  if (id !== undefined && (typeof id !== 'string' || !isFhirId(id))) throw validationError([invalidIssue('id', 'Expected a FHIR id (1-64 of A-Z a-z 0-9 - .)')]);
  return record as Resource;
};

/** For routes: an unknown name is a 422 naming the field. */
export function requireType(resolve: (name: string) => string | undefined, field: string, name: string): string {
  const type = resolve(name);
  if (!type) throw new ApiError('VALIDATION_ERROR', 'Request body failed validation', [invalidIssue(field, 'Unknown resource type')]);
  return type;
}
