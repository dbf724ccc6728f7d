import { constants, createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Database, Tx } from '../store/database.js';
import { deleteJobChunks, deleteJobFiles, listJobFiles, readJobChunkBytes, readJobFile, upsertJobFile, writeJobChunk, writeScanChunks, type JobFile } from '../store/job-files.js';
import { scanResources, type ResourceScan } from '../store/resource-scan.js';
import type { JobKey } from '../store/jobs.js';

export type { JobFile };

/** How far a file is written, as a job's checkpoint records it. */
export interface FilePosition { records: number; bytes: number; chunks: number }

export const EMPTY_FILE: FilePosition = { records: 0, bytes: 0, chunks: 0 };

/** What one scan batch added: the file's new position, the resources written and the last id. */
export interface ScanWritten { position: FilePosition; records: number; lastId: string | null }

/** Output file names are plain (`Patient.ndjson`): they become URL segments and local file names. */
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * Where job output lives. Every job step appends to a file *from the position its checkpoint
 * recorded*, inside the step's transaction: a step that never committed leaves nothing the next
 * attempt can see (database) or leaves bytes past the checkpoint that the next append overwrites
 * and no download ever serves (local files). The file sizes live in the database either way.
 */
export interface OutputStore {
  readonly kind: 'database' | 'local';
  append(tx: Tx, job: JobKey, file: { name: string; resourceType: string | null }, at: FilePosition, data: string, records: number): Promise<FilePosition>;
  /**
   * Appends one batch of a resource scan, as NDJSON, like `append`: the database store has
   * PostgreSQL write the chunk itself (the rows never reach the node); local files get them
   * through it. A batch of 0 resources writes nothing.
   */
  appendScan(tx: Tx, job: JobKey, file: { name: string; resourceType: string | null }, at: FilePosition, scan: ResourceScan): Promise<ScanWritten>;
  files(job: JobKey): Promise<JobFile[]>;
  /** The file as committed, streamed; undefined when it does not exist (never written, or expired). */
  open(job: JobKey, name: string): Promise<{ file: JobFile; stream: Readable } | undefined>;
  delete(job: JobKey): Promise<void>;
}

/** The bytes of a file: the part that differs between the two stores. */
interface Blobs {
  write(tx: Tx, job: JobKey, name: string, at: FilePosition, data: string): Promise<void>;
  writeScan(tx: Tx, job: JobKey, name: string, at: FilePosition, scan: ResourceScan): Promise<{ records: number; lastId: string | null; chunks: number; bytes: number }>;
  read(job: JobKey, file: JobFile): Readable;
  remove(job: JobKey): Promise<void>;
}

export interface OutputStoreOptions { storage: 'database' | 'local'; dataDir: string }

export function createOutputStore(db: Database, options: OutputStoreOptions): OutputStore {
  const blobs = options.storage === 'database' ? databaseBlobs(db) : localBlobs(path.join(options.dataDir, 'exports'));
  return {
    kind: options.storage,
    async append(tx, job, file, at, data, records) {
      if (!FILE_NAME.test(file.name)) throw new Error('invalid output file name');
      await blobs.write(tx, job, file.name, at, data);
      return recordChunks(tx, job, file, at, { records, chunks: 1, bytes: Buffer.byteLength(data) });
    },
    async appendScan(tx, job, file, at, scan) {
      if (!FILE_NAME.test(file.name)) throw new Error('invalid output file name');
      const written = await blobs.writeScan(tx, job, file.name, at, scan);
      if (written.records === 0) return { position: at, records: 0, lastId: null };
      return { position: await recordChunks(tx, job, file, at, written), records: written.records, lastId: written.lastId };
    },
    files: (job) => db.read((tx) => listJobFiles(tx, job)),
    async open(job, name) {
      if (!FILE_NAME.test(name)) return undefined;
      const file = await db.read((tx) => readJobFile(tx, job, name));
      return file && { file, stream: blobs.read(job, file) };
    },
    async delete(job) {
      await blobs.remove(job);
      await db.transaction((tx) => deleteJobFiles(tx, job));
    },
  };
}

/** The file's size after the chunks just written, kept in bulk_job_files in the step's transaction. */
async function recordChunks(tx: Tx, job: JobKey, file: { name: string; resourceType: string | null }, at: FilePosition, added: FilePosition): Promise<FilePosition> {
  const next = { records: at.records + added.records, bytes: at.bytes + added.bytes, chunks: at.chunks + added.chunks };
  await upsertJobFile(tx, job, { name: file.name, resourceType: file.resourceType, records: next.records, bytes: next.bytes });
  return next;
}

/** Chunks in bulk_job_chunks: written in the step's transaction, so any node serves any download. */
function databaseBlobs(db: Database): Blobs {
  // A scan batch is written as chunks of about CHUNK_BYTES, whatever the size of its resources. A
  // download reads CHUNKS_PER_READ of them (about 1 MB) per transaction, as Buffers, and holds no
  // connection between reads, so a slow client cannot hold one for the length of its download.
  const CHUNK_BYTES = 32 * 1024;
  const CHUNKS_PER_READ = 32;
  return {
    write: (tx, job, name, at, data) => writeJobChunk(tx, job, name, at.chunks, data),
    writeScan: (tx, job, name, at, scan) => writeScanChunks(tx, job, name, at.chunks, scan, CHUNK_BYTES),
    read: (job, file) => Readable.from((async function* () {
      for (let seq = 0; ; seq += CHUNKS_PER_READ) {
        const chunks = await db.transaction((tx) => readJobChunkBytes(tx, job, file.name, seq, CHUNKS_PER_READ));
        yield* chunks;
        if (chunks.length < CHUNKS_PER_READ) return;
      }
    })(), { objectMode: false }),
    remove: (job) => db.transaction((tx) => deleteJobChunks(tx, job)),
  };
}

/** Files under {dataDir}/exports: the embedded single-node setup only (other nodes cannot read them). */
function localBlobs(root: string): Blobs {
  const dirOf = (job: JobKey) => path.join(root, String(job.partitionId), job.id);
  const blobs: Blobs = {
    async write(_tx, job, name, at, data) {
      await mkdir(dirOf(job), { recursive: true });
      const handle = await open(path.join(dirOf(job), name), constants.O_RDWR | constants.O_CREAT);
      try {
        // Bytes past the checkpoint are a step that never committed: overwrite them.
        await handle.truncate(at.bytes);
        await handle.write(data, at.bytes, 'utf8');
        await handle.datasync();
      } finally {
        await handle.close();
      }
    },
    read: (job, file) => (file.bytes === 0 ? Readable.from([]) : createReadStream(path.join(dirOf(job), file.name), { start: 0, end: file.bytes - 1 })),
    remove: (job) => rm(dirOf(job), { recursive: true, force: true }),
    async writeScan(tx, job, name, at, scan) {
      const rows = await scanResources(tx, scan.partitionId, scan.resourceType, scan.afterId, scan.since, scan.limit);
      if (rows.length === 0) return { records: 0, lastId: null, chunks: 0, bytes: 0 };
      const data = rows.map((row) => `${row.content}\n`).join('');
      await blobs.write(tx, job, name, at, data);
      return { records: rows.length, lastId: rows[rows.length - 1].id, chunks: 1, bytes: Buffer.byteLength(data) };
    },
  };
  return blobs;
}
