import { Database } from './database.js';
import { startEmbeddedPostgres } from './embedded.js';

export interface Store {
  db: Database;
  connectionString: string;
  embedded: boolean;
  close(): Promise<void>;
}

/** DATABASE_URL when set; otherwise the embedded PostgreSQL in dataDir. */
export async function openStore(options: { databaseUrl?: string; dataDir: string; poolSize?: number }, log: (message: string) => void = () => undefined): Promise<Store> {
  const embedded = options.databaseUrl ? undefined : await startEmbeddedPostgres(options.dataDir, log);
  const connectionString = options.databaseUrl ?? embedded!.connectionString;
  const db = new Database({ connectionString, max: options.poolSize });
  return {
    db,
    connectionString,
    embedded: embedded !== undefined,
    close: async () => {
      await db.close();
      await embedded?.stop();
    },
  };
}
