import type { Resource } from '@medplum/fhirtypes';
import { ApiError } from '../../errors.js';
import { parseVersionTag } from '../../http/routing.js';
import { isFhirId } from '../../ids.js';
import { isR4ResourceType } from '../definitions/index.js';

/**
 * A batch or transaction Bundle's entries, checked and parsed into the requests they make.
 * Only literal requests are supported: conditional create/update/delete (`ifNoneExist`, a query
 * on a PUT or DELETE url) and conditional references answer 400.
 */

export type SearchParams = Record<string, string | string[]>;

export type EntryRequest =
  | { method: 'POST'; type: string; resource: Resource; fullUrl?: string }
  | { method: 'PUT'; type: string; id: string; resource: Resource; fullUrl?: string; ifMatch?: number }
  | { method: 'DELETE'; type: string; id: string; ifMatch?: number }
  | { method: 'GET'; type: string; id: string }
  | { method: 'GET'; type: string; query: SearchParams };

export interface BundleRequest {
  type: 'batch' | 'transaction';
  /** Each entry as it came, parsed one at a time (a batch answers a bad entry on its own). */
  entries: unknown[];
}

/** The largest Bundle accepted: larger loads belong to the bulk import. */
export const MAX_BUNDLE_ENTRIES = 10_000;

export function parseBundle(body: unknown): BundleRequest {
  if (!isObject(body) || body.resourceType !== 'Bundle') throw new ApiError('INVALID_REQUEST', 'The body must be a Bundle');
  if (body.type !== 'batch' && body.type !== 'transaction') throw new ApiError('INVALID_REQUEST', 'Bundle.type must be batch or transaction');
  const entries = body.entry ?? [];
  if (!Array.isArray(entries)) throw new ApiError('INVALID_REQUEST', 'Bundle.entry must be an array');
  if (entries.length > MAX_BUNDLE_ENTRIES) throw new ApiError('INVALID_REQUEST', `A Bundle may hold at most ${MAX_BUNDLE_ENTRIES} entries`);
  return { type: body.type, entries };
}

/** One entry → its request; `baseUrl` is the server's FHIR base, which absolute request urls may carry. */
export function parseEntry(entry: unknown, baseUrl: string): EntryRequest {
  if (!isObject(entry) || !isObject(entry.request)) throw new ApiError('INVALID_REQUEST', 'entry.request is required');
  const { method, url, ifMatch, ifNoneExist, ifNoneMatch, ifModifiedSince } = entry.request;
  if (typeof url !== 'string' || url === '') throw new ApiError('INVALID_REQUEST', 'entry.request.url is required');
  if (ifNoneExist !== undefined) throw new ApiError('INVALID_REQUEST', 'Conditional create (ifNoneExist) is not supported');
  if (ifNoneMatch !== undefined || ifModifiedSince !== undefined) throw new ApiError('INVALID_REQUEST', 'Conditional reads are not supported');
  const version = typeof ifMatch === 'string' ? parseVersionTag(ifMatch) : undefined;
  const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
  const relative = url.startsWith(`${baseUrl}/`) ? url.slice(baseUrl.length + 1) : url;
  const [path, search] = splitOnce(relative, '?');
  const segments = path.split('/');
  const type = segments[0];
  if (!isR4ResourceType(type)) throw new ApiError('INVALID_REQUEST', 'entry.request.url must start with a FHIR resource type');
  if (segments.length > 2) throw new ApiError('INVALID_REQUEST', 'entry.request.url must be Type, Type/id or Type?query');
  const id = segments[1];
  if (id !== undefined && !isFhirId(id)) throw new ApiError('INVALID_REQUEST', 'entry.request.url has a malformed resource id');

  switch (method) {
    case 'POST':
      if (id !== undefined || search !== undefined) throw new ApiError('INVALID_REQUEST', 'A POST entry url must be the resource type');
      return { method, type, resource: entryResource(entry.resource, type), ...(fullUrl ? { fullUrl } : {}) };
    case 'PUT': {
      if (search !== undefined) throw new ApiError('INVALID_REQUEST', 'Conditional update is not supported');
      if (id === undefined) throw new ApiError('INVALID_REQUEST', 'A PUT entry url must be Type/id');
      const resource = entryResource(entry.resource, type);
      if (resource.id !== undefined && resource.id !== id) throw new ApiError('INVALID_REQUEST', 'The resource id does not match entry.request.url');
      return { method, type, id, resource, ...(fullUrl ? { fullUrl } : {}), ...(version !== undefined ? { ifMatch: version } : {}) };
    }
    case 'DELETE':
      if (search !== undefined) throw new ApiError('INVALID_REQUEST', 'Conditional delete is not supported');
      if (id === undefined) throw new ApiError('INVALID_REQUEST', 'A DELETE entry url must be Type/id');
      return { method, type, id, ...(version !== undefined ? { ifMatch: version } : {}) };
    case 'GET':
      if (id !== undefined) {
        if (search !== undefined) throw new ApiError('INVALID_REQUEST', 'A read entry url takes no query');
        return { method, type, id };
      }
      return { method, type, query: searchParams(search ?? '') };
    default:
      throw new ApiError('INVALID_REQUEST', 'entry.request.method must be GET, POST, PUT or DELETE');
  }
}

function entryResource(resource: unknown, type: string): Resource {
  if (!isObject(resource)) throw new ApiError('INVALID_REQUEST', 'entry.resource is required');
  if (resource.resourceType !== type) throw new ApiError('INVALID_REQUEST', 'entry.resource.resourceType does not match entry.request.url');
  return resource as unknown as Resource;
}

function searchParams(search: string): SearchParams {
  // Null prototype: `__proto__` is a parameter name like any other here.
  const params: SearchParams = Object.create(null) as SearchParams;
  for (const [name, value] of new URLSearchParams(search)) {
    const existing = params[name];
    params[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return params;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
