import { startEmbeddedPostgres } from './src/store/embedded.js';
import { Database } from './src/store/database.js';
import { migrate } from './src/store/migrate.js';
const t = Date.now();
const s = await startEmbeddedPostgres('/tmp/clinik-try', console.log);
console.log('started', Date.now() - t, s.connectionString.replace(/:[^:@]*@/, ':***@'));
const db = new Database({ connectionString: s.connectionString });
console.log(await migrate(db), (await db.pool.query('select version(), current_setting(\'TimeZone\') tz')).rows);
await db.close(); await s.stop(); console.log('stopped', Date.now() - t);
