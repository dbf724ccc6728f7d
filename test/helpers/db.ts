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
