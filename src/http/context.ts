import { prefixedId } from '../ids.js';
import type { AuthContext } from '../auth/authenticate.js';
import type { RateLimitState } from '../limits/rate-window.js';

/** Which error and response format a route speaks. */
export type Surface = 'api' | 'fhir' | 'admin' | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
    rateLimit?: RateLimitState;
  }
  interface FastifyContextConfig {
    surface?: Surface;
    /** Routes that need an API key; GET and HEAD need the read scope, the rest the write scope. */
    auth?: boolean;
  }
}

/** Request ids look like the public service's: req_ followed by lower-case alphanumerics. */
export function newRequestId(): string {
  return prefixedId('req', 16);
}
