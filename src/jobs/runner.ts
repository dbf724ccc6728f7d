import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Database, Tx } from '../store/database.js';
import {
  claimJob, expiredJobs, expireLeasesOf, failOverdueJobs, finishJob, lockJobForStep, markPurged, deleteJobInput, MAX_KEPT_ERRORS, recordStep, releaseJob, renewLease,
  type JobError, type JobRecord,
} from '../store/jobs.js';
import type { OutputStore } from './output-store.js';

export type { JobError };
/** A job as its handler sees it (the row at claim time; the checkpoint is where to resume). */
export type Job = JobRecord;

/** What one step commits, atomically with its own writes: the new checkpoint and counters. */
export interface StepResult {
  checkpoint: unknown;
  /** Records handled by this step (added to processedRecords). */
  processed: number;
  errors?: JobError[];
  /** The job's total, once known. */
  total?: number;
  /** The job is complete with this step. */
  done?: boolean;
}

export interface JobContext {
  db: Database;
  output: OutputStore;
  /** Aborted on cancel, deadline, lease loss or shutdown. */
  signal: AbortSignal;
  /**
   * Runs `work` and the job row update in ONE transaction; throws JobInterrupted if the job was
   * cancelled, its lease lost or its deadline passed (then nothing of this step is committed).
   */
  step(work: (tx: Tx) => Promise<StepResult>): Promise<void>;
}

export interface JobHandler {
  kind: string;
  /** Runs (or resumes, from job.checkpoint) the job in steps; returning means it is complete. */
  run(job: Job, ctx: JobContext): Promise<void>;
}

/** The job cannot go on here: cancelled, lease lost, deadline passed, or the node is stopping. */
export class JobInterrupted extends Error {
  constructor(readonly reason: 'cancelled' | 'deadline' | 'shutdown') {
    super(`job interrupted: ${reason}`);
  }
}

export interface RunnerOptions {
  /** Stable across restarts of this node, so a restart reclaims its own orphaned jobs at once. Default: the host name. */
  nodeId?: string;
  /** Jobs run at once on this node (default 1: bulk work is CPU-bound and nodes have few cores). */
  concurrency?: number;
  pollMs?: number;
  leaseSeconds?: number;
  deadlineMinutes: number;
  retentionHours: number;
  sweepMs?: number;
  /** Failed attempts before a job fails for good. */
  maxAttempts?: number;
  output: OutputStore;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * Runs durable jobs from the bulk_jobs table: a SKIP LOCKED queue with leases. A job's state and
 * checkpoint live in its row and each step commits with its writes, so a job survives any crash:
 * the node that claims it next (this one at restart, or any other once the lease expires)
 * resumes it from its last committed step. See docs/bulk.md.
 */
export class JobRunner {
  private readonly handlers: Map<string, JobHandler>;
  private readonly nodeId: string;
  private readonly owner: string;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly leaseSeconds: number;
  private readonly sweepMs: number;
  private readonly maxAttempts: number;
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private pollTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** Set by start(): the next poll first takes back the leases this node held before a restart. */
  private reclaimPending = false;

  constructor(private readonly db: Database, handlers: JobHandler[], private readonly options: RunnerOptions) {
    this.handlers = new Map(handlers.map((handler) => [handler.kind, handler]));
    this.nodeId = options.nodeId ?? os.hostname();
    this.owner = `${this.nodeId}/${process.pid}-${randomBytes(4).toString('hex')}`;
    this.concurrency = options.concurrency ?? 1;
    this.pollMs = options.pollMs ?? 1000;
    this.leaseSeconds = options.leaseSeconds ?? 30;
    this.sweepMs = options.sweepMs ?? 5 * 60_000;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.reclaimPending = true;
    this.pollTimer = setInterval(() => this.wake(), this.pollMs);
    this.sweepTimer = setInterval(() => void this.sweep().catch((error) => this.log('sweep failed', errorFields(error))), this.sweepMs);
    this.pollTimer.unref();
    this.sweepTimer.unref();
    this.wake();
  }

  /** Looks for work now (a job was just created on this node). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((error) => this.log('poll failed', errorFields(error)))
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops claiming, interrupts running jobs and hands them back to the queue. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.sweepTimer);
    await this.ticking;
    for (const { controller } of this.running.values()) controller.abort(new JobInterrupted('shutdown'));
    await Promise.all([...this.running.values()].map((job) => job.done));
  }

  /** Deletes the output and input of jobs past their retention. */
  async sweep(): Promise<number> {
    let purged = 0;
    for (;;) {
      const batch = await this.db.read((tx) => expiredJobs(tx, 100));
      for (const key of batch) {
        await this.options.output.delete(key);
        await this.db.transaction(async (tx) => {
          await deleteJobInput(tx, key);
          await markPurged(tx, key);
        });
      }
      purged += batch.length;
      if (batch.length < 100) return purged;
    }
  }

