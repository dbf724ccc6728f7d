import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { JSON_MEDIA_TYPES } from '../http/body.js';
import { sendData } from '../http/envelope.js';
import { methodNotAllowed } from '../http/routing.js';
import type { BulkService } from './bulk-service.js';

// The FHIR $export routes take the same services (src/fhir/operations/bulk-export.ts imports them from here).
export type { BulkServices } from './bulk-service.js';

/** The simplified bulk API (contract §7): import, export, job status, and signed downloads. */
export function registerBulkRoutes(app: FastifyInstance, service: BulkService): void {
  const config = { surface: 'api' as const, auth: true };

  // The import body is read as a stream (http/ndjson-body.ts), so this route gets a parser that hands it over untouched.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(JSON_MEDIA_TYPES, (_request, payload, done) => done(null, payload));
    scope.addContentTypeParser('*', (_request, _payload, done) => {
      done(new ApiError('UNSUPPORTED_MEDIA_TYPE', `Send the body as ${JSON_MEDIA_TYPES.join(', ')}`), undefined);
    });
    scope.post('/v1/bulk/import', { config }, async (request, reply) => {
      const job = await service.startImport(request.auth!, (request.body as Readable | undefined) ?? request.raw);
      return sendData(request, reply, 202, { jobId: job.id, status: job.status, message: `Import job started for ${job.totalRecords} records` });
    });
  });

  app.post('/v1/bulk/export', { config }, async (request, reply) => {
    const job = await service.startExport(request.auth!, request.body);
    return sendData(request, reply, 202, { jobId: job.id, status: job.status, message: 'Export job started' });
  });

  app.get('/v1/bulk/jobs/:jobId', { config }, async (request: FastifyRequest<{ Params: { jobId: string } }>, reply) =>
    sendData(request, reply, 200, await service.jobStatus(request.auth!, request.params.jobId, request.server.publicUrl)));

  // No API key: the signature is the credential, so a download link works from any HTTP client.
  type DownloadRequest = FastifyRequest<{ Params: { jobId: string; name: string }; Querystring: Record<string, string | undefined> }>;
  app.get('/v1/bulk/files/:jobId/:name', { config: { surface: 'api' as const } }, async (request: DownloadRequest, reply: FastifyReply) => {
    const { file, stream } = await service.openDownload(request.params.jobId, request.params.name, request.query.expires, request.query.signature);
    return reply.code(200).type('application/fhir+ndjson').header('content-length', file.bytes).header('cache-control', 'private, no-store').send(stream);
  });

  methodNotAllowed(app, '/v1/bulk/import', ['POST'], 'api');
  methodNotAllowed(app, '/v1/bulk/export', ['POST'], 'api');
  methodNotAllowed(app, '/v1/bulk/jobs/:jobId', ['GET'], 'api');
}
