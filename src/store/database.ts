import pg from 'pg';
import { PlannerStatistics } from './statistics.js';

// numeric and int8 come back as strings (no precision loss); timestamps are parsed by us (isoInstant).
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (value) => value);

const PRINTED_INSTANT = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;

/**
 * A timestamptz as these connections print it (DateStyle ISO, TimeZone UTC, both set by Database:
 * `2024-03-01 10:00:00.5+00`) as an ISO 8601 instant with 3 fractional digits (the API's instants,
 * truncated as to_char's MS is) or 6 (cursor keys, lossless). Formatting in the node rather than
 * with to_char(): on a search page, to_char cost PostgreSQL as much as reading the rows. Stored
 * instants lie within years 0001–9999 (the indexer's date bounds), which print with four digits.
 */
export function isoInstant(printed: string, digits: 3 | 6): string {
  const match = PRINTED_INSTANT.exec(printed);
  if (!match) throw new Error(`unexpected timestamptz text: ${printed}`);
  return `${match[1]}T${match[2]}.${(match[3] ?? '').padEnd(6, '0').slice(0, digits)}Z`;
}

/**
 * pg's callback form, as a promise. Through pg's own promise form, every request's objects, the
 * rows read included, outlived two young-generation collections: 8 ms pauses (docs/search.md,
 * "Garbage").
 */
function execute<R extends pg.QueryResultRow>(client: pg.PoolClient, config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    client.query<R>(config, (error: Error | undefined, result: pg.QueryResult<R>) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * How the connection plans parameterised statements: 'generic' once per named statement, for all
 * values; 'custom' on each execution, with the values; 'unknown' after a rollback undid a change.
 */
type PlanMode = 'generic' | 'custom' | 'unknown';
const planModes = new WeakMap<pg.PoolClient, PlanMode>();

/**
 * An open connection, inside a transaction or a single-statement read. Every store function takes
 * one explicitly, so no query can silently run outside the transaction its caller opened.
 */
export class Tx {
  constructor(private readonly client: pg.PoolClient) {}

  /**
   * Runs a parameterised query. A `name` makes it a named prepared statement (the search hot path,
   * src/store/search.ts), planned once per connection for all values: planning a multi-filter
   * search against large statistics costs more than running it (10–15 ms against 1–5 ms at a
   * million resources). Unnamed statements are planned on each run with their values, which the
   * one-off estimates (a search's estimated total) rely on. PostgreSQL's own choice (`auto`) keeps
   * re-planning a search whose generic plan it costs higher, so the connection is switched.
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<R[]> {
    if (values.length > 0) await this.planAs(name ? 'generic' : 'custom');
    const result = await execute<R>(this.client, name ? { name, text, values } : { text, values });
    return result.rows;
  }

  private async planAs(mode: 'generic' | 'custom'): Promise<void> {
    if ((planModes.get(this.client) ?? 'custom') === mode) return;
    await execute(this.client, { text: `SET plan_cache_mode = ${mode === 'generic' ? 'force_generic_plan' : 'auto'}` });
    planModes.set(this.client, mode);
  }

  /** After a rollback the setting is whatever it was before the transaction: find out on next use. */
  static forgetPlanMode(client: pg.PoolClient): void {
    planModes.set(client, 'unknown');
  }

  /** Binary COPY and other driver-level features stay available to the store. */
  get raw(): pg.PoolClient {
    return this.client;
  }
}

export interface DatabaseOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
}

export class Database {
  readonly pool: pg.Pool;
  /** Refreshes the search tables' statistics as the store grows (src/store/statistics.ts). */
  readonly statistics: PlannerStatistics;

  constructor(options: DatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      // Connections are replaced now and then, so that the prepared statements each one keeps (one
      // per search shape, src/store/search.ts) cannot accumulate without bound.
      maxUses: 10_000,
      application_name: options.applicationName ?? 'clinikapi',
      // Results must not depend on the server's defaults: UTC everywhere. JIT compilation pays off
      // for long analytical queries only; on a search whose (mis)estimated cost passes its
      // threshold it adds tens of milliseconds to a query that runs in a few.
      options: '-c TimeZone=UTC -c DateStyle=ISO -c jit=off',
    });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.statistics = new PlannerStatistics(this.pool);
  }

  /** Runs `fn` on one connection without a transaction: for single-statement reads. */
  async read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await fn(new Tx(client));
    } finally {
      client.release();
    }
  }

  /** Runs `fn` in a transaction, committed when it resolves and rolled back when it throws. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await execute(client, { text: 'BEGIN' });
      const result = await fn(new Tx(client));
      await execute(client, { text: 'COMMIT' });
      return result;
    } catch (error) {
      try {
        await execute(client, { text: 'ROLLBACK' });
        Tx.forgetPlanMode(client);
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
