import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Resource } from '@medplum/fhirtypes';
import { ApiError } from '../../errors.js';
import { readResourcesForUpdate, writeVersions } from '../../store/batch-write.js';
import { copyFreshVersions, INGEST_TABLES, vacuumAnalyze, type EncodedVersion } from '../../store/bulk-ingest.js';
import type { Database } from '../../store/database.js';
import type { VersionToWrite } from '../../store/resources.js';
import { nextVersion } from '../repository.js';
import { PreparePool } from './pool.js';
import type { ChunkTask, LoadContext, PreparedChunk, PreparedRecord, RecordError } from './prepare.js';

/**
 * The operator loader (`clinikapi import`): FHIR NDJSON files and batch/transaction Bundles into
 * one partition, as fast as the database takes them. Worker threads prepare chunks (parse,
 * validate, index, encode) while the main thread writes the previous batch with COPY, one
 * transaction per batch. A transaction Bundle is never split across transactions.
 */

export interface LoadOptions {
  /** Files (`.ndjson`, or `.json` holding a Bundle) and folders of them. */
  paths: string[];
  ctx: LoadContext;
  /** Worker threads; default: one per CPU beyond the first, at least one. */
  workers?: number;
  /** Batches written at once, each in its own transaction on its own connection. */
  writers?: number;
  /** Resources per transaction (a transaction Bundle may make one larger). */
  batchSize?: number;
  onProgress?(progress: LoadProgress): void;
}

export interface LoadProgress { records: number; rejected: number; bytesDone: number; bytesTotal: number; elapsedMs: number }

export interface LoadSummary {
  files: number;
  created: number;
  updated: number;
  byType: Record<string, number>;
  /** Every rejected record counts; the first MAX_KEPT_ERRORS are kept. */
  rejected: number;
  errors: RecordError[];
  /** Of elapsedMs: starting the workers (each compiles the validator, a few seconds). */
  startupMs: number;
  elapsedMs: number;
  vacuumMs: number;
}

/** A problem with the command itself (no such file, nothing to load): nothing was written. */
export class LoadError extends Error {}

const NDJSON_LINES_PER_CHUNK = 500;
const DEFAULT_BATCH = 2_000;
const DEFAULT_WRITERS = 2;
const MAX_KEPT_ERRORS = 1_000;
/** Attempts of a batch that lost a race with a concurrent API write of the same id. */
const MAX_ATTEMPTS = 3;

export async function loadFiles(db: Database, options: LoadOptions): Promise<LoadSummary> {
  const files = await listFiles(options.paths);
  const bytesTotal = files.reduce((sum, file) => sum + file.bytes, 0);
  const started = performance.now();
  const summary: LoadSummary = { files: files.length, created: 0, updated: 0, byType: {}, rejected: 0, errors: [], startupMs: 0, elapsedMs: 0, vacuumMs: 0 };
  const touched = new Set<string>();
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const workers = options.workers ?? Math.max(1, os.availableParallelism() - 1);
  const writers = options.writers ?? DEFAULT_WRITERS;
  let bytesDone = 0;
  const progress = () => options.onProgress?.({
    records: summary.created + summary.updated, rejected: summary.rejected, bytesDone, bytesTotal, elapsedMs: performance.now() - started,
  });

  let batch: PreparedRecord[] = [];
  let batchBytes = 0;
  // Input ids of the batch being gathered and of the batches being written.
  const pendingKeys = new Set<string>();
  // Up to `writers` batches are written at once, each on its own connection, while the next is
  // gathered: neither the workers nor the database wait for the other.
  const writes = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const settle = async (limit: number) => {
    while (writes.size > limit) await Promise.race(writes);
    if (failure) throw failure.error;
  };
  const flush = async () => {
    await settle(writers - 1);
    const [records, bytes] = [batch, batchBytes];
    [batch, batchBytes] = [[], 0];
    if (records.length === 0) {
      bytesDone += bytes;
      return;
    }
    const write = writeBatch(db, options.ctx, records).then(
      (written) => {
        summary.created += written.created;
        summary.updated += written.updated;
        for (const record of records) {
          summary.byType[record.encoded.resourceType] = (summary.byType[record.encoded.resourceType] ?? 0) + 1;
          if (record.content !== undefined) pendingKeys.delete(keyOf(record));
        }
        for (const table of written.tables) touched.add(table);
        bytesDone += bytes;
        progress();
      },
      (error: unknown) => {
        failure ??= { error };
      },
    ).finally(() => writes.delete(write));
    writes.add(write);
  };
  // An id given again is written again, as an update, strictly after the earlier write committed.
  const writeAfter = async (keys: string[]) => {
    if (!keys.some((key) => pendingKeys.has(key))) return;
    await flush();
    await settle(0);
  };

  const accept = async (chunk: PreparedChunk, bytes: number) => {
    summary.rejected += chunk.errors.length;
    summary.errors.push(...chunk.errors.slice(0, MAX_KEPT_ERRORS - summary.errors.length));
    const keyed = chunk.records.filter((record) => record.content !== undefined);
    if (chunk.atomic) await writeAfter(keyed.map(keyOf));
    for (const record of chunk.records) {
      if (record.content !== undefined) {
        await writeAfter([keyOf(record)]);
        pendingKeys.add(keyOf(record));
      }
      batch.push(record);
    }
    batchBytes += bytes;
    if (batch.length >= batchSize) await flush();
  };

  const pool = await PreparePool.start(options.ctx, workers);
  summary.startupMs = performance.now() - started;
  try {
    const inFlight: Array<{ chunk: Promise<PreparedChunk>; bytes: number }> = [];
    // Enough queued chunks to keep every worker busy while the main thread waits on a write.
    const maxInFlight = workers * 4;
    for await (const { task, bytes } of chunks(files)) {
      inFlight.push({ chunk: pool.prepare(task), bytes });
      // Rejections are handled in order below; an early one must not count as unhandled meanwhile.
      inFlight.at(-1)!.chunk.catch(() => undefined);
      if (inFlight.length >= maxInFlight) {
        const next = inFlight.shift()!;
        await accept(await next.chunk, next.bytes);
      }
    }
    for (const next of inFlight) await accept(await next.chunk, next.bytes);
    await flush();
    await settle(0);
  } finally {
    // After a failure, the other writes still end (commit or roll back) before the load returns.
    await Promise.all(writes);
    await pool.close();
  }
  summary.elapsedMs = performance.now() - started;
  const vacuumStarted = performance.now();
  await vacuumAnalyze(db, INGEST_TABLES.filter((table) => touched.has(table)));
  summary.vacuumMs = performance.now() - vacuumStarted;
  return summary;
}

