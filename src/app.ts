import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { SIMPLIFIED_RESOURCES } from './api/resources/index.js';
import { registerResourceRoutes } from './api/resource-routes.js';
import { SimplifiedService } from './api/resource-service.js';
import { registerAdminRoutes } from './auth/admin-routes.js';
import { registerAuthentication } from './auth/authenticate.js';
import type { KeyCache } from './auth/key-cache.js';
import { TenantService } from './auth/tenants.js';
import { FhirRepository } from './fhir/repository.js';
import { registerFhirRoutes } from './fhir/rest/routes.js';
import { FhirSearch } from './fhir/search/service.js';
import { registerJsonBodies } from './http/body.js';
import { newRequestId } from './http/context.js';
import { frameworkErrorHandler, registerErrorHandling } from './http/error-handler.js';
import { registerGuards } from './http/guards.js';
import { registerHealthRoute } from './http/health.js';
import { loggerOptions, registerRequestLogging } from './http/logging.js';
import { reindexStale } from './jobs/reindex.js';
import { fhirBaseUrl } from './config.js';
import { RateWindow } from './limits/rate-window.js';
import type { Database } from './store/database.js';

export interface AppOptions {
  db: Database;
  keyCache: KeyCache;
  adminKey: string;
  publicUrl: string;
  logLevel?: string;
  /** A pino destination stream, for tests that inspect the logs. */
  logStream?: NodeJS.WritableStream;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The absolute base URL for Location headers and links (CLINIK_PUBLIC_URL). */
    publicUrl: string;
  }
}

/** Wires the layers together: the only place that knows them all. */
export function buildApp(options: AppOptions): FastifyInstance {
  const logger = { ...loggerOptions(options.logLevel ?? 'info'), ...(options.logStream ? { stream: options.logStream } : {}) };
  const app = Fastify({
    logger,
    // Fastify's own per-request lines would log the URL; http/logging.ts writes a safe one instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: newRequestId,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
  });
  app.decorate('publicUrl', options.publicUrl);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerJsonBodies(app);
  registerGuards(app);
  registerErrorHandling(app);
  registerRequestLogging(app);
  registerAuthentication(app, options.keyCache, new RateWindow());

  const repository = new FhirRepository(options.db, fhirBaseUrl(options.publicUrl));
  const search = new FhirSearch(options.db);
  const simplified = new SimplifiedService(repository, search);
  const tenants = new TenantService(options.db, options.keyCache);

  registerHealthRoute(app, options.db);
  for (const resource of SIMPLIFIED_RESOURCES) registerResourceRoutes(app, simplified, resource);
  registerFhirRoutes(app, repository, search);
  registerAdminRoutes(app, tenants, repository, options.adminKey, () => reindexStale(options.db, fhirBaseUrl(options.publicUrl)));
  return app;
}
