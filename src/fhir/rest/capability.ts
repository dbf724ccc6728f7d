import { allResourceTypes, searchParameters } from '../definitions/index.js';

/**
 * The CapabilityStatement served at /v1/metadata and /v1/fhir/metadata, generated from what the
 * server supports: every R4 resource type, its interactions and its search parameters. Operations
 * are added here as they land.
 */
const INTERACTIONS = ['read', 'create', 'update', 'patch', 'delete', 'search-type'];
/** Result parameters honoured on every type. */
const COMMON_SEARCH = [
  { name: '_id', type: 'token' },
  { name: '_lastUpdated', type: 'date' },
  { name: '_count', type: 'number' },
  { name: '_sort', type: 'string' },
  { name: '_total', type: 'token' },
];

let cached: { baseUrl: string; text: string } | undefined;

export function capabilityStatement(baseUrl: string): string {
  if (cached?.baseUrl === baseUrl) return cached.text;
  const statement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'ClinikAPI',
    kind: 'instance',
    software: { name: 'ClinikAPI' },
    implementation: { description: 'ClinikAPI FHIR R4 server', url: `${baseUrl}/v1/fhir` },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/merge-patch+json'],
    rest: [
      {
        mode: 'server',
        security: { description: 'Send an API key in the x-api-key header (clk_live_… or clk_test_…).' },
        resource: allResourceTypes().map((type) => ({
          type,
          interaction: INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: false,
          updateCreate: true,
          conditionalCreate: false,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported',
          searchParam: [
            ...COMMON_SEARCH,
            ...Object.entries(searchParameters(type))
              .filter(([code, parameter]) => !code.startsWith('_') && parameter.expression)
              .map(([code, parameter]) => ({ name: code, definition: parameter.url, type: parameter.type })),
          ],
        })),
      },
    ],
  };
  cached = { baseUrl, text: JSON.stringify(statement) };
  return cached.text;
}
