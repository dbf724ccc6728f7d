import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildMeta } from './envelope.js';
import { logRequest } from './logging.js';
import { ApiError, ERROR_CODES, type ErrorCode, type Issue } from '../errors.js';
import { newRequestId, type Surface } from './context.js';

/** Fastify's own errors that are the client's fault, mapped to our codes. */
const FRAMEWORK_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    const apiError = toApiError(error);
    // A 501 on a reserved path is a deliberate answer, not a failure: only failures are logged.
    if (apiError.status >= 500 && apiError.code !== 'NOT_IMPLEMENTED') {
      // Log the kind and the stack frames, never the message: driver messages can quote values.
      request.log.error({ errorName: error.name, errorCode: (error as { code?: string }).code, stack: stackFrames(error) }, 'request failed');
    }
    return sendError(request, reply, apiError);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new ApiError('NOT_FOUND', 'No such route')));
}

/**
 * Errors the router raises before any hook runs (a path parameter longer than the router allows,
 * a path it cannot decode): answered in our format too, never the framework's default body, and
 * logged like any other request.
 * An over-long segment cannot name anything (ids are at most 64 characters): no such route.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  const apiError = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? new ApiError('NOT_FOUND', 'No such route')
    : new ApiError('INVALID_REQUEST', 'The request URL is malformed');
  sendError(request, reply, apiError);
  // No hooks run for router errors, so the request line is written here.
  logRequest(request, reply);
}

function toApiError(error: FastifyError | ApiError): ApiError {
  if (error instanceof ApiError) return error;
  const mapped = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
  if (mapped) return new ApiError(mapped, mapped === 'PAYLOAD_TOO_LARGE' ? 'Request body is too large' : ERROR_CODES[mapped].title);
  if (error.validation) return new ApiError('INVALID_REQUEST', 'Request parameters are invalid');
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return new ApiError('INVALID_REQUEST', 'The request is malformed');
  return new ApiError('INTERNAL_ERROR', 'An unexpected error occurred');
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  reply.headers(error.headers);
  const meta = buildMeta(request, reply, error.status);
  const { type, body } = errorBody(error, surfaceOf(request), meta.requestId);
  return reply.code(error.status).type(type).send(body);
}

/** The error's body: an OperationOutcome on the FHIR API, `{error, message, code, requestId, issues}` elsewhere. */
function errorBody(error: ApiError, surface: Surface, requestId: string): { type: string; body: string } {
  if (surface === 'fhir') return { type: 'application/fhir+json; charset=utf-8', body: JSON.stringify(operationOutcome(error)) };
  const body = {
    error: ERROR_CODES[error.code].title,
    message: error.message,
    code: error.code,
    requestId,
    issues: error.issues,
    // The official SDK reads FHIR-style `issue`; send the same array under both names.
    issue: error.issues,
  };
  return { type: 'application/json; charset=utf-8', body: JSON.stringify(body) };
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them: a raw non-ASCII or space character
 * in the URL, headers over the size limit, a request that never finished arriving. Answered in our
 * format (Fastify's default body is its own) and the connection closed, as the parser's state is
 * lost. Whether the FHIR format applies is read from the request line; nothing of it is logged.
 */
export function clientErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const apiError = error.code === 'HPE_HEADER_OVERFLOW'
    ? new ApiError('HEADERS_TOO_LARGE', 'The request headers are too large')
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ApiError('REQUEST_TIMEOUT', 'The request did not arrive in time')
      : new ApiError('INVALID_REQUEST', 'The request is not valid HTTP/1.1 (characters outside ASCII in a URL must be percent-encoded)');
  const requestId = newRequestId();
  // Typed as JSON by Fastify; Node hands the bytes received so far as a Buffer.
  const raw: unknown = error.rawPacket;
  const requestLine = Buffer.isBuffer(raw) ? raw.subarray(0, 64).toString('latin1') : '';
  const surface: Surface = /^[A-Z]+ \/v1\/fhir(?:[/?# ]|$)/.test(requestLine) ? 'fhir' : 'api';
  const { type, body } = errorBody(apiError, surface, requestId);
  const head = [
    `HTTP/1.1 ${apiError.status} ${ERROR_CODES[apiError.code].title}`,
    `content-type: ${type}`,
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${requestId}`,
    'connection: close',
  ];
  this.log.info({ requestId, route: 'unparsable', status: apiError.status, parserError: error.code }, 'request');
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy();
}

/** The error as a FHIR OperationOutcome (also the outcome of a failed batch Bundle entry). */
export function operationOutcome(error: ApiError): { resourceType: 'OperationOutcome'; issue: Issue[] } {
  const issue = error.issues.length ? error.issues : [{ severity: 'error' as const, code: ERROR_CODES[error.code].fhirIssue, diagnostics: error.message }];
  return { resourceType: 'OperationOutcome', issue };
}

function surfaceOf(request: FastifyRequest): Surface {
  const configured = request.routeOptions?.config?.surface;
  if (configured) return configured;
  return request.url.startsWith('/v1/fhir') ? 'fhir' : 'api';
}

function stackFrames(error: Error): string[] {
  return (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at ')).slice(0, 12).map((line) => line.trim());
}
