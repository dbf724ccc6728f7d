import pg from 'pg';

// numeric and int8 come back as strings (no precision loss); timestamps are parsed by us.
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (value) => value);

/**
 * An open connection, inside a transaction or a single-statement read. Every store function takes
 * one explicitly, so no query can silently run outside the transaction its caller opened.
 */
export class Tx {
  constructor(private readonly client: pg.PoolClient) {}

  /** Runs a parameterised query. A `name` makes it a named prepared statement (for hot paths). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<R[]> {
    const result = await this.client.query<R>(name ? { name, text, values } : { text, values });
    return result.rows;
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
      await client.query('BEGIN');
      const result = await fn(new Tx(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
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
