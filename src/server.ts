import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { createDemoTenantIfEmpty, resolveAdminKey } from './auth/bootstrap.js';
import { KeyCache } from './auth/key-cache.js';
import { TenantService } from './auth/tenants.js';
import type { Config } from './config.js';
import { loadDefinitions } from './fhir/definitions/index.js';
import { warmUpValidator } from './fhir/validate.js';
import { openStore } from './store/connect.js';
import { migrate } from './store/migrate.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a node: opens the store (embedded or DATABASE_URL), migrates, resolves the admin key,
 * and listens. On an empty embedded store it creates a demo tenant and prints how to use it.
 */
export async function startServer(config: Config, print: (line: string) => void = console.log): Promise<RunningServer> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, print);
  try {
    await migrate(store.db);
    // Compile definitions and the validator before listening, not under the first request.
    loadDefinitions();
    warmUpValidator();
    const keyCache = new KeyCache(store.db, store.connectionString);
    await keyCache.listen();
    const { adminKey, generated } = await resolveAdminKey(store.db, config.adminKey);
    const app = buildApp({ db: store.db, keyCache, adminKey, publicUrl: config.publicUrl, logLevel: config.logLevel, bulk: config.bulk });
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const url = typeof address === 'object' && address ? `http://${config.host}:${address.port}` : config.publicUrl;

    if (store.embedded) {
      if (generated) print(`Admin key (shown once; the CLI finds it by itself): ${adminKey}`);
      const demo = await createDemoTenantIfEmpty(store.db, new TenantService(store.db, keyCache));
      if (demo) {
        print(`Created a demo tenant ${demo.tenantId} with test key ${demo.keys.test}`);
        print(`Try: curl -s -H 'x-api-key: ${demo.keys.test}' -H 'content-type: application/json' -d '{"firstName":"Jane","lastName":"Doe"}' ${url}/v1/patients`);
      }
    }
    print(`ClinikAPI listening on ${url} (${store.embedded ? `embedded PostgreSQL in ${config.dataDir}` : 'DATABASE_URL'})`);

    let closing: Promise<void> | undefined;
    return {
      app,
      url,
      close: () => {
        closing ??= (async () => {
          await app.close();
          await keyCache.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}
