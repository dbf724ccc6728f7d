import { ApiError, ERROR_CODES } from '../../errors.js';
import { operationOutcome } from '../../http/error-handler.js';
import { uuidv7 } from '../../ids.js';
import type { BatchWrite, BatchWritten, FhirRepository, RequestContext } from '../repository.js';
import type { FhirSearch } from '../search/service.js';
import { parseBundle, parseEntry, type EntryRequest } from './entries.js';
import { isLocalUrl, rewriteReferences } from './references.js';

/**
 * POST [base] with a batch or transaction Bundle.
 *
 * A transaction is all or nothing: every write goes through one repository batch write (one
 * database transaction), and any failing write fails the whole Bundle with an error naming the
 * entry. Reads and searches run after the commit, each answered in its own entry. A batch runs each entry on its own, each with its own
 * status or OperationOutcome. In both, POST entries get fresh ids first, so that every
 * `urn:uuid:`/`urn:oid:` fullUrl can be rewritten to `Type/id` wherever it is referenced.
 */

interface ResponseEntry {
  fullUrl?: string;
  resource?: unknown;
  response: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: unknown };
}

export interface ResponseBundle {
  resourceType: 'Bundle';
  type: 'batch-response' | 'transaction-response';
  entry: ResponseEntry[];
}

const entryLabel = (index: number) => `Bundle.entry[${index}]`;

export class BundleProcessor {
  constructor(
    private readonly repository: FhirRepository,
    private readonly search: FhirSearch,
    /** The public server url; the FHIR base is `${publicUrl}/v1/fhir`. */
    private readonly publicUrl: string,
  ) {}

  async process(ctx: RequestContext, body: unknown): Promise<ResponseBundle> {
    const bundle = parseBundle(body);
    return bundle.type === 'transaction' ? this.transaction(ctx, bundle.entries) : this.batch(ctx, bundle.entries);
  }

  private async transaction(ctx: RequestContext, rawEntries: unknown[]): Promise<ResponseBundle> {
    const entries = rawEntries.map((entry, index) => located(index, () => parseEntry(entry, this.fhirBase)));
    const { ids, urls } = assignIds(entries);
    const writeIndexes: number[] = [];
    const writes: BatchWrite[] = [];
    entries.forEach((entry, index) => {
      const write = located(index, () => toWrite(entry, ids.get(index), urls));
      if (write) {
        writeIndexes.push(index);
        writes.push(write);
      }
    });
    const written = await this.repository.writeBatch(ctx, writes, { label: (i) => entryLabel(writeIndexes[i]) });
    const responses: ResponseEntry[] = [];
    writeIndexes.forEach((entryIndex, i) => (responses[entryIndex] = this.writeResponse(written[i])));
    // Reads run after the commit, so they see the writes; a failing read cannot undo them and is
    // answered in its entry, as in a batch.
    for (const [index, entry] of entries.entries()) {
      if (entry.method === 'GET') responses[index] = await this.read(ctx, entry).catch((error: unknown) => failure(asApiError(error)));
    }
    return { resourceType: 'Bundle', type: 'transaction-response', entry: responses };
  }

  private async batch(ctx: RequestContext, rawEntries: unknown[]): Promise<ResponseBundle> {
    const parsed = rawEntries.map((entry) => caught(() => parseEntry(entry, this.fhirBase)));
    const { ids, urls } = assignIds(parsed.map((entry) => (entry instanceof ApiError ? undefined : entry)));
    const responses: ResponseEntry[] = [];
    for (const [index, entry] of parsed.entries()) {
      const response = entry instanceof ApiError ? entry : await this.runOne(ctx, entry, ids.get(index), urls).catch(asApiError);
      responses.push(response instanceof ApiError ? failure(response) : response);
    }
    return { resourceType: 'Bundle', type: 'batch-response', entry: responses };
  }

