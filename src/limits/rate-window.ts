/**
 * A rolling 60-second request window per organisation, in memory (one node). It counts requests
 * in one-second buckets, so the window slides smoothly without storing every timestamp.
 */
export interface RateLimitState {
  /** null when the organisation is unlimited. */
  limit: number | null;
  remaining: number;
  /** Seconds until the oldest counted request leaves the window. */
  resetSeconds: number;
  allowed: boolean;
}

const WINDOW_SECONDS = 60;

interface Window { buckets: Map<number, number>; total: number }

export class RateWindow {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts one request for `organisationId` if it fits under `limit`. */
  hit(organisationId: string, limit: number | null): RateLimitState {
    if (limit === null) return { limit: null, remaining: 0, resetSeconds: 0, allowed: true };
    const second = Math.floor(this.now() / 1000);
    const window = this.windowOf(organisationId, second);
    const allowed = window.total < limit;
    if (allowed) {
      window.buckets.set(second, (window.buckets.get(second) ?? 0) + 1);
      window.total++;
    }
    const oldest = Math.min(...window.buckets.keys());
    return {
      limit,
      remaining: Math.max(0, limit - window.total),
      resetSeconds: Math.max(1, oldest + WINDOW_SECONDS - second),
      allowed,
    };
  }

  private windowOf(organisationId: string, second: number): Window {
    let window = this.windows.get(organisationId);
    if (!window) {
      window = { buckets: new Map(), total: 0 };
      this.windows.set(organisationId, window);
    }
    for (const [bucket, count] of window.buckets) {
      if (bucket <= second - WINDOW_SECONDS) {
        window.buckets.delete(bucket);
        window.total -= count;
      }
    }
    return window;
  }
}
