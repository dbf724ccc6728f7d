import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { effectiveRateLimit } from '../limits/plans.js';
import type { RateWindow } from '../limits/rate-window.js';
import type { Environment } from '../store/tenants.js';
import type { KeyCache } from './key-cache.js';
import { hashKey, isWellFormedKey, sameHash } from './keys.js';

/** Who is calling: travels with the request from here down to the store. */
export interface AuthContext {
  keyId: string;
  /** The tenant: the organisation (or sub-organisation) the key belongs to; its id is the tenant tag code. */
  organisationId: string;
  /** The organisation whose limits apply: the parent of a sub-organisation. */
  rootOrganisationId: string;
  partitionId: number;
  environment: Environment;
  scope: string;
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Authenticates routes whose config has `auth: true` from the x-api-key header, checks the key's
 * scope against the method, then applies the organisation's per-minute rate limit. The limit
 * headers go out on every authenticated response, errors included.
 */
export function registerAuthentication(app: FastifyInstance, keys: KeyCache, rateWindow: RateWindow): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!request.routeOptions.config.auth) return;
    const { auth, rateLimit } = await authenticate(request, keys);
    request.auth = auth;
    const state = rateWindow.hit(auth.rootOrganisationId, rateLimit);
    request.rateLimit = state;
    if (state.limit !== null) {
      reply.header('x-ratelimit-limit', state.limit);
      reply.header('x-ratelimit-remaining', state.remaining);
      reply.header('x-ratelimit-reset', state.resetSeconds);
    }
    if (!state.allowed) {
      throw new ApiError('RATE_LIMITED', 'Rate limit exceeded: too many requests this minute', [], { 'retry-after': String(state.resetSeconds) });
    }
  });
}

async function authenticate(request: FastifyRequest, keys: KeyCache): Promise<{ auth: AuthContext; rateLimit: number | null }> {
  const header = request.headers['x-api-key'];
  const key = Array.isArray(header) ? header[0] : header;
  if (!key) throw new ApiError('UNAUTHORIZED', 'Missing x-api-key header');
  if (!isWellFormedKey(key)) throw new ApiError('INVALID_KEY_FORMAT', 'API keys look like clk_live_… or clk_test_…');
  const keyHash = hashKey(key);
  const row = await keys.lookup(keyHash);
  if (!row || !sameHash(row.keyHash, keyHash)) throw new ApiError('INVALID_KEY', 'Invalid API key');
  if (row.revokedAt) throw new ApiError('KEY_REVOKED', 'This API key has been revoked');
  if (row.expiresAt && Date.parse(row.expiresAt) <= Date.now()) throw new ApiError('KEY_EXPIRED', 'This API key has expired');
  const needed = READ_METHODS.has(request.method) ? 'read' : 'write';
  if (row.scope !== '*' && row.scope !== needed) throw new ApiError('FORBIDDEN', `This API key does not have the ${needed} scope`);
  return {
    auth: {
      keyId: row.id,
      organisationId: row.organisationId,
      rootOrganisationId: row.rootOrganisationId,
      partitionId: row.partitionId,
      environment: row.environment,
      scope: row.scope,
    },
    rateLimit: effectiveRateLimit(row.rootPlan, row.rootRateLimitCustom, row.rootRateLimitPerMinute),
  };
}
