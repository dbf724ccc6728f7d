import { countResources, scanResources } from '../store/resource-scan.js';
import { EMPTY_FILE, type FilePosition } from './output-store.js';
import type { JobHandler } from './runner.js';

/** The one output file of a simplified export (contract §7.3 has a single downloadUrl). */
export const EXPORT_FILE = 'export.ndjson';
/** Resources per keyset batch. */
const BATCH = 1000;
/**
 * A step ends after this many resources or bytes: large enough to amortise its commit, small
 * enough to stay short and to bound memory, here and in every download of the file (one chunk
 * per step, read one at a time).
 */
const STEP_RESOURCES = 4000;
const STEP_BYTES = 2 * 1024 * 1024;

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
        const lines: string[] = [];
        let bytes = 0;
        let afterId = checkpoint.afterId;
        let typeDone = resourceType === undefined;
        while (!typeDone && lines.length < STEP_RESOURCES && bytes < STEP_BYTES) {
          const rows = await scanResources(tx, job.partitionId, resourceType, afterId, request.since, BATCH);
          for (const row of rows) {
            lines.push(`${row.content}\n`);
            bytes += row.content.length + 1;
          }
          typeDone = rows.length < BATCH;
          afterId = rows.at(-1)?.id ?? afterId;
        }
        let file = checkpoint.file;
        if (lines.length > 0 || checkpoint.file.chunks === 0) {
          // Even an empty export gets its (empty) file, so that it can be downloaded.
          file = await ctx.output.append(tx, job, { name: EXPORT_FILE, resourceType: null }, checkpoint.file, Buffer.from(lines.join(''), 'utf8'), lines.length);
        }
        next = typeDone ? { type: checkpoint.type + 1, afterId: null, file } : { type: checkpoint.type, afterId, file };
        return { checkpoint: next, processed: lines.length, total, done: next.type >= request.resourceTypes.length };
      });
      checkpoint = next;
    }
  },
};
