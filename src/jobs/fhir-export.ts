import { fhirBaseUrl } from '../config.js';
import { groupPatients } from '../fhir/operations/group-members.js';
import type { FhirExportRequest } from '../fhir/operations/bulk-export-params.js';
import { scanPage, SCAN_START, selectionPlans, type ScanPosition } from '../fhir/search/export-scan.js';
import type { Tx } from '../store/database.js';
import type { SearchQuery } from '../store/search-query.js';
import { EMPTY_FILE, type FilePosition } from './output-store.js';
import type { Job, JobContext, JobHandler } from './runner.js';

/**
 * The FHIR Bulk Data `$export` job (kind `fhir-export`): one NDJSON file per type, written in
 * keyset pages through the search engine (src/fhir/search/export-scan.ts). Each step appends at
 * most a page of resources and commits them with the checkpoint (type, scan position, file position),
 * so a job resumed on any node continues exactly where its last step committed.
 */

export const FHIR_EXPORT_KIND = 'fhir-export';
/** Resources per step by default: one short transaction, a few hundred kB of output. */
const PAGE = 1000;

export interface FhirExportCheckpoint {
  /** Index of the type being exported, in request.types; types.length when done. */
  type: number;
  position: ScanPosition;
  file: FilePosition;
  /** The patients whose compartments are exported (Patient and Group levels), fixed by the first step; null = every patient. */
  patients?: string[] | null;
}

export function fhirExportHandler(options: { publicUrl: string; pageSize?: number }): JobHandler {
  const pageSize = options.pageSize ?? PAGE;
  return {
    kind: FHIR_EXPORT_KIND,
    async run(job: Job, ctx: JobContext) {
      const request = job.request as FhirExportRequest;
      const plans = new Map<string, SearchQuery[]>();
      let checkpoint = (job.checkpoint as FhirExportCheckpoint | null) ?? { type: 0, position: SCAN_START, file: EMPTY_FILE };
      for (;;) {
        let step: StepOutcome | undefined;
        await ctx.step(async (tx) => {
          step = await exportStep(tx, job, request, checkpoint, { output: ctx.output, plans, publicUrl: options.publicUrl, pageSize });
          return step;
        });
        // Reached only once the step committed (`step` throws otherwise).
        if (step!.done) return;
        checkpoint = step!.checkpoint;
      }
    },
  };
}

interface StepEnv extends Pick<JobContext, 'output'> {
  plans: Map<string, SearchQuery[]>;
  publicUrl: string;
  pageSize: number;
}

interface StepOutcome { checkpoint: FhirExportCheckpoint; processed: number; done: boolean }

/** Exports up to pageSize resources from `from`, possibly finishing several (small or empty) types. */
async function exportStep(tx: Tx, job: Job, request: FhirExportRequest, from: FhirExportCheckpoint, env: StepEnv): Promise<StepOutcome> {
  const checkpoint = { ...from, patients: from.patients === undefined ? await exportedPatients(tx, job, request, env.publicUrl) : from.patients };
  let processed = 0;
  while (processed < env.pageSize && checkpoint.type < request.types.length && checkpoint.patients?.length !== 0) {
    const resourceType = request.types[checkpoint.type];
    const plans = plansOf(env.plans, request, resourceType, job.createdAt, checkpoint.patients, env.publicUrl);
    const page = await scanPage(tx, job.partitionId, plans, checkpoint.position, env.pageSize - processed);
    if (page.rows.length > 0) {
      const data = `${page.rows.map((row) => row.content).join('\n')}\n`;
      checkpoint.file = await env.output.append(tx, job, { name: `${resourceType}.ndjson`, resourceType }, checkpoint.file, data, page.rows.length);
      processed += page.rows.length;
    }
    if (page.next) {
      checkpoint.position = page.next;
    } else {
      checkpoint.type += 1;
      checkpoint.position = SCAN_START;
      checkpoint.file = EMPTY_FILE;
    }
  }
  // An empty Group (or `patient` list matching none of its members) has nothing to export.
  const finished = checkpoint.type >= request.types.length || checkpoint.patients?.length === 0;
  return { checkpoint, processed, done: finished };
}

/**
 * Whose compartments a Patient or Group level export covers: every patient, the `patient`
 * parameter's, or the Group's members (intersected with `patient`). A Group deleted since the
 * kick-off has no members left: the export is empty rather than failed.
 */
async function exportedPatients(tx: Tx, job: Job, request: FhirExportRequest, publicUrl: string): Promise<string[] | null | undefined> {
  if (request.level === 'system') return undefined;
  if (request.level === 'patient') return request.patients ?? null;
  const members = (await groupPatients(tx, job.partitionId, request.groupId!, fhirBaseUrl(publicUrl))) ?? [];
  return request.patients ? members.filter((id) => request.patients!.includes(id)) : members;
}

function plansOf(cache: Map<string, SearchQuery[]>, request: FhirExportRequest, resourceType: string, until: string, patients: string[] | null | undefined, publicUrl: string): SearchQuery[] {
  let plans = cache.get(resourceType);
  if (!plans) {
    plans = selectionPlans({
      resourceType,
      queries: request.typeFilters[resourceType] ?? [],
      ...(patients !== undefined ? { patients } : {}),
      ...(request.since !== undefined ? { since: request.since } : {}),
      until,
    }, publicUrl);
    cache.set(resourceType, plans);
  }
  return plans;
}
