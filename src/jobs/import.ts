import type { Resource } from '@medplum/fhirtypes';
import { ApiError } from '../errors.js';
import type { BatchWrite, FhirRepository } from '../fhir/repository.js';
import { derivedId, isFhirId } from '../ids.js';
import { deleteJobInput, readInputChunk } from '../store/jobs.js';
import type { JobError, JobHandler } from './runner.js';

/** What POST /v1/bulk/import stores as the job's request (parameters only: the records are in bulk_job_input). */
export interface ImportRequest {
  /** The FHIR type of every record; null for `format: "fhir"` without a type (any R4 type). */
  resourceType: string | null;
  format: 'simplified' | 'fhir';
  tenantId: string;
  keyId: string | null;
  records: number;
  chunks: number;
}

/** Turns one parsed record into the FHIR resource to store; throws ApiError (no PHI) when it is invalid. */
export type RecordMapper = (request: ImportRequest, record: unknown) => Resource;

interface ImportCheckpoint { nextChunk: number }

/** The message of a record's error: the field and constraint (the PHI rule: never the value). */
export function recordError(index: number, error: unknown): JobError {
  if (error instanceof ApiError) {
    const details = error.issues.map((issue) => issue.diagnostics);
    return { index, message: details.length > 0 ? details.join('; ') : error.message };
  }
  throw error;
}

/**
 * Runs POST /v1/bulk/import jobs: one stored input chunk per step. Valid records are written with
 * FhirRepository.writeBatchIn in the step's transaction, together with the checkpoint, so each
 * record is stored exactly once whatever crashes; invalid ones become the job's errors.
 * Ids are derived from (job, record index), so even a redone step could not create copies.
 */
export function createImportHandler(repository: FhirRepository, mapRecord: RecordMapper): JobHandler {
  return {
    kind: 'import',
    async run(job, ctx) {
      const request = job.request as ImportRequest;
      const ctxFor = { partitionId: job.partitionId, tenantId: request.tenantId, keyId: request.keyId, requestId: job.id };
      let next = (job.checkpoint as ImportCheckpoint | null)?.nextChunk ?? 0;
      while (next < request.chunks) {
        const chunkNumber = next;
        let written = 0;
        await ctx.step(async (tx) => {
          const chunk = await readInputChunk(tx, job, chunkNumber);
          if (!chunk) throw new Error('import input chunk missing');
          const errors: JobError[] = [];
          const writes: BatchWrite[] = [];
          const indexes: number[] = [];
          const ids = new Set<string>();
          chunk.lines.forEach((line, offset) => {
            const index = chunk.firstIndex + offset;
            try {
              const write = toWrite(job.id, index, mapRecord(request, parseLine(line)));
              if (ids.has(write.id)) throw new ApiError('VALIDATION_ERROR', 'id: the same id appears twice in this part of the import');
              ids.add(write.id);
              writes.push(write);
              indexes.push(index);
            } catch (error) {
              errors.push(recordError(index, error));
            }
          });
          written = (await repository.writeBatchIn(tx, ctxFor, writes, { rejected: (i, error) => errors.push(recordError(indexes[i], error)) })).length;
          const done = chunkNumber + 1 >= request.chunks;
          // The payload is no longer needed once every record is stored: do not keep PHI longer than that.
          if (done) await deleteJobInput(tx, job);
          errors.sort((a, b) => a.index - b.index);
          return { checkpoint: { nextChunk: chunkNumber + 1 } satisfies ImportCheckpoint, processed: chunk.lines.length, errors, done };
        });
        await repository.committed(written);
        next = chunkNumber + 1;
      }
    },
  };
}

function parseLine(line: string | null): unknown {
  if (line === null) throw new ApiError('VALIDATION_ERROR', 'record: longer than the 1 MiB a record may have');
  try {
    return JSON.parse(line);
  } catch {
    throw new ApiError('VALIDATION_ERROR', 'record: not valid JSON');
  }
}

/**
 * A raw FHIR record keeps its own id (migrations keep their references; a later line with the same
 * id replaces the resource, as a PUT would); every other record gets the derived id.
 */
function toWrite(jobId: string, index: number, resource: Resource): BatchWrite {
  if (typeof resource.id === 'string' && isFhirId(resource.id)) return { method: 'update', resource, id: resource.id };
  return { method: 'create', resource, id: derivedId(jobId, index) };
}