  private async tick(): Promise<void> {
    if (this.reclaimPending) {
      // A previous run of this node died holding leases: take them back now, not after they
      // expire. In the first poll rather than in start(), so that a node whose database is down
      // still starts (and answers /health with 503), and reclaims once it is back.
      const reclaimed = await this.db.transaction((tx) => expireLeasesOf(tx, `${this.nodeId}/`, this.owner));
      this.reclaimPending = false;
      if (reclaimed > 0) this.log('jobs reclaimed', { count: reclaimed });
    }
    await this.db.transaction((tx) => failOverdueJobs(tx, this.deadlineReason(), this.options.retentionHours));
    const kinds = [...this.handlers.keys()];
    while (!this.stopped && this.running.size < this.concurrency) {
      const job = await this.db.transaction((tx) => claimJob(tx, this.owner, this.leaseSeconds, kinds));
      if (!job) return;
      const controller = new AbortController();
      const done = this.execute(job, controller).finally(() => this.running.delete(job.id));
      this.running.set(job.id, { controller, done });
    }
  }

  private async execute(job: Job, controller: AbortController): Promise<void> {
    const key = { partitionId: job.partitionId, id: job.id };
    const handler = this.handlers.get(job.kind)!;
    // Renews the lease between steps too, and notices a cancel or a takeover within seconds.
    const heartbeat = setInterval(() => {
      void this.db.transaction((tx) => renewLease(tx, key, this.owner, this.leaseSeconds))
        .then((held) => held || controller.abort(new JobInterrupted('cancelled')))
        .catch(() => undefined);
    }, (this.leaseSeconds * 1000) / 3);
    heartbeat.unref();
    // (Clamped: a longer timer delay overflows and would fire at once; steps check the deadline anyway.)
    const deadline = setTimeout(() => controller.abort(new JobInterrupted('deadline')), Math.min(2 ** 31 - 1, Math.max(0, Date.parse(job.deadlineAt) - Date.now())));
    deadline.unref();
    this.log('job started', { jobId: job.id, kind: job.kind, attempt: job.attempts });
    try {
      await handler.run(job, this.context(job, controller.signal));
      await this.db.transaction((tx) => finishJob(tx, key, this.owner, { status: 'completed' }, this.options.retentionHours));
      this.log('job finished', { jobId: job.id, kind: job.kind });
    } catch (error) {
      await this.settleFailure(job, controller.signal, error).catch((cause) => this.log('job settle failed', { jobId: job.id, ...errorFields(cause) }));
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
    }
  }

  private async settleFailure(job: Job, signal: AbortSignal, error: unknown): Promise<void> {
    const key = { partitionId: job.partitionId, id: job.id };
    const interrupted = error instanceof JobInterrupted ? error : signal.reason instanceof JobInterrupted ? signal.reason : undefined;
    if (interrupted?.reason === 'cancelled') return; // the job is no longer ours: nothing to record
    if (interrupted?.reason === 'shutdown') {
      await this.db.transaction((tx) => releaseJob(tx, key, this.owner, true));
      this.log('job released', { jobId: job.id });
      return;
    }
    if (interrupted?.reason === 'deadline') {
      await this.db.transaction((tx) => finishJob(tx, key, this.owner, { status: 'failed', failure: this.deadlineReason() }, this.options.retentionHours));
      this.log('job failed', { jobId: job.id, reason: 'deadline' });
      return;
    }
    // An unexpected error: its message may quote data, so only its kind is logged or recorded.
    this.log('job attempt failed', { jobId: job.id, attempt: job.attempts, ...errorFields(error) });
    if (job.attempts >= this.maxAttempts) {
      const failure = `The job failed after ${job.attempts} attempts because of an internal error`;
      await this.db.transaction((tx) => finishJob(tx, key, this.owner, { status: 'failed', failure }, this.options.retentionHours));
    } else {
      await this.db.transaction((tx) => releaseJob(tx, key, this.owner, false));
      this.wake();
    }
  }

  private context(job: Job, signal: AbortSignal): JobContext {
    const key = { partitionId: job.partitionId, id: job.id };
    return {
      db: this.db,
      output: this.options.output,
      signal,
      step: async (work) => {
        if (signal.aborted) throw signal.reason instanceof JobInterrupted ? signal.reason : new JobInterrupted('shutdown');
        await this.db.transaction(async (tx) => {
          const state = await lockJobForStep(tx, key);
          if (!state || state.status !== 'processing' || state.leaseOwner !== this.owner) throw new JobInterrupted('cancelled');
          if (state.overdue) throw new JobInterrupted('deadline');
          const result = await work(tx);
          const errors = result.errors ?? [];
          await recordStep(tx, key, {
            checkpoint: result.checkpoint,
            processed: result.processed,
            keptErrors: errors.slice(0, Math.max(0, MAX_KEPT_ERRORS - state.keptErrors)),
            errorCount: errors.length,
            total: result.total,
            done: result.done ?? false,
            leaseSeconds: this.leaseSeconds,
            retentionHours: this.options.retentionHours,
          });
        });
      },
    };
  }

  private deadlineReason(): string {
    return `The job exceeded its deadline of ${this.options.deadlineMinutes} minutes`;
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }
}

/** What may be logged of an error: its kind and stack frames, never its message (PHI rule). */
function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { errorName: typeof error };
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at ')).slice(0, 8).map((line) => line.trim());
  return { errorName: error.name, errorCode: (error as { code?: string }).code, stack: frames };
}
