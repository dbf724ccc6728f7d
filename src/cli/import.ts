import { fhirBaseUrl } from '../config.js';
import { loadFiles, LoadError, type LoadProgress, type LoadSummary } from '../fhir/loader/loader.js';
import { prefixedId } from '../ids.js';
import type { Database } from '../store/database.js';
import { findOrganisation, findPartition, type Environment } from '../store/tenants.js';

/**
 * `clinikapi import <file-or-dir>… --tenant ORG [--env test|live]`: the operator loader's command
 * line. It writes straight to the database (no server needed), shows a progress bar on stderr and
 * prints a summary on stdout. Exit code 0 when every record loaded, 1 when some were rejected.
 */

export interface ImportCommand {
  paths: string[];
  tenant: string;
  environment: string;
  publicUrl: string;
  workers?: number;
  /** Concurrent write transactions (the loader's default: 2); 1 is gentler on a serving API. */
  writers?: number;
}

export interface ImportOutput {
  /** Progress, redrawn in place when `tty`. */
  progress: NodeJS.WritableStream & { isTTY?: boolean };
  print(line: string): void;
}

/** Rejected records listed in the summary; the rest are counted. */
const LISTED_ERRORS = 20;

export async function runImport(db: Database, command: ImportCommand, output: ImportOutput): Promise<{ exitCode: number; summary: LoadSummary }> {
  if (command.environment !== 'test' && command.environment !== 'live') throw new LoadError('--env must be test or live');
  const environment: Environment = command.environment;
  const partitionId = await db.read(async (tx) => {
    if (!(await findOrganisation(tx, command.tenant))) throw new LoadError(`No tenant ${command.tenant}`);
    return findPartition(tx, command.tenant, environment);
  });
  if (partitionId === undefined) throw new LoadError(`Tenant ${command.tenant} has no ${environment} environment`);
  const bar = progressBar(output.progress);
  const summary = await loadFiles(db, {
    paths: command.paths,
    // The request id marks every history entry of this load, so the load can be found again.
    ctx: { partitionId, tenantId: command.tenant, keyId: null, requestId: prefixedId('load'), fhirBase: fhirBaseUrl(command.publicUrl) },
    workers: command.workers,
    writers: command.writers,
    onProgress: bar.update,
  });
  bar.done();
  for (const line of summaryLines(summary)) output.print(line);
  return { exitCode: summary.rejected > 0 ? 1 : 0, summary };
}

function summaryLines(summary: LoadSummary): string[] {
  const loaded = summary.created + summary.updated;
  const seconds = summary.elapsedMs / 1000;
  const types = Object.entries(summary.byType).sort(([, a], [, b]) => b - a).map(([type, count]) => `${type} ${fmt(count)}`);
  const lines = [
    `Loaded ${fmt(loaded)} resources (${fmt(summary.created)} created, ${fmt(summary.updated)} updated) from ${summary.files} file${summary.files === 1 ? '' : 's'} ` +
      `in ${seconds.toFixed(1)} s: ${fmt(loaded / Math.max(seconds, 0.001))} resources/s`,
  ];
  if (types.length > 0) lines.push(`  ${types.join(', ')}`);
  if (summary.rejected > 0) {
    lines.push(`Rejected ${fmt(summary.rejected)} record${summary.rejected === 1 ? '' : 's'}:`);
    for (const error of summary.errors.slice(0, LISTED_ERRORS)) lines.push(`  ${error.file} ${error.where}: ${error.message}`);
    if (summary.rejected > LISTED_ERRORS) lines.push(`  … and ${fmt(summary.rejected - LISTED_ERRORS)} more`);
  }
  lines.push(`Planner statistics refreshed (VACUUM ANALYZE) in ${(summary.vacuumMs / 1000).toFixed(1)} s`);
  return lines;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 200;

/** A bar redrawn in place on a terminal; elsewhere (logs, CI) a line per tenth of the work. */
function progressBar(stream: ImportOutput['progress']): { update(progress: LoadProgress): void; done(): void } {
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return {
    update(progress) {
      const fraction = progress.bytesTotal > 0 ? Math.min(1, progress.bytesDone / progress.bytesTotal) : 1;
      const now = performance.now();
      if (stream.isTTY ? now - lastDraw < REDRAW_MS && fraction < 1 : Math.floor(fraction * 10) === lastTenth) return;
      lastDraw = now;
      lastTenth = Math.floor(fraction * 10);
      const seconds = progress.elapsedMs / 1000;
      const eta = fraction > 0 ? (seconds / fraction) * (1 - fraction) : undefined;
      const filled = Math.round(fraction * BAR_WIDTH);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ` +
        `${fmt(progress.records)} resources  ${fmt(progress.records / Math.max(seconds, 0.001))}/s  ETA ${eta === undefined ? '?' : clock(eta)}` +
        (progress.rejected ? `  (${fmt(progress.rejected)} rejected)` : '');
      stream.write(stream.isTTY ? `\r${line}\u001b[K` : `${line}\n`);
      drawn = true;
    },
    done() {
      if (drawn && stream.isTTY) stream.write('\n');
    },
  };
}

function clock(seconds: number): string {
  const total = Math.round(seconds);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
