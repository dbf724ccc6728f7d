import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { COMPILED_RESOURCES } from './api/resources/index.js';
import { registerResourceRoutes } from './api/resource-routes.js';
import { SimplifiedService } from './api/resource-service.js';
import { mapImportRecord } from './api/bulk-records.js';
import { registerBulkRoutes } from './api/bulk-routes.js';
import { BulkService } from './api/bulk-service.js';
import { registerAdminRoutes } from './auth/admin-routes.js';
import { registerAuthentication } from './auth/authenticate.js';
import type { KeyCache } from './auth/key-cache.js';
import { TenantService } from './auth/tenants.js';
import { FhirRepository } from './fhir/repository.js';
import { registerFhirRoutes } from './fhir/rest/routes.js';
import { FhirSearch } from './fhir/search/service.js';
import { registerJsonBodies } from './http/body.js';
import { newRequestId } from './http/context.js';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from './http/error-handler.js';
import { registerGuards } from './http/guards.js';
import { registerHealthRoute } from './http/health.js';
import { loggerOptions, registerRequestLogging } from './http/logging.js';
import { reindexStale } from './jobs/reindex.js';
import { exportHandler } from './jobs/export.js';
import { fhirExportHandler } from './jobs/fhir-export.js';
import { createImportHandler } from './jobs/import.js';
import { createOutputStore } from './jobs/output-store.js';
import { JobRunner } from './jobs/runner.js';
import { UrlSigner } from './jobs/signing.js';
import { registerFhirExportRoutes } from './fhir/operations/bulk-export.js';
import { fhirBaseUrl, type BulkConfig } from './config.js';
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
  /** Bulk jobs; the defaults suit tests (database output, 60 min deadline, 24 h retention). */
  bulk?: Partial<BulkConfig> & { pollMs?: number; sweepMs?: number; leaseSeconds?: number };
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
    clientErrorHandler,
  });
  app.decorate('publicUrl', options.publicUrl);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
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

  // Bulk jobs: the runner starts with the app and stops (handing its jobs back) when it closes.
  const bulkConfig = { storage: 'database' as const, dataDir: './data', deadlineMinutes: 60, retentionHours: 24, signingSecret: undefined, nodeId: undefined, concurrency: 1, ...options.bulk };
  const output = createOutputStore(options.db, bulkConfig);
  const signer = new UrlSigner(bulkConfig.signingSecret);
  const runner = new JobRunner(
    options.db,
    [createImportHandler(repository, mapImportRecord), exportHandler, fhirExportHandler({ publicUrl: options.publicUrl })],
    { ...bulkConfig, output, log: (event, fields) => app.log.info(fields, event) },
  );
  app.addHook('onReady', async () => {
    await runner.start();
  });
  app.addHook('onClose', () => runner.stop());
  const bulk = { db: options.db, runner, output, signer, deadlineMinutes: bulkConfig.deadlineMinutes, retentionHours: bulkConfig.retentionHours };

  registerHealthRoute(app, options.db);
  for (const resource of COMPILED_RESOURCES) registerResourceRoutes(app, simplified, resource);
  registerBulkRoutes(app, new BulkService(bulk));
  registerFhirExportRoutes(app, bulk);
  registerFhirRoutes(app, repository, search);
  registerAdminRoutes(app, tenants, repository, options.adminKey, () => reindexStale(options.db, fhirBaseUrl(options.publicUrl)));
  return app;
}
