import type { Readable } from 'node:stream';
import type { AuthContext } from '../auth/authenticate.js';
import { ApiError, invalidIssue, validationError } from '../errors.js';
import { ndjsonBody } from '../http/ndjson-body.js';
import { prefixedId } from '../ids.js';
import { EXPORT_FILE, type ExportRequest } from '../jobs/export.js';
import type { ImportRequest } from '../jobs/import.js';
import type { JobFile, OutputStore } from '../jobs/output-store.js';
import { assertBulkQuota } from '../jobs/quota.js';
import type { JobRunner } from '../jobs/runner.js';
import type { UrlSigner } from '../jobs/signing.js';
import type { Database, Tx } from '../store/database.js';
import { createJob, insertInputChunk, jobPartition, readJob, type JobKey, type JobRecord } from '../store/jobs.js';
import { checkBody, compileSchema } from '../validation.js';
import { fhirType, requireType, simplifiedType } from './bulk-records.js';

/** Contract §7.2: at most 10,000 records and 100 MiB of data per import. */
export const IMPORT_MAX_RECORDS = 10_000;
export const IMPORT_MAX_DATA_BYTES = 100 * 1024 * 1024;
/** The JSON-escaped body is larger than its data (every quote of every record is escaped): headroom for that. */
export const IMPORT_MAX_BODY_BYTES = 160 * 1024 * 1024;
/** A record may be as large as a single create body. */
export const IMPORT_MAX_RECORD_BYTES = 1024 * 1024;
/** Lines per stored input chunk: one chunk is one step (one transaction) of the job. */
const CHUNK_LINES = 500;
const CHUNK_BYTES = 8 * 1024 * 1024;

/** What the bulk routes (simplified and FHIR $export) share: the runner, output store, signer and job settings. */
export interface BulkServices {
  db: Database;
  runner: JobRunner;
  output: OutputStore;
  signer: UrlSigner;
  deadlineMinutes: number;
  retentionHours: number;
}

const validateExport = compileSchema({
  type: 'object',
  additionalProperties: false,
  required: ['resourceTypes'],
  properties: {
    resourceTypes: { type: 'array', minItems: 1, maxItems: 200, items: { type: 'string', minLength: 1, maxLength: 64 } },
    since: { type: 'string', format: 'date-time-utc' },
  },
});

/** The simplified bulk API's logic (contract §7): starting jobs, reading them, and opening signed downloads. */
export class BulkService {
  constructor(private readonly bulk: BulkServices) {}

  /**
   * Streams the import body into bulk_job_input chunks and creates the job, all in one
   * transaction: a request that fails half-way (bad JSON, too many records) leaves nothing behind.
   */
  async startImport(auth: AuthContext, body: AsyncIterable<Buffer> & Readable): Promise<JobRecord> {
    // Refuse an over-quota caller before the body streams in; the binding check comes with the job's creation.
    await this.bulk.db.read((tx) => assertBulkQuota(tx, auth.organisationId, { lock: false }));
    const job = await this.bulk.db.transaction((tx) => this.storeImport(tx, auth, body));
    this.bulk.runner.wake();
    return job;
  }

  async startExport(auth: AuthContext, body: unknown): Promise<JobRecord> {
    const given = checkBody<{ resourceTypes: string[]; since?: string }>(validateExport, body);
    const parameters: ExportRequest = {
      resourceTypes: [...new Set(given.resourceTypes.map((name, i) => requireType(fhirType, `resourceTypes.${i}`, name)))],
      since: given.since ? new Date(given.since).toISOString() : null,
    };
    const job = await this.bulk.db.transaction(async (tx) => {
      await assertBulkQuota(tx, auth.organisationId);
      return createJob(tx, { ...newJobKey(auth), kind: 'export', request: parameters, deadlineMinutes: this.bulk.deadlineMinutes, retentionHours: this.bulk.retentionHours });
    });
    this.bulk.runner.wake();
    return job;
  }

  /** Contract §7.3, plus errorCount (errors keeps the first 1,000) and the timestamps. */
  async jobStatus(auth: AuthContext, jobId: string, publicUrl: string): Promise<Record<string, unknown>> {
    const job = await this.bulk.db.read((tx) => readJob(tx, auth.partitionId, jobId));
    if (!job || (job.kind !== 'import' && job.kind !== 'export')) throw new ApiError('NOT_FOUND', 'Job not found');
    await this.bulk.signer.load(this.bulk.db);
    const errors = job.status === 'failed' && job.failure ? [...job.errors, { index: -1, message: job.failure }] : job.errors;
    return {
      id: job.id,
      type: job.kind,
      status: job.status,
      totalRecords: job.totalRecords,
      processedRecords: job.processedRecords,
      ...(job.kind === 'export' && job.status === 'completed' && !job.purgedAt ? { downloadUrl: this.bulk.signer.signedFileUrl(publicUrl, job, EXPORT_FILE) } : {}),
      errors,
      errorCount: job.errorCount,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      expiresAt: job.expiresAt,
    };
  }

