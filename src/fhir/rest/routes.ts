import type { Resource } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import jsonpatch from 'fast-json-patch';
import { requestContext } from '../../api/resource-routes.js';
import { ApiError } from '../../errors.js';
import { buildMeta } from '../../http/envelope.js';
import { methodNotAllowed, parseIfMatch } from '../../http/routing.js';
import { isFhirId } from '../../ids.js';
import { BundleProcessor } from '../bundle/processor.js';
import { isR4ResourceType } from '../definitions/index.js';
import type { FhirRepository, ResourceVersion } from '../repository.js';
import type { FhirSearch } from '../search/service.js';
import { capabilityStatement } from './capability.js';
import { registerFormSearchRoutes, registerSystemSearchRoutes, sendCompartmentSearch, sendSearch } from './search-routes.js';

/** FHIR bodies (and later Bundles) may be larger than simplified ones. */
export const FHIR_BODY_LIMIT = 16 * 1024 * 1024;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type TypeRequest = FastifyRequest<{ Params: { type: string }; Querystring: Record<string, string | string[]> }>;
type InstanceRequest = FastifyRequest<{ Params: { type: string; id: string }; Querystring: Record<string, string | string[]> }>;
type CompartmentRequest = FastifyRequest<{ Params: { type: string; id: string; rest: string } }>;

/**
 * The raw FHIR R4 passthrough under /v1/fhir: CRUD and search for any R4 resource type, with
 * responses as plain FHIR JSON (no envelope) and errors as OperationOutcomes. Paths reserved for
 * later features (history, operations, compartments other than Patient) answer 501; searches are
 * in src/fhir/rest/search-routes.ts.
 */
export function registerFhirRoutes(app: FastifyInstance, repository: FhirRepository, search: FhirSearch): void {
  const config = { surface: 'fhir' as const, auth: true };
  const publicConfig = { surface: 'fhir' as const };

  const sendCapability = async (request: FastifyRequest, reply: FastifyReply) => {
    buildMeta(request, reply, 200);
    return reply.type(FHIR_JSON).send(capabilityStatement(app.publicUrl));
  };
  app.get('/v1/metadata', { config: publicConfig }, sendCapability);
  app.get('/v1/fhir/metadata', { config: publicConfig }, sendCapability);

  const bundles = new BundleProcessor(repository, search, app.publicUrl);
  for (const url of ['/v1/fhir', '/v1/fhir/']) {
    app.post(url, { config, bodyLimit: FHIR_BODY_LIMIT }, async (request, reply) => {
      const response = await bundles.process(requestContext(request), request.body);
      buildMeta(request, reply, 200);
      return reply.type(FHIR_JSON).send(response);
    });
  }
  app.get('/v1/fhir/_history', { config }, async () => notImplemented('System history'));
  registerSystemSearchRoutes(app, search);

  app.post('/v1/fhir/:type', { config, bodyLimit: FHIR_BODY_LIMIT }, async (request: TypeRequest, reply) => {
    const type = resourceTypeOf(request.params.type);
    const body = resourceBody(request.body, type);
    const version = await repository.create(requestContext(request), body);
    return sendResource(request, reply, 201, version, true);
  });

  app.get('/v1/fhir/:type', { config }, async (request: TypeRequest, reply) => {
    const type = resourceTypeOf(request.params.type);
    return sendSearch(search, request, reply, type, request.query, { path: type });
  });

  methodNotAllowed(app, '/v1/fhir/:type', ['GET', 'POST'], 'fhir');

  app.get('/v1/fhir/:type/_history', { config }, async () => notImplemented('Type history'));
  registerFormSearchRoutes(app, search, resourceTypeOf);

  app.get('/v1/fhir/:type/:id', { config }, async (request: InstanceRequest, reply) => {
    const { type, id } = instanceOf(request);
    return sendResource(request, reply, 200, await repository.read(requestContext(request), type, id));
  });

  app.put('/v1/fhir/:type/:id', { config, bodyLimit: FHIR_BODY_LIMIT }, async (request: InstanceRequest, reply) => {
    const { type, id } = instanceOf(request);
    const body = resourceBody(request.body, type);
    if (body.id !== undefined && body.id !== id) throw new ApiError('INVALID_REQUEST', 'The resource id in the body does not match the URL');
    const { version, created } = await repository.update(requestContext(request), body, id, { ifMatch: parseIfMatch(request) });
    return sendResource(request, reply, created ? 201 : 200, version, created);
  });

  app.patch('/v1/fhir/:type/:id', { config, bodyLimit: FHIR_BODY_LIMIT }, async (request: InstanceRequest, reply) => {
    const { type, id } = instanceOf(request);
    const patch = request.body;
    if (patch === null || typeof patch !== 'object') throw new ApiError('INVALID_REQUEST', 'PATCH takes a JSON Patch array or a JSON object to merge');
    const version = await repository.modify(requestContext(request), type, id, (current) => applyPatch(current, patch), { ifMatch: parseIfMatch(request) });
    return sendResource(request, reply, 200, version);
  });

  app.delete('/v1/fhir/:type/:id', { config }, async (request: InstanceRequest, reply) => {
    const { type, id } = instanceOf(request);
    await repository.delete(requestContext(request), type, id);
    buildMeta(request, reply, 204);
    return reply.code(204).send();
  });

  // POST on an instance path: type-level operations (POST Patient/$validate) answer 501 through
  // instanceOf; a plain id is not something one POSTs to.
  app.post('/v1/fhir/:type/:id', { config, bodyLimit: FHIR_BODY_LIMIT }, async (request: InstanceRequest) => {
    instanceOf(request);
    throw new ApiError('METHOD_NOT_ALLOWED', 'POST is not allowed on a resource instance', [], { allow: 'GET, HEAD, PUT, PATCH, DELETE' });
  });

  app.get('/v1/fhir/:type/:id/_history', { config }, async () => notImplemented('Instance history'));
  app.get('/v1/fhir/:type/:id/_history/:vid', { config }, async () => notImplemented('vread'));
  // Patient/{id}/{Type} (compartment search) and {Type}/{id}/$operation share this shape.
  app.route({ method: ['GET', 'POST'], url: '/v1/fhir/:type/:id/:rest', config, bodyLimit: FHIR_BODY_LIMIT, handler: async (request: CompartmentRequest, reply) => {
    const { rest } = request.params;
    const owner = instanceOf(request as unknown as InstanceRequest);
    if (rest.startsWith('$')) return notImplemented(`Operation ${operationName(rest)}`);
    if (!isR4ResourceType(rest)) throw new ApiError('NOT_FOUND', 'Unknown resource type');
    if (request.method !== 'GET') return notImplemented('Compartment search by POST');
    return sendCompartmentSearch(search, request, reply, owner, rest);
  } });
}

