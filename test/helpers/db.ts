import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Database } from '../../src/store/database.js';
import { withDatabase } from '../../src/store/server-admin.js';

export interface TestDatabase {
  db: Database;
  connectionString: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database cloned from the run's template (see test/run.ts). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.CLINIK_TEST_SERVER_URL;
  const template = process.env.CLINIK_TEST_TEMPLATE;
  if (!serverUrl || !template) throw new Error('Run the tests through `npm test`, which starts the database they need.');
  const name = `clinik_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  const connectionString = withDatabase(serverUrl, name);
  const db = new Database({ connectionString, max: 8 });
  return {
    db,
    connectionString,
    drop: async () => {
      await db.close();
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  try {
    // CREATE DATABASE … TEMPLATE fails while another session uses the template; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(sql);
        return;
      } catch (error) {
        if (attempt >= 20 || (error as { code?: string }).code !== '55006') throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await client.end();
  }
}

/** The index tables whose rows carry their resource's last_updated. */
const LAST_UPDATED_TABLES = ['search_reference', 'search_quantity'];

/**
 * The index rows in `table` of the partition's resources whose id matches `idPattern` (a LIKE
 * pattern), as sorted JSON texts without partition_id (and the `omit` columns), for comparing two
 * write paths. A reference or quantity row's last_updated, the time of the write, is asserted to
 * equal its resource's own (migrations 009 and 010) and then left out.
 */
export async function indexRowTexts(db: Database, table: string, partitionId: number, resourceType: string | null, idPattern: string, omit: string[] = []): Promise<string[]> {
  const { rows } = await db.pool.query<{ row: Record<string, unknown>; current: boolean | null }>(
    `SELECT to_jsonb(x) - 'partition_id' - 'last_updated' - $4::text[] AS row, (to_jsonb(x) ->> 'last_updated')::timestamptz = r.last_updated AS current
      FROM ${table} x LEFT JOIN resources r ON r.partition_id = x.partition_id AND r.resource_type = x.resource_type AND r.id = x.resource_id
      WHERE x.partition_id = $1 AND ($2::text IS NULL OR x.resource_type = $2) AND x.resource_id LIKE $3`,
    [partitionId, resourceType, idPattern, omit],
  );
  if (LAST_UPDATED_TABLES.includes(table)) for (const { current } of rows) assert.equal(current, true, `a ${table} row carries its resource's last_updated`);
  return rows.map(({ row }) => JSON.stringify(row)).sort();
}
