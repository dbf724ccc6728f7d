import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';

/** JSON bodies arrive under any of these media types, with any charset parameter (merge-patch: a FHIR patchFormat we advertise). */
export const JSON_MEDIA_TYPES = ['application/json', 'application/fhir+json', 'application/json-patch+json', 'application/merge-patch+json'];

/** Deeper than any real FHIR resource; a bound so hostile nesting costs nothing. */
const MAX_DEPTH = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Registers one strict JSON parser for the three media types. It rejects invalid UTF-8, NUL
 * characters (PostgreSQL text cannot hold them) and nesting deeper than MAX_DEPTH with 400
 * INVALID_JSON before the body reaches any handler.
 */
export function registerJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_MEDIA_TYPES, { parseAs: 'buffer' }, (_request: FastifyRequest, body: Buffer, done) => {
    try {
      done(null, parseJsonBody(body));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Anything else is refused explicitly rather than with the framework's default error.
  app.addContentTypeParser('*', (_request, _payload, done) => {
    done(new ApiError('UNSUPPORTED_MEDIA_TYPE', `Send the body as ${JSON_MEDIA_TYPES.join(', ')}`), undefined);
  });
}

export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw new ApiError('INVALID_JSON', 'Request body is empty');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ApiError('INVALID_JSON', 'Request body is not valid UTF-8');
  }
  if (text.includes('\u0000') || /\\u0000/i.test(text)) throw new ApiError('INVALID_JSON', 'Request body contains a NUL character');
  if (nestingDepth(text) > MAX_DEPTH) throw new ApiError('INVALID_JSON', `Request body nests deeper than ${MAX_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('INVALID_JSON', 'Request body is not valid JSON');
  }
}

/** The deepest bracket nesting outside string literals, found in one pass without recursion. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Form bodies: `application/x-www-form-urlencoded`, for the routes (FHIR `_search`) that take them. */
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/**
 * Registers the form parser on `scope` (an encapsulated plugin): the body becomes a query-string
 * record, repeated names as arrays, as Fastify gives the URL's query.
 */
export function registerFormBodies(scope: FastifyInstance): void {
  scope.addContentTypeParser(FORM_MEDIA_TYPE, { parseAs: 'buffer' }, (_request: FastifyRequest, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      done(new ApiError('INVALID_REQUEST', 'Request body is not valid UTF-8'), undefined);
      return;
    }
    // Null prototype: `__proto__` is a name like any other here.
    const record: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
    for (const [key, value] of new URLSearchParams(text)) {
      const previous = record[key];
      record[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
    done(null, record);
  });
}
