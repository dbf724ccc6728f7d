import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../fhir/repository.js';
import { sendData, sendNoContent } from '../http/envelope.js';
import { methodNotAllowed, parseIfMatch } from '../http/routing.js';
import type { SimplifiedService } from './resource-service.js';
import type { CompiledResource } from './simplified-resource.js';

/** Simplified routes take up to 1 MiB, as the SDK enforces on its side. */
export const SIMPLIFIED_BODY_LIMIT = 1024 * 1024;

type IdRequest = FastifyRequest<{ Params: { id: string }; Querystring: Record<string, unknown> }>;

/** The request's tenant scope, for the layers below. */
export function requestContext(request: FastifyRequest): RequestContext {
  const auth = request.auth!;
  return { partitionId: auth.partitionId, tenantId: auth.organisationId, keyId: auth.keyId, requestId: request.id };
}

function queryValues(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/**
 * The one route factory of the simplified API: create, list/search, read, PATCH and DELETE for
 * a resource declaration, plus 405s for the other methods on the same paths.
 */
export function registerResourceRoutes(app: FastifyInstance, service: SimplifiedService, resource: CompiledResource): void {
  const { definition } = resource;
  const collection = `/v1/${definition.path}`;
  const item = `${collection}/:id`;
  const config = { surface: 'api' as const, auth: true };

  app.post(collection, { config, bodyLimit: SIMPLIFIED_BODY_LIMIT }, async (request, reply) =>
    sendData(request, reply, 201, await service.create(requestContext(request), resource, request.body)));

  app.get(collection, { config }, async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) =>
    sendData(request, reply, 200, await service.list(requestContext(request), resource, request.query)));

  app.get(item, { config }, async (request: IdRequest, reply: FastifyReply) => {
    const ctx = requestContext(request);
    const related = { include: queryValues(request.query._include), revinclude: queryValues(request.query._revinclude) };
    if (related.include.length > 0 || related.revinclude.length > 0) {
      return sendData(request, reply, 200, await service.readWithRelated(ctx, resource, request.params.id, related, request.server.publicUrl));
    }
    return sendData(request, reply, 200, await service.read(ctx, resource, request.params.id));
  });

  app.patch(item, { config, bodyLimit: SIMPLIFIED_BODY_LIMIT }, async (request: IdRequest, reply) =>
    sendData(request, reply, 200, await service.update(requestContext(request), resource, request.params.id, request.body, parseIfMatch(request))));

  app.delete(item, { config }, async (request: IdRequest, reply) => {
    await service.delete(requestContext(request), resource, request.params.id);
    return sendNoContent(request, reply);
  });

  methodNotAllowed(app, collection, ['GET', 'POST'], 'api');
  methodNotAllowed(app, item, ['GET', 'PATCH', 'DELETE'], 'api');
}
