import type { BulkServices } from '../../api/bulk-routes.js';
import { fhirBaseUrl } from '../../config.js';
import { ApiError } from '../../errors.js';
import { prefixedId } from '../../ids.js';
import { FHIR_EXPORT_KIND, type FhirExportCheckpoint } from '../../jobs/fhir-export.js';
import type { JobFile } from '../../jobs/output-store.js';
import { assertBulkQuota } from '../../jobs/quota.js';
import { cancelJob, createJob, markPurged, readJob, type JobRecord } from '../../store/jobs.js';
import { groupPatients } from './group-members.js';
import type { FhirExportRequest } from './bulk-export-params.js';

/** Who asks: the key's partition (tenant + environment) and organisation (for the hourly quota). */
export interface ExportCaller { partitionId: number; organisationId: string }

export type ExportStatus =
  | { state: 'running'; job: JobRecord; typesDone: number }
  | { state: 'completed'; job: JobRecord; files: JobFile[] }
  | { state: 'failed'; job: JobRecord };

/** FHIR Bulk Data export jobs: kick-off, status and cancel, all scoped to the caller's partition. */
export class FhirExportService {
  /** `bulk`: the job services shared with the simplified bulk API (src/app.ts builds them). */
  constructor(private readonly bulk: BulkServices, private readonly publicUrl: string) {}

  /** Creates the job (after the quota, and the Group's existence at the Group level) and wakes the runner. */
  async kickOff(caller: ExportCaller, request: FhirExportRequest): Promise<JobRecord> {
    const job = await this.bulk.db.transaction(async (tx) => {
      if (request.groupId !== undefined && !(await groupPatients(tx, caller.partitionId, request.groupId, fhirBaseUrl(this.publicUrl)))) {
        throw new ApiError('NOT_FOUND', 'Group not found');
      }
      await assertBulkQuota(tx, caller.organisationId);
      const { deadlineMinutes, retentionHours } = this.bulk;
      return createJob(tx, { partitionId: caller.partitionId, id: prefixedId('job'), kind: FHIR_EXPORT_KIND, request, deadlineMinutes, retentionHours });
    });
    this.bulk.runner.wake();
    return job;
  }

  async status(caller: ExportCaller, jobId: string): Promise<ExportStatus> {
    const job = await this.visibleJob(caller, jobId);
    if (job.status === 'completed') {
      await this.bulk.signer.load(this.bulk.db);
      return { state: 'completed', job, files: await this.bulk.output.files(job) };
    }
    if (job.status === 'failed') return { state: 'failed', job };
    return { state: 'running', job, typesDone: (job.checkpoint as FhirExportCheckpoint | null)?.type ?? 0 };
  }

  /**
   * DELETE on the status URL: a running job is cancelled, a finished one discarded; either way
   * its output is deleted and its status URL answers 404 from then on.
   */
  async cancel(caller: ExportCaller, jobId: string): Promise<void> {
    const job = await this.visibleJob(caller, jobId);
    const key = { partitionId: job.partitionId, id: job.id };
    if (job.status === 'pending' || job.status === 'processing') {
      const cancelled = await this.bulk.db.transaction((tx) => cancelJob(tx, key.partitionId, key.id, this.bulk.retentionHours));
      // It finished meanwhile: discard it like any finished job.
      if (!cancelled) await this.bulk.db.transaction((tx) => markPurged(tx, key));
    } else {
      await this.bulk.db.transaction((tx) => markPurged(tx, key));
    }
    await this.bulk.output.delete(key);
  }

  /** The caller's export job; cancelled, discarded and expired jobs no longer exist for the client. */
  private async visibleJob(caller: ExportCaller, jobId: string): Promise<JobRecord> {
    const job = await this.bulk.db.read((tx) => readJob(tx, caller.partitionId, jobId));
    if (!job || job.kind !== FHIR_EXPORT_KIND || job.status === 'cancelled' || job.purgedAt !== null) throw new ApiError('NOT_FOUND', 'Export job not found');
    return job;
  }
}
