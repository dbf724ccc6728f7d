import { countResources } from '../store/resource-scan.js';
import { EMPTY_FILE, type FilePosition } from './output-store.js';
import type { JobHandler } from './runner.js';

/** The one output file of a simplified export (contract §7.3 has a single downloadUrl). */
export const EXPORT_FILE = 'export.ndjson';
/** Resources per keyset batch, and per chunk of the file: a download holds one chunk at a time. */
const BATCH = 1000;
/** A step ends after this many resources or bytes: large enough to amortise its commit, small enough to stay short. */
const STEP_RESOURCES = 5000;
const STEP_BYTES = 4 * 1024 * 1024;

export interface ExportRequest { resourceTypes: string[]; since: string | null }

interface ExportCheckpoint { type: number; afterId: string | null; file: FilePosition }

/**
 * POST /v1/bulk/export: the partition's current resources of the requested types, as raw FHIR
 * NDJSON in one file, type after type in id order. Each step appends one batch and records the
 * last id and the file position with it, so a resumed job continues exactly where it stopped.
 */
export const exportHandler: JobHandler = {
  kind: 'export',
  async run(job, ctx) {
    const request = job.request as ExportRequest;
    let checkpoint = (job.checkpoint as ExportCheckpoint | null) ?? { type: 0, afterId: null, file: EMPTY_FILE };
    let total = job.totalRecords ?? undefined;
    while (checkpoint.type < request.resourceTypes.length) {
      let next = checkpoint;
      await ctx.step(async (tx) => {
        total ??= await countResources(tx, job.partitionId, request.resourceTypes, request.since);
        const resourceType = request.resourceTypes[checkpoint.type];
        const target = { name: EXPORT_FILE, resourceType: null };
        let file = checkpoint.file;
        let afterId = checkpoint.afterId;
        let processed = 0;
        let typeDone = resourceType === undefined;
        while (!typeDone && processed < STEP_RESOURCES && file.bytes - checkpoint.file.bytes < STEP_BYTES) {
          const batch = await ctx.output.appendScan(tx, job, target, file, { partitionId: job.partitionId, resourceType, afterId, since: request.since, limit: BATCH });
          file = batch.position;
          processed += batch.records;
          afterId = batch.lastId ?? afterId;
          typeDone = batch.records < BATCH;
        }
        // Even an empty export gets its (empty) file, so that it can be downloaded.
        if (file.chunks === 0) file = await ctx.output.append(tx, job, target, file, '', 0);
        next = typeDone ? { type: checkpoint.type + 1, afterId: null, file } : { type: checkpoint.type, afterId, file };
        return { checkpoint: next, processed, total, done: next.type >= request.resourceTypes.length };
      });
      checkpoint = next;
    }
  },
};
