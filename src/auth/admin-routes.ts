import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { FhirRepository } from '../fhir/repository.js';
import { sendData, sendNoContent } from '../http/envelope.js';
import { isFhirId } from '../ids.js';
import { PLANS } from '../limits/plans.js';
import type { Environment } from '../store/tenants.js';
import { checkBody, compileSchema } from '../validation.js';
import { TenantError, type NewTenant, type Scope, type TenantService } from './tenants.js';

const RATE_LIMIT = { anyOf: [{ type: 'integer', minimum: 1, maximum: 10_000_000 }, { type: 'null' }] };
const checkNewTenant = compileSchema({
  type: 'object', additionalProperties: false, required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, plan: { enum: [...PLANS] }, parentTenantId: { type: 'string', maxLength: 64 }, rateLimitPerMinute: RATE_LIMIT },
});
const checkTenantChanges = compileSchema({
  type: 'object', additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, plan: { enum: [...PLANS] }, rateLimitPerMinute: RATE_LIMIT },
});
const checkNewKey = compileSchema({
  type: 'object', additionalProperties: false, required: ['environment'],
  properties: { environment: { enum: ['test', 'live'] }, scope: { enum: ['*', 'read', 'write'] }, expiresAt: { type: 'string', format: 'date-time-utc' } },
});

type TenantParams = { tenantId: string };

/**
 * The operators' API, authenticated with x-admin-key. Its response shapes are relied on by
 * scripts (and by the CLI), so they stay stable.
 */
export function registerAdminRoutes(app: FastifyInstance, tenants: TenantService, repository: FhirRepository, adminKey: string, reindex: () => Promise<number>): void {
  const expected = createHash('sha256').update(adminKey).digest();
  const config = { surface: 'admin' as const };

  app.register(async (admin) => {
    admin.addHook('onRequest', async (request) => {
      const header = request.headers['x-admin-key'];
      const given = Array.isArray(header) ? header[0] : header;
      if (!given) throw new ApiError('UNAUTHORIZED', 'Missing x-admin-key header');
      if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) throw new ApiError('INVALID_KEY', 'Invalid admin key');
    });

    admin.post('/admin/tenants', { config }, async (request, reply) => {
      const input = checkBody<NewTenant>(checkNewTenant, request.body);
      return sendData(request, reply, 201, await tenants.createTenant(input).catch(tenantError));
    });

    admin.get('/admin/tenants/:tenantId', { config }, async (request: FastifyRequest<{ Params: TenantParams }>, reply) => {
      const org = await tenants.getTenant(request.params.tenantId);
      if (!org) throw new ApiError('NOT_FOUND', 'Tenant not found');
      return sendData(request, reply, 200, tenantView(org));
    });

    admin.patch('/admin/tenants/:tenantId', { config }, async (request: FastifyRequest<{ Params: TenantParams }>, reply) => {
      const changes = checkBody<Parameters<TenantService['updateTenant']>[1]>(checkTenantChanges, request.body);
      return sendData(request, reply, 200, tenantView(await tenants.updateTenant(request.params.tenantId, changes).catch(tenantError)));
    });

    admin.post('/admin/tenants/:tenantId/keys', { config }, async (request: FastifyRequest<{ Params: TenantParams }>, reply) => {
      const input = checkBody<{ environment: Environment; scope?: Scope; expiresAt?: string }>(checkNewKey, request.body);
      const key = await tenants.createKey(request.params.tenantId, input.environment, input.scope ?? '*', input.expiresAt ?? null).catch(tenantError);
      return sendData(request, reply, 201, { id: key.id, key: key.key, tenantId: key.organisationId, environment: key.environment, scope: key.scope, prefix: key.prefix, expiresAt: key.expiresAt, createdAt: key.createdAt });
    });

    admin.get('/admin/tenants/:tenantId/keys', { config }, async (request: FastifyRequest<{ Params: TenantParams }>, reply) => {
      const keys = await tenants.listKeys(request.params.tenantId).catch(tenantError);
      return sendData(request, reply, 200, keys.map((key) => ({ id: key.id, environment: key.environment, scope: key.scope, prefix: key.prefix, expiresAt: key.expiresAt, revokedAt: key.revokedAt, createdAt: key.createdAt })));
    });

    admin.delete('/admin/keys/:keyId', { config }, async (request: FastifyRequest<{ Params: { keyId: string } }>, reply) => {
      await tenants.revokeKey(request.params.keyId).catch(tenantError);
      return sendNoContent(request, reply);
    });

    admin.delete('/admin/tenants/:tenantId/:environment/resources/:type/:id', { config }, async (request: FastifyRequest<{ Params: TenantParams & { environment: string; type: string; id: string } }>, reply) => {
      const { tenantId, environment, type, id } = request.params;
      if ((environment !== 'test' && environment !== 'live') || !isFhirId(id)) throw new ApiError('NOT_FOUND', 'Resource not found');
      const partitionId = await tenants.partitionOf(tenantId, environment);
      if (partitionId === undefined || !(await repository.erase(partitionId, type, id))) throw new ApiError('NOT_FOUND', 'Resource not found');
      return sendNoContent(request, reply);
    });

    admin.post('/admin/reindex', { config }, async (request, reply) => sendData(request, reply, 200, { reindexed: await reindex() }));
  });
}

function tenantView(org: { id: string; name: string; plan: string; parentId: string | null; rateLimitCustom: boolean; rateLimitPerMinute: number | null; createdAt: string }) {
  return {
    tenantId: org.id,
    name: org.name,
    plan: org.plan,
    parentTenantId: org.parentId,
    ...(org.rateLimitCustom ? { rateLimitPerMinute: org.rateLimitPerMinute } : {}),
    createdAt: org.createdAt,
  };
}

function tenantError(error: unknown): never {
  if (error instanceof TenantError) {
    throw error.reason === 'not-found' ? new ApiError('NOT_FOUND', error.message) : new ApiError('VALIDATION_ERROR', error.message);
  }
  throw error;
}
