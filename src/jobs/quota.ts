import { ApiError } from '../errors.js';
import type { Tx } from '../store/database.js';
import { countRecentJobs, lockBulkQuota } from '../store/jobs.js';

/** Contract §6.4: 5 bulk operations per hour per organisation, both environments together. */
export const BULK_OPERATIONS_PER_HOUR = 5;
const HOUR_MS = 3_600_000;

/**
 * Throws 429 RATE_LIMITED (with Retry-After) when the organisation has started its hourly
 * allowance of bulk jobs. Call it in the transaction that then creates the job: the count is
 * locked per organisation until that transaction ends, so nodes cannot race past the limit.
 * `lock: false` is for an early, advisory check outside that transaction (before reading a large body).
 */
export async function assertBulkQuota(tx: Tx, organisationId: string, options: { lock?: boolean; now?: Date } = {}): Promise<void> {
  const now = options.now ?? new Date();
  if (options.lock ?? true) await lockBulkQuota(tx, organisationId);
  const { count, oldest } = await countRecentJobs(tx, organisationId, new Date(now.getTime() - HOUR_MS));
  if (count < BULK_OPERATIONS_PER_HOUR) return;
  const retryAfter = Math.max(1, Math.ceil((Date.parse(oldest!) + HOUR_MS - now.getTime()) / 1000));
  throw new ApiError('RATE_LIMITED', `Bulk operation limit reached: ${BULK_OPERATIONS_PER_HOUR} per hour per organisation`, [], { 'retry-after': String(retryAfter) });
}
