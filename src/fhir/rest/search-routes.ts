import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requestContext } from '../../api/resource-routes.js';
import { ApiError } from '../../errors.js';
import { registerFormBodies } from '../../http/body.js';
import { buildMeta } from '../../http/envelope.js';
import { patientCompartmentParameters } from '../search/compartment.js';
import type { SearchQueryString } from '../search/parse.js';
import type { BundleOptions, FhirSearch } from '../search/service.js';

/**
 * The FHIR search forms: `GET /v1/fhir/{Type}?…`, `POST /v1/fhir/{Type}/_search` (form body and
 * URL parameters together), the Patient compartment `GET /v1/fhir/Patient/{id}/{Type}?…`, and
 * system search over several types (`GET /v1/fhir?_type=…`, `POST /v1/fhir/_search`).
 * Resource types reach these handlers already checked by src/fhir/rest/routes.ts.
 */

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type SearchRequest = FastifyRequest<{ Params: { type?: string }; Querystring: SearchQueryString }>;

/** `POST _search`: the routes in an encapsulated scope, the only place form bodies are accepted. */
export function registerFormSearchRoutes(app: FastifyInstance, search: FhirSearch, checkType: (segment: string) => string): void {
  const config = { surface: 'fhir' as const, auth: true };
  void app.register(async (scope) => {
    registerFormBodies(scope);
    scope.post('/v1/fhir/:type/_search', { config }, async (request: SearchRequest, reply) => {
      const type = checkType(request.params.type ?? '');
      return sendSearch(search, request, reply, type, withForm(request), { path: type });
    });
    scope.post('/v1/fhir/_search', { config }, async (request: SearchRequest, reply) => sendSystemSearch(search, request, reply, withForm(request)));
  });
}

/** `GET /v1/fhir?_type=…`: system search. */
export function registerSystemSearchRoutes(app: FastifyInstance, search: FhirSearch): void {
  const config = { surface: 'fhir' as const, auth: true };
  for (const url of ['/v1/fhir', '/v1/fhir/']) {
    app.get(url, { config }, async (request: SearchRequest, reply) => sendSystemSearch(search, request, reply, request.query));
  }
}

async function sendSystemSearch(search: FhirSearch, request: FastifyRequest, reply: FastifyReply, query: SearchQueryString): Promise<FastifyReply> {
  const bundle = await search.systemBundle(requestContext(request), query, { baseUrl: request.server.publicUrl, strict: isStrict(request) });
  buildMeta(request, reply, 200);
  return reply.type(FHIR_JSON).send(bundle);
}

export async function sendSearch(
  search: FhirSearch,
  request: FastifyRequest,
  reply: FastifyReply,
  type: string,
  query: SearchQueryString,
  options: Pick<BundleOptions, 'path' | 'compartment'>,
): Promise<FastifyReply> {
  const bundle = await search.searchBundle(requestContext(request), type, query, { ...options, baseUrl: request.server.publicUrl, strict: isStrict(request) });
  buildMeta(request, reply, 200);
  return reply.type(FHIR_JSON).send(bundle);
}

/** `GET /v1/fhir/Patient/{id}/{Type}`: a search restricted to the patient's compartment. */
export async function sendCompartmentSearch(search: FhirSearch, request: FastifyRequest, reply: FastifyReply, owner: { type: string; id: string }, type: string): Promise<FastifyReply> {
  if (owner.type !== 'Patient') throw new ApiError('NOT_IMPLEMENTED', `The ${owner.type} compartment is not implemented yet (only Patient's)`);
  const params = patientCompartmentParameters(type);
  if (!params) throw new ApiError('INVALID_REQUEST', `${type} is not in the Patient compartment`);
  const compartment = { type: owner.type, id: owner.id, params };
  return sendSearch(search, request, reply, type, request.query as SearchQueryString, { path: `${owner.type}/${owner.id}/${type}`, compartment });
}

/** The URL's parameters followed by the form body's: repeated names keep every value (ANDed). */
function withForm(request: SearchRequest): SearchQueryString {
  const body = request.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send _search parameters as application/x-www-form-urlencoded');
  // Null prototype: `__proto__` is a name like any other here.
  const merged: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const source of [request.query, body as SearchQueryString]) {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      if (!Array.isArray(value) && typeof value !== 'string') throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send _search parameters as application/x-www-form-urlencoded');
      (merged[key] ??= []).push(...(Array.isArray(value) ? value : [value]));
    }
  }
  return merged;
}

/** `Prefer: handling=strict` (RFC 7240; FHIR R4 search §3.1.1.4). */
function isStrict(request: FastifyRequest): boolean {
  const prefer = request.headers.prefer;
  return (Array.isArray(prefer) ? prefer : [prefer ?? '']).some((value) => /(?:^|[,;\s])handling\s*=\s*"?strict"?(?:$|[,;\s])/i.test(value));
}