/**
 * One transaction: records whose input id already has a row become their next version (prepared
 * here, with the same rules, and written by the batch path); all others are COPYed. Retried when
 * a concurrent API write took one of the ids meanwhile.
 */
async function writeBatch(db: Database, ctx: LoadContext, records: PreparedRecord[]): Promise<{ created: number; updated: number; tables: string[] }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        const keyed = records.filter((record) => record.content !== undefined);
        const stored = new Map((await readResourcesForUpdate(tx, ctx.partitionId, keyed.map((record) => record.encoded))).map((row) => [`${row.resourceType}/${row.id}`, row]));
        const lastUpdated = new Date().toISOString();
        const updates: VersionToWrite[] = [];
        const fresh: EncodedVersion[] = [];
        for (const record of records) {
          const previous = stored.get(keyOf(record));
          if (!previous) {
            fresh.push(record.encoded);
            continue;
          }
          const resource = JSON.parse(record.content!) as Resource;
          updates.push(nextVersion(ctx, resource, record.encoded.id, previous, previous.deleted ? 'create' : 'update', lastUpdated, ctx.fhirBase));
        }
        // Updates first: the batch path takes the partition's history lock at its end, and the
        // COPYs then hold it for as short a time as possible.
        if (updates.length > 0 && !(await writeVersions(tx, ctx.partitionId, updates))) throw new RaceLost();
        const tables = await copyFreshVersions(tx, ctx.partitionId, fresh);
        return { created: fresh.length, updated: updates.length, tables: updates.length > 0 ? [...INGEST_TABLES] : tables };
      });
    } catch (error) {
      const raced = error instanceof RaceLost || (error as { code?: string }).code === '23505';
      if (!raced || attempt >= MAX_ATTEMPTS) throw raced ? new ApiError('CONFLICT', 'Resources of the load were written concurrently; run the load again') : error;
    }
  }
}

class RaceLost extends Error {}

function keyOf(record: PreparedRecord): string {
  return `${record.encoded.resourceType}/${record.encoded.id}`;
}

interface InputFile { path: string; kind: ChunkTask['kind']; bytes: number }

/** The files to load, in name order; folders are searched recursively for `.ndjson` and `.json`. */
async function listFiles(paths: string[]): Promise<InputFile[]> {
  if (paths.length === 0) throw new LoadError('Give at least one file or folder to load');
  const found: InputFile[] = [];
  for (const given of paths) {
    const info = await stat(given).catch(() => undefined);
    if (!info) throw new LoadError(`No such file or folder: ${given}`);
    const names = info.isDirectory()
      ? (await readdir(given, { recursive: true })).map((name) => path.join(given, name)).filter((name) => kindOf(name)).sort()
      : [given];
    for (const name of names) {
      const kind = kindOf(name);
      if (!kind) throw new LoadError(`Not an .ndjson or .json file: ${name}`);
      found.push({ path: name, kind, bytes: (await stat(name)).size });
    }
  }
  if (found.length === 0) throw new LoadError(`No .ndjson or .json files in ${paths.join(', ')}`);
  return found;
}

function kindOf(name: string): ChunkTask['kind'] | undefined {
  if (name.endsWith('.ndjson')) return 'ndjson';
  if (name.endsWith('.json')) return 'bundle';
  return undefined;
}

/** The work, chunk by chunk: a Bundle file whole, an NDJSON file in runs of lines, streamed. */
async function* chunks(files: InputFile[]): AsyncGenerator<{ task: ChunkTask; bytes: number }> {
  for (const file of files) {
    const name = path.basename(file.path);
    if (file.kind === 'bundle') {
      yield { task: { kind: 'bundle', file: name, text: await readFile(file.path, 'utf8') }, bytes: file.bytes };
      continue;
    }
    let lines: string[] = [];
    let firstLine = 1;
    let bytes = 0;
    for await (const line of createInterface({ input: createReadStream(file.path, 'utf8'), crlfDelay: Infinity })) {
      lines.push(line);
      bytes += Buffer.byteLength(line) + 1;
      if (lines.length === NDJSON_LINES_PER_CHUNK) {
        yield { task: { kind: 'ndjson', file: name, firstLine, lines }, bytes };
        firstLine += lines.length;
        [lines, bytes] = [[], 0];
      }
    }
    if (lines.length > 0) yield { task: { kind: 'ndjson', file: name, firstLine, lines }, bytes };
  }
}
