import type pg from 'pg';
import { INDEX_TABLES } from './resources.js';

/** The tables whose statistics the search plans depend on. */
const SEARCHED_TABLES = ['resources', ...INDEX_TABLES] as const;

/** A node analyzes after writing this many resources, or as many as the store held at its last analysis if more. */
const MIN_WRITES = 200;

/** Below this many resources the write that triggers an analysis waits for it (about 0.1 s there). */
const WAIT_BELOW_ROWS = 2_000;

/**
 * Keeps the planner's statistics in step with a store that grows from nothing. Search statements
 * are planned once per connection (generic plans, src/store/database.ts), from the statistics
 * there are. PostgreSQL's autovacuum gathers them after 10% growth, but only on its next round (a
 * minute apart by default), and until then a fresh store has none: planned on default
 * selectivities, a chained search over 430 resources nested a loop over every name row inside a
 * loop over every reference, and took 5 to 46 s a page (docs/search.md, "Planner statistics").
 *
 * So each node counts the resources it writes and, once they reach the store's size as of the
 * last analysis (at least MIN_WRITES), analyzes the searched tables: at every doubling of a small
 * store, and rarely at scale, where autovacuum keeps up. While the store is small the write that
 * crosses the mark waits for the analysis, so that the searches after it are planned on
 * statistics; beyond that it runs in the background. A failure (a lock held by autovacuum, say)
 * only leaves the refresh to autovacuum.
 */
export class PlannerStatistics {
  private written = 0;
  /** Resources in the store as of the last analysis (pg_class.reltuples), once read. */
  private analyzedRows: number | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Counts `count` committed resource writes. Resolves once the analysis they call for is done
   * while the store is small, at once otherwise; never rejects (the writes are committed).
   */
  async noteWritten(count: number): Promise<void> {
    this.written += count;
    if (!this.running) {
      this.analyzedRows ??= await this.storedRows().catch(() => 0);
      if (!this.running && this.written >= Math.max(MIN_WRITES, this.analyzedRows)) {
        this.written = 0;
        this.running = this.analyze().finally(() => {
          this.running = undefined;
        });
      }
    }
    if (this.running && (this.analyzedRows ?? 0) + this.written < WAIT_BELOW_ROWS) await this.running;
  }

  private async analyze(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Autovacuum may be analyzing a table already: then it is doing this job, not to be waited for.
      await client.query("SET LOCAL lock_timeout = '1s'");
      await client.query(`ANALYZE ${SEARCHED_TABLES.join(', ')}`);
      await client.query('COMMIT');
      this.analyzedRows = await this.storedRows();
    } catch {
      await client.query('ROLLBACK').catch(() => undefined);
    } finally {
      client.release();
    }
  }

  /** The planner's count of stored resource rows (0 before the first analysis). */
  private async storedRows(): Promise<number> {
    const { rows } = await this.pool.query<{ reltuples: number }>("SELECT reltuples::float8 AS reltuples FROM pg_class WHERE oid = 'resources'::regclass");
    return Math.max(0, Number(rows[0]?.reltuples ?? 0));
  }
}