  private async runOne(ctx: RequestContext, entry: EntryRequest, id: string | undefined, urls: ReadonlyMap<string, string>): Promise<ResponseEntry> {
    const write = toWrite(entry, id, urls);
    if (!write) return this.read(ctx, entry);
    const [written] = await this.repository.writeBatch(ctx, [write]);
    return this.writeResponse(written);
  }

  private async read(ctx: RequestContext, entry: EntryRequest): Promise<ResponseEntry> {
    if (entry.method !== 'GET') throw new Error('read() takes GET entries');
    if ('id' in entry) {
      const version = await this.repository.read(ctx, entry.type, entry.id);
      return {
        fullUrl: `${this.fhirBase}/${entry.type}/${entry.id}`,
        resource: JSON.parse(version.content),
        response: { status: '200 OK', etag: `W/"${version.versionId}"`, lastModified: version.lastUpdated },
      };
    }
    const bundle = await this.search.searchBundle(ctx, entry.type, entry.query, { baseUrl: this.publicUrl, path: entry.type });
    return { resource: JSON.parse(bundle), response: { status: '200 OK' } };
  }

  private writeResponse(written: BatchWritten): ResponseEntry {
    const path = `${written.resourceType}/${written.id}`;
    const version = { etag: `W/"${written.versionId}"`, lastModified: written.lastUpdated };
    if (written.outcome === 'deleted') return { response: { status: '204 No Content', ...version } };
    return {
      fullUrl: `${this.fhirBase}/${path}`,
      response: { status: written.outcome === 'created' ? '201 Created' : '200 OK', location: `${path}/_history/${written.versionId}`, ...version },
    };
  }

  private get fhirBase(): string {
    return `${this.publicUrl}/v1/fhir`;
  }
}

/**
 * The id each creating entry gets (POST: fresh; PUT: its own) and the `Type/id` of each local
 * fullUrl. Exported with `toWrite` for the bulk loader, which stores Bundles the same way.
 */
export function assignIds(entries: Array<EntryRequest | undefined>): { ids: Map<number, string>; urls: Map<string, string> } {
  const ids = new Map<number, string>();
  const urls = new Map<string, string>();
  entries.forEach((entry, index) => {
    if (entry?.method !== 'POST' && entry?.method !== 'PUT') return;
    const id = entry.method === 'POST' ? uuidv7() : entry.id;
    ids.set(index, id);
    if (entry.fullUrl && isLocalUrl(entry.fullUrl)) urls.set(entry.fullUrl, `${entry.type}/${id}`);
  });
  return { ids, urls };
}

export function toWrite(entry: EntryRequest, id: string | undefined, urls: ReadonlyMap<string, string>): BatchWrite | undefined {
  switch (entry.method) {
    case 'POST':
      return { method: 'create', resource: rewriteReferences(entry.resource, urls), id: id! };
    case 'PUT':
      return { method: 'update', resource: rewriteReferences(entry.resource, urls), id: entry.id, ...(entry.ifMatch !== undefined ? { ifMatch: entry.ifMatch } : {}) };
    case 'DELETE':
      return { method: 'delete', resourceType: entry.type, id: entry.id, ...(entry.ifMatch !== undefined ? { ifMatch: entry.ifMatch } : {}) };
    case 'GET':
      return undefined;
  }
}

/** Runs `fn`, naming entry `index` in any error it raises: a transaction fails as a whole, but says where. */
function located<T>(index: number, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw relabel(error, index);
  }
}

function relabel(error: unknown, index: number): unknown {
  return error instanceof ApiError ? new ApiError(error.code, `${entryLabel(index)}: ${error.message}`, error.issues, error.headers) : error;
}

/** A batch answers a client error per entry; anything else is a server failure and fails the request. */
function caught<T>(fn: () => T): T | ApiError {
  try {
    return fn();
  } catch (error) {
    return asApiError(error);
  }
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  throw error;
}

function failure(error: ApiError): ResponseEntry {
  return { response: { status: `${error.status} ${ERROR_CODES[error.code].title}`, outcome: operationOutcome(error) } };
}
