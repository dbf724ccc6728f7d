import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BulkServices } from '../../api/bulk-routes.js';
import { ApiError } from '../../errors.js';
import { buildMeta } from '../../http/envelope.js';
import { methodNotAllowed } from '../../http/routing.js';
import { isFhirId } from '../../ids.js';
import type { JobFile } from '../../jobs/output-store.js';
import type { JobRecord } from '../../store/jobs.js';
import type { SearchQueryString } from '../search/parse.js';
import { parseKickOff, type ExportLevel, type FhirExportRequest } from './bulk-export-params.js';
import { FhirExportService, type ExportCaller } from './bulk-export-service.js';

/**
 * FHIR Bulk Data `$export` (https://hl7.org/fhir/uv/bulkdata/export.html): kick-off at the
 * system, Patient and Group levels (GET, or POST with a Parameters body), then the status URL:
 * GET polls (202 with X-Progress while running, 200 with the manifest once done), DELETE cancels.
 * The manifest's file URLs are signed download URLs (no API key needed, valid one hour, fresh
 * on every poll), hence `requiresAccessToken: false`.
 */

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
export const EXPORT_STATUS_PATH = '/v1/fhir/$export-status';
/** Seconds a client should wait between polls. */
const RETRY_AFTER_SECONDS = 2;
const JOB_ID = /^job_[a-z0-9]{1,40}$/;

type KickOffRequest = FastifyRequest<{ Params: { id?: string }; Querystring: SearchQueryString }>;
type StatusRequest = FastifyRequest<{ Params: { jobId: string } }>;

/** Registers the $export routes on the job services of the simplified bulk API; the runner needs fhirExportHandler (src/jobs/fhir-export.ts). */
export function registerFhirExportRoutes(app: FastifyInstance, bulk: BulkServices): void {
  const service = new FhirExportService(bulk, app.publicUrl);
  const config = { surface: 'fhir' as const, auth: true };
  const kickOffRoute = (url: string, level: ExportLevel) => {
    // No HEAD twin of the GET: a kick-off starts a job, which HEAD must not do.
    app.route({ method: ['GET', 'POST'], url, config, exposeHeadRoute: false, handler: (request: KickOffRequest, reply) => kickOff(service, request, reply, level) });
    methodNotAllowed(app, url, ['GET', 'POST'], 'fhir', false);
  };
  kickOffRoute('/v1/fhir/$export', 'system');
  kickOffRoute('/v1/fhir/Patient/$export', 'patient');
  kickOffRoute('/v1/fhir/Group/:id/$export', 'group');

  app.get(`${EXPORT_STATUS_PATH}/:jobId`, { config }, async (request: StatusRequest, reply) => {
    const status = await service.status(callerOf(request), jobIdOf(request));
    if (status.state === 'failed') {
      // Bulk Data: a failed export answers 5xx with an OperationOutcome. Sent, not thrown: the
      // poll itself did not fail, so it is not logged as a server error. The reason has no PHI.
      buildMeta(request, reply, 500);
      return reply.code(500).type(FHIR_JSON).send(outcome('error', 'exception', status.job.failure ?? 'The export failed'));
    }
    if (status.state === 'running') {
      buildMeta(request, reply, 202);
      const types = (status.job.request as FhirExportRequest).types.length;
      const progress = status.job.status === 'pending' ? 'queued' : `${status.job.processedRecords} resources exported, ${status.typesDone} of ${types} types done`;
      return reply.code(202).header('x-progress', progress).header('retry-after', String(RETRY_AFTER_SECONDS)).send();
    }
    buildMeta(request, reply, 200);
    const now = Date.now();
    const manifest = exportManifest(status.job, status.files, (name) => bulk.signer.signedFileUrl(app.publicUrl, status.job, name, now));
    return reply.code(200).type('application/json; charset=utf-8').send(manifest);
  });

  app.delete(`${EXPORT_STATUS_PATH}/:jobId`, { config }, async (request: StatusRequest, reply) => {
    await service.cancel(callerOf(request), jobIdOf(request));
    buildMeta(request, reply, 202);
    return reply.code(202).type(FHIR_JSON).send(outcome('information', 'informational', 'The export was cancelled and its files deleted'));
  });
  methodNotAllowed(app, `${EXPORT_STATUS_PATH}/:jobId`, ['GET', 'DELETE'], 'fhir');
}

async function kickOff(service: FhirExportService, request: KickOffRequest, reply: FastifyReply, level: ExportLevel): Promise<FastifyReply> {
  const prefer = preferTokens(request);
  if (!prefer.has('respond-async')) throw new ApiError('INVALID_REQUEST', '$export runs asynchronously: send Prefer: respond-async');
  const groupId = request.params.id;
  if (groupId !== undefined && !isFhirId(groupId)) throw new ApiError('INVALID_REQUEST', 'Malformed resource id');
  const parameters = parseKickOff({
    level,
    ...(groupId !== undefined ? { groupId } : {}),
    query: request.query,
    ...(request.method === 'POST' && request.body !== undefined ? { body: request.body } : {}),
    requestUrl: `${request.server.publicUrl}${request.url}`,
    baseUrl: request.server.publicUrl,
    lenient: prefer.has('handling=lenient'),
  });
  const job = await service.kickOff(callerOf(request), parameters);
  buildMeta(request, reply, 202);
  reply.header('content-location', `${request.server.publicUrl}${EXPORT_STATUS_PATH}/${job.id}`);
  return reply.code(202).type(FHIR_JSON).send(outcome('information', 'informational', 'The export has started: poll the Content-Location URL for its status'));
}

/** The Bulk Data manifest of a completed export: one output entry per non-empty file, in request type order. */
export function exportManifest(job: Pick<JobRecord, 'createdAt' | 'request'>, files: JobFile[], urlOf: (name: string) => string) {
  const request = job.request as FhirExportRequest;
  const order = new Map(request.types.map((type, index) => [type, index]));
  const position = (file: JobFile) => order.get(file.resourceType ?? '') ?? order.size;
  return {
    transactionTime: job.createdAt,
    request: request.requestUrl,
    requiresAccessToken: false,
    output: files
      .filter((file) => file.records > 0)
      .sort((a, b) => position(a) - position(b))
      .map((file) => ({ type: file.resourceType, url: urlOf(file.name), count: file.records })),
    error: [],
  };
}

function callerOf(request: FastifyRequest): ExportCaller {
  const auth = request.auth!;
  return { partitionId: auth.partitionId, organisationId: auth.organisationId };
}

function jobIdOf(request: StatusRequest): string {
  const { jobId } = request.params;
  if (!JOB_ID.test(jobId)) throw new ApiError('NOT_FOUND', 'Export job not found');
  return jobId;
}

/** The Prefer header's preferences (RFC 7240), lower-cased, without spaces or quotes. */
function preferTokens(request: FastifyRequest): Set<string> {
  const header = request.headers.prefer;
  const values = Array.isArray(header) ? header : [header ?? ''];
  return new Set(values.flatMap((value) => value.split(/[,;]/)).map((token) => token.replace(/[\s"]/g, '').toLowerCase()).filter((token) => token !== ''));
}

function outcome(severity: 'error' | 'information', code: string, diagnostics: string) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}
