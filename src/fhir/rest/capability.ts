import { allResourceTypes, searchParameters } from '../definitions/index.js';

/**
 * The CapabilityStatement served at /v1/metadata and /v1/fhir/metadata, generated from what the
 * server supports: every R4 resource type, its interactions, its search parameters (with their
 * descriptions) and its _include / _revinclude values, all from the definitions registry.
 * Operations are added here as they land: `$export` so far.
 */
const INTERACTIONS = ['read', 'create', 'update', 'patch', 'delete', 'search-type'];
/** The common parameters of every type (FHIR R4 search §3.1.1.3); the registry has them without a description. */
const COMMON_PARAMETERS: Record<string, string> = {
  _id: 'Logical id of the resource',
  _lastUpdated: 'When the resource version last changed',
  _tag: 'Tags applied to the resource (meta.tag)',
  _profile: 'Profiles the resource claims to conform to (meta.profile)',
  _security: 'Security labels applied to the resource (meta.security)',
  _source: 'Where the resource comes from (meta.source)',
};
/** Result parameters honoured on every type (docs/search.md). */
const RESULT_PARAMETERS = [
  { name: '_count', type: 'number', documentation: 'Page size: 20 by default, at most 100' },
  { name: '_sort', type: 'string', documentation: 'Comma-separated sort keys, - for descending; the id breaks ties' },
  { name: '_total', type: 'token', documentation: 'none, estimate or accurate; by default the total is given only when the first page holds every match' },
  { name: '_summary', type: 'token', documentation: 'true, false, count, data or text' },
  { name: '_elements', type: 'string', documentation: 'Comma-separated top-level elements to return' },
];

/** FHIR Bulk Data `$export` (src/fhir/operations/bulk-export.ts): system level, and the Patient and Group levels on their types. */
const BULK_DATA = 'http://hl7.org/fhir/uv/bulkdata';
const TYPE_EXPORTS: Record<string, string> = { Patient: 'patient-export', Group: 'group-export' };

interface SearchParam { name: string; definition?: string; type: string; documentation?: string }

/** Every search parameter of `type`: the common ones, then the type's own from the registry. */
function searchParams(type: string): SearchParam[] {
  const own = Object.entries(searchParameters(type))
    .filter(([code, parameter]) => !code.startsWith('_') && parameter.expression)
    .map(([code, parameter]) => ({ name: code, definition: parameter.url, type: parameter.type, ...(parameter.description ? { documentation: parameter.description } : {}) }));
  const common = Object.entries(COMMON_PARAMETERS).flatMap(([code, documentation]) => {
    const parameter = searchParameters(type)[code];
    return parameter ? [{ name: code, type: parameter.type, documentation }] : [];
  });
  return [...common, ...RESULT_PARAMETERS, ...own];
}

/** `Source:param` for each reference parameter, by target type (the _revinclude values a type accepts). */
function referencingParameters(): Map<string, string[]> {
  const byTarget = new Map<string, string[]>();
  for (const type of allResourceTypes()) {
    for (const value of referenceParameters(type)) {
      for (const target of value.targets) {
        const list = byTarget.get(target);
        if (list) list.push(value.include);
        else byTarget.set(target, [value.include]);
      }
    }
  }
  return byTarget;
}

function referenceParameters(type: string): Array<{ include: string; targets: string[] }> {
  return Object.entries(searchParameters(type))
    .filter(([code, parameter]) => !code.startsWith('_') && parameter.type === 'reference' && parameter.expression)
    .map(([code, parameter]) => ({ include: `${type}:${code}`, targets: parameter.target ?? [] }));
}

let cached: { baseUrl: string; text: string } | undefined;

export function capabilityStatement(baseUrl: string): string {
  if (cached?.baseUrl === baseUrl) return cached.text;
  const revincludes = referencingParameters();
  const statement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'ClinikAPI',
    kind: 'instance',
    software: { name: 'ClinikAPI' },
    implementation: { description: 'ClinikAPI FHIR R4 server', url: `${baseUrl}/v1/fhir` },
    instantiates: [`${BULK_DATA}/CapabilityStatement/bulk-data`],
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/merge-patch+json'],
    rest: [
      {
        mode: 'server',
        security: { description: 'Send an API key in the x-api-key header (clk_live_… or clk_test_…).' },
        interaction: [{ code: 'search-system', documentation: 'GET /v1/fhir?_type=A,B with the common parameters, sorted by _lastUpdated' }],
        operation: [{ name: 'export', definition: `${BULK_DATA}/OperationDefinition/export` }],
        resource: allResourceTypes().map((type) => ({
          type,
          interaction: INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: false,
          updateCreate: true,
          conditionalCreate: false,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported',
          searchInclude: ['*', ...referenceParameters(type).map((value) => value.include)],
          searchRevInclude: ['*', ...(revincludes.get(type) ?? [])],
          searchParam: searchParams(type),
          ...(TYPE_EXPORTS[type] ? { operation: [{ name: 'export', definition: `${BULK_DATA}/OperationDefinition/${TYPE_EXPORTS[type]}` }] } : {}),
        })),
      },
    ],
  };
  cached = { baseUrl, text: JSON.stringify(statement) };
  return cached.text;
}
