import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'];

/**
 * Request-level guards that run before routing decisions matter:
 * - method override headers are refused outright (the public API does the same);
 * - a URL carrying a NUL byte or invalid percent-encoding never reaches a handler or a query.
 */
export function registerGuards(app: FastifyInstance): void {
  // Callback-style hooks, here and in the other per-request hooks that never wait: an async hook
  // costs a promise and a microtask on every request.
  app.addHook('onRequest', (request, _reply, done) => {
    if (OVERRIDE_HEADERS.some((header) => request.headers[header] !== undefined)) {
      done(new ApiError('METHOD_OVERRIDE_REJECTED', 'Method override headers are not accepted'));
    } else if (!isCleanUrl(request.url)) {
      done(new ApiError('INVALID_REQUEST', 'The request URL is malformed'));
    } else {
      done();
    }
  });
}

/**
 * No NUL, raw or encoded, and valid percent-encoding (UTF-8 included: decodeURIComponent refuses
 * encoded surrogates). The raw URL's characters are bytes, so only a `%` can hide anything.
 */
function isCleanUrl(url: string): boolean {
  if (url.includes('\u0000')) return false;
  if (!url.includes('%')) return true;
  try {
    return !decodeURIComponent(url).includes('\u0000');
  } catch {
    return false;
  }
}