function notImplemented(what: string): never {
  throw new ApiError('NOT_IMPLEMENTED', `${what} is not implemented yet`);
}

/** `$everything` style operation names are echoed only when they are plain words. */
function operationName(segment: string): string {
  return /^\$[A-Za-z-]{1,64}$/.test(segment) ? segment : 'this operation';
}

function resourceTypeOf(segment: string): string {
  if (segment.startsWith('$')) notImplemented(`Operation ${operationName(segment)}`);
  if (!isR4ResourceType(segment)) throw new ApiError('NOT_FOUND', 'Unknown resource type');
  return segment;
}

function instanceOf(request: InstanceRequest): { type: string; id: string } {
  const type = resourceTypeOf(request.params.type);
  const { id } = request.params;
  if (id.startsWith('$')) notImplemented(`Operation ${operationName(id)}`);
  if (!isFhirId(id)) throw new ApiError('INVALID_REQUEST', 'Malformed resource id');
  return { type, id };
}

function resourceBody(body: unknown, type: string): Resource {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError('INVALID_REQUEST', 'The body must be a FHIR resource');
  if ((body as Resource).resourceType !== type) throw new ApiError('INVALID_REQUEST', 'resourceType in the body does not match the URL');
  return body as Resource;
}

/** RFC 6902 when the body is an array, RFC 7386 merge patch when it is an object. */
function applyPatch(current: Resource, patch: object): Resource {
  if (!Array.isArray(patch)) return mergePatch(current, patch) as Resource;
  try {
    return jsonpatch.applyPatch(current, patch as jsonpatch.Operation[], true, true).newDocument;
  } catch (error) {
    const name = error instanceof Error && 'name' in error ? (error as { name: string }).name : 'INVALID_PATCH';
    throw new ApiError('INVALID_REQUEST', `The JSON Patch could not be applied (${name})`);
  }
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Sends the stored text as is, with the version headers (and Location on creation). */
function sendResource(request: FastifyRequest, reply: FastifyReply, status: number, version: ResourceVersion, created = false): FastifyReply {
  buildMeta(request, reply, status);
  reply.header('etag', `W/"${version.versionId}"`).header('last-modified', new Date(version.lastUpdated).toUTCString());
  if (created) reply.header('location', `${request.server.publicUrl}/v1/fhir/${version.resourceType}/${version.id}/_history/${version.versionId}`);
  return reply.code(status).type(FHIR_JSON).send(version.content);
}
