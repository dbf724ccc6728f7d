import { randomBytes } from 'node:crypto';
import type { Database } from '../store/database.js';
import { countOrganisations, initSetting, readSetting } from '../store/tenants.js';
import type { CreatedTenant, TenantService } from './tenants.js';

/** Where the embedded default keeps its generated admin key (in the database, not a file). */
export const EMBEDDED_ADMIN_KEY_SETTING = 'embedded_admin_key';

/**
 * The admin key: CLINIK_ADMIN_KEY when set; otherwise (embedded default only) the one stored in
 * the database, generated on first start. `generated` tells the caller to print it once.
 */
export async function resolveAdminKey(db: Database, fromEnv: string | undefined): Promise<{ adminKey: string; generated: boolean }> {
  if (fromEnv) return { adminKey: fromEnv, generated: false };
  return db.transaction(async (tx) => {
    const existing = await readSetting(tx, EMBEDDED_ADMIN_KEY_SETTING);
    if (existing) return { adminKey: existing, generated: false };
    const adminKey = await initSetting(tx, EMBEDDED_ADMIN_KEY_SETTING, `clk_admin_${randomBytes(32).toString('base64url')}`);
    return { adminKey, generated: true };
  });
}

/** On an empty embedded store, a sandbox tenant so a newcomer's first request works at once. */
export async function createDemoTenantIfEmpty(db: Database, tenants: TenantService): Promise<CreatedTenant | undefined> {
  const empty = (await db.read((tx) => countOrganisations(tx))) === 0;
  return empty ? tenants.createTenant({ name: 'demo', plan: 'sandbox' }) : undefined;
}