  /**
   * A signed download: 403 when the link is expired or altered (or names no job), 404 when the
   * file is gone. The job is found by id alone; its partition must then match the signature.
   */
  async openDownload(jobId: string, name: string, expires: string | undefined, signature: string | undefined): Promise<{ file: JobFile; stream: Readable }> {
    const partitionId = await this.bulk.db.read((tx) => jobPartition(tx, jobId));
    const key: JobKey | undefined = partitionId === undefined ? undefined : { partitionId, id: jobId };
    await this.bulk.signer.load(this.bulk.db);
    const check = key ? this.bulk.signer.check(key, name, expires, signature) : 'invalid';
    if (check !== 'valid') throw new ApiError('FORBIDDEN', check === 'expired' ? 'The download link has expired; poll the job for a fresh one' : 'The download link is invalid');
    const opened = await this.bulk.output.open(key!, name);
    if (!opened) throw new ApiError('NOT_FOUND', 'The file does not exist or has expired');
    return opened;
  }

  private async storeImport(tx: Tx, auth: AuthContext, body: AsyncIterable<Buffer>): Promise<JobRecord> {
    const key = newJobKey(auth);
    let chunk: Array<string | null> = [];
    let chunkBytes = 0;
    let chunks = 0;
    let records = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      await insertInputChunk(tx, key, chunks++, records - chunk.length, chunk);
      chunk = [];
      chunkBytes = 0;
    };
    for await (const event of ndjsonBody(body, {
      dataField: 'data', stringFields: ['resourceType', 'format'], maxBodyBytes: IMPORT_MAX_BODY_BYTES,
      maxDataBytes: IMPORT_MAX_DATA_BYTES, maxRecords: IMPORT_MAX_RECORDS, maxRecordBytes: IMPORT_MAX_RECORD_BYTES,
    })) {
      if (event.kind === 'field') {
        importParameters({ [event.name]: event.value }, true); // fail fast on a bad type, before the data streams in
      } else if (event.kind === 'record') {
        chunk.push(event.line);
        records++;
        chunkBytes += event.line?.length ?? 0;
        if (chunk.length >= CHUNK_LINES || chunkBytes >= CHUNK_BYTES) await flush();
      } else {
        await flush();
        if (!event.hasData) throw validationError([invalidIssue('data', 'Required')]);
        if (records === 0) throw validationError([invalidIssue('data', 'Must contain at least one record')]);
        const { resourceType, format } = importParameters(event.fields, false);
        const parameters: ImportRequest = { resourceType, format, tenantId: auth.organisationId, keyId: auth.keyId, records, chunks };
        // Locked from here to the commit, which follows at once: the upload itself does not hold the organisation's quota lock.
        await assertBulkQuota(tx, auth.organisationId);
        return createJob(tx, { ...key, kind: 'import', request: parameters, totalRecords: records, deadlineMinutes: this.bulk.deadlineMinutes, retentionHours: this.bulk.retentionHours });
      }
    }
    throw new ApiError('INVALID_JSON', 'Request body is not valid JSON');
  }
}

function newJobKey(auth: AuthContext): JobKey {
  return { partitionId: auth.partitionId, id: prefixedId('job') };
}

/** resourceType and format of an import; `partial` checks only what is given. */
function importParameters(fields: Record<string, string>, partial: boolean): Pick<ImportRequest, 'resourceType' | 'format'> {
  const format = fields.format ?? 'simplified';
  if (format !== 'simplified' && format !== 'fhir') throw validationError([invalidIssue('format', 'Expected simplified or fhir')]);
  const name = fields.resourceType;
  if (name === undefined) {
    if (format === 'simplified' && !partial) throw validationError([invalidIssue('resourceType', 'Required')]);
    return { resourceType: null, format };
  }
  // The type may arrive before the format: while partial, accept any type either format takes.
  const resolve = format === 'fhir' || (partial && fields.format === undefined && !simplifiedType(name)) ? fhirType : simplifiedType;
  return { resourceType: requireType(resolve, 'resourceType', name), format };
}
