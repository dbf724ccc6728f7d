import type { Resource } from '@medplum/fhirtypes';
import { ApiError } from '../../errors.js';
import { isFhirId, uuidv7 } from '../../ids.js';
import { encodeFreshVersion, type EncodedVersion } from '../../store/bulk-ingest.js';
import { parseBundle, parseEntry } from '../bundle/entries.js';
import { assignIds, toWrite } from '../bundle/processor.js';
import { isR4ResourceType } from '../definitions/index.js';
import { nextVersion, type RequestContext } from '../repository.js';

/**
 * The loader's CPU work, run in worker threads (worker.ts): parse, rewrite Bundle references,
 * then validate, stamp and index each resource with the repository's own `nextVersion`, and
 * encode the rows for COPY. Every resource is prepared as a first version; the loader re-prepares
 * the few whose input id turns out to exist already (loader.ts).
 */

export interface LoadContext extends RequestContext {
  /** The server's FHIR base URL, for indexing absolute references, as for API writes. */
  fhirBase: string;
}

export interface PreparedRecord {
  encoded: EncodedVersion;
  /** Set when the id came from the input (an NDJSON id, a PUT entry): a row may hold it already. */
  content?: string;
}

/** A record that was not loaded; `where` names it without its content: `line 12`, `Bundle.entry[3]`. */
export interface RecordError { file: string; where: string; message: string }

export interface PreparedChunk {
  records: PreparedRecord[];
  errors: RecordError[];
  /** All or nothing (a transaction Bundle): the loader writes its records in one transaction. */
  atomic: boolean;
}

export type ChunkTask =
  | { kind: 'ndjson'; file: string; firstLine: number; lines: string[] }
  | { kind: 'bundle'; file: string; text: string };

export function prepareChunk(ctx: LoadContext, task: ChunkTask): PreparedChunk {
  return task.kind === 'ndjson' ? prepareLines(ctx, task) : prepareBundle(ctx, task);
}

/** NDJSON: one resource per line, blank lines skipped; each line stands alone. */
function prepareLines(ctx: LoadContext, task: Extract<ChunkTask, { kind: 'ndjson' }>): PreparedChunk {
  const chunk: PreparedChunk = { records: [], errors: [], atomic: false };
  const lastUpdated = new Date().toISOString();
  task.lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `line ${task.firstLine + i}`;
    try {
      const resource = parseResource(line);
      const given = resource.id;
      if (given !== undefined && (typeof given !== 'string' || !isFhirId(given))) throw new ApiError('INVALID_REQUEST', 'id must be a FHIR id');
      chunk.records.push(prepare(ctx, resource, given ?? uuidv7(), given !== undefined, lastUpdated));
    } catch (error) {
      chunk.errors.push({ file: task.file, where, message: describe(error) });
    }
  });
  return chunk;
}

/** A batch Bundle loads each entry on its own; a transaction Bundle loads all its entries or none. */
function prepareBundle(ctx: LoadContext, task: Extract<ChunkTask, { kind: 'bundle' }>): PreparedChunk {
  const fail = (where: string, error: unknown): PreparedChunk => ({ records: [], errors: [{ file: task.file, where, message: describe(error) }], atomic: true });
  let body: unknown;
  try {
    body = JSON.parse(task.text);
  } catch {
    return fail('file', new ApiError('INVALID_REQUEST', 'not valid JSON'));
  }
  let bundle: ReturnType<typeof parseBundle>;
  try {
    bundle = parseBundle(body);
  } catch (error) {
    return fail('file', error);
  }
  const atomic = bundle.type === 'transaction';
  const chunk: PreparedChunk = { records: [], errors: [], atomic };
  const label = (index: number) => `Bundle.entry[${index}]`;
  const entries = bundle.entries.map((entry, index) => {
    try {
      return parseEntry(entry, ctx.fhirBase);
    } catch (error) {
      chunk.errors.push({ file: task.file, where: label(index), message: describe(error) });
      return undefined;
    }
  });
  const { ids, urls } = assignIds(entries);
  const lastUpdated = new Date().toISOString();
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    if (!entry) return;
    try {
      const write = toWrite(entry, ids.get(index), urls);
      if (write?.method !== 'create' && write?.method !== 'update') throw new ApiError('INVALID_REQUEST', 'the loader takes POST and PUT entries only');
      const key = `${write.resource.resourceType}/${write.id}`;
      if (seen.has(key)) throw new ApiError('INVALID_REQUEST', 'writes the same resource as an earlier entry');
      seen.add(key);
      chunk.records.push(prepare(ctx, write.resource, write.id, write.method === 'update', lastUpdated));
    } catch (error) {
      chunk.errors.push({ file: task.file, where: label(index), message: describe(error) });
    }
  });
  if (atomic && chunk.errors.length > 0) {
    chunk.records = [];
    for (const error of chunk.errors) error.message += ' (so none of this transaction Bundle was loaded)';
  }
  return chunk;
}

function prepare(ctx: LoadContext, resource: Resource, id: string, keyed: boolean, lastUpdated: string): PreparedRecord {
  const version = nextVersion(ctx, resource, id, undefined, 'create', lastUpdated, ctx.fhirBase);
  return { encoded: encodeFreshVersion(ctx.partitionId, version), ...(keyed ? { content: version.content! } : {}) };
}

function parseResource(line: string): Resource {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ApiError('INVALID_REQUEST', 'not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApiError('INVALID_REQUEST', 'must be a JSON object');
  const type = (value as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !isR4ResourceType(type)) throw new ApiError('INVALID_REQUEST', 'resourceType must be an R4 resource type');
  return value as Resource;
}

/** The error as the summary shows it: the first issue's location and constraint, never a value. */
export function describe(error: unknown): string {
  if (!(error instanceof ApiError)) throw error;
  const [first, ...more] = error.issues;
  if (!first) return error.message;
  return `${first.diagnostics}${more.length ? ` (and ${more.length} more issue${more.length > 1 ? 's' : ''})` : ''}`;
}
