import type { Database } from '../store/database.js';
import {
  ensurePartition, findOrganisation, insertApiKey, insertOrganisation, listKeys, revokeKey, updateOrganisation,
  type ApiKeyRow, type Environment, type OrganisationRow,
} from '../store/tenants.js';
import { prefixedId } from '../ids.js';
import { isPlan, planHasLiveKeys, type Plan } from '../limits/plans.js';
import type { KeyCache } from './key-cache.js';
import { displayPrefix, generateKey, hashKey } from './keys.js';

export type Scope = '*' | 'read' | 'write';

export interface NewTenant {
  name: string;
  plan?: Plan;
  parentTenantId?: string;
  /** Overrides the plan's per-minute limit; null means unlimited; undefined keeps the plan's. */
  rateLimitPerMinute?: number | null;
}

export interface CreatedTenant {
  tenantId: string;
  name: string;
  plan: Plan;
  parentTenantId?: string;
  rateLimitPerMinute?: number | null;
  keys: { test: string; live: string | null };
}

export class TenantError extends Error {
  constructor(readonly reason: 'not-found' | 'invalid', message: string) {
    super(message);
  }
}

/** Organisations, their partitions and their keys: what the admin API and the CLI manage. */
export class TenantService {
  constructor(private readonly db: Database, private readonly keyCache: KeyCache) {}

  async createTenant(input: NewTenant): Promise<CreatedTenant> {
    return this.db.transaction(async (tx) => {
      const parent = input.parentTenantId ? await findOrganisation(tx, input.parentTenantId) : undefined;
      if (input.parentTenantId && !parent) throw new TenantError('not-found', 'Parent tenant not found');
      if (parent?.parentId) throw new TenantError('invalid', 'A sub-organisation cannot have sub-organisations');
      // A sub-organisation shares its parent's plan and limits.
      const plan = (parent?.plan ?? input.plan ?? 'sandbox') as Plan;
      const tenantId = prefixedId('org');
      await insertOrganisation(tx, {
        id: tenantId,
        name: input.name,
        plan,
        parentId: parent?.id ?? null,
        rateLimitCustom: input.rateLimitPerMinute !== undefined,
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
        createdAt: new Date().toISOString(),
      });
      const test = await this.insertKey(tx, tenantId, 'test', '*', null);
      const live = planHasLiveKeys(plan) ? await this.insertKey(tx, tenantId, 'live', '*', null) : null;
      return {
        tenantId,
        name: input.name,
        plan,
        ...(parent ? { parentTenantId: parent.id } : {}),
        ...(input.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: input.rateLimitPerMinute } : {}),
        keys: { test: test.key, live: live?.key ?? null },
      };
    });
  }

  async updateTenant(tenantId: string, changes: { name?: string; plan?: Plan; rateLimitPerMinute?: number | null }): Promise<OrganisationRow> {
    const updated = await this.db.transaction((tx) =>
      updateOrganisation(tx, tenantId, {
        name: changes.name,
        plan: changes.plan,
        ...(changes.rateLimitPerMinute !== undefined ? { rateLimitCustom: true, rateLimitPerMinute: changes.rateLimitPerMinute } : {}),
      }),
    );
    if (!updated) throw new TenantError('not-found', 'Tenant not found');
    // Cached keys carry their organisation's limits.
    await this.keyCache.announceClear();
    return updated;
  }

  async getTenant(tenantId: string): Promise<OrganisationRow | undefined> {
    return this.db.read((tx) => findOrganisation(tx, tenantId));
  }

  async createKey(tenantId: string, environment: Environment, scope: Scope, expiresAt: string | null): Promise<ApiKeyRow & { key: string }> {
    return this.db.transaction(async (tx) => {
      const org = await findOrganisation(tx, tenantId);
      if (!org) throw new TenantError('not-found', 'Tenant not found');
      if (environment === 'live' && isPlan(org.plan) && !planHasLiveKeys(org.plan)) {
        throw new TenantError('invalid', 'Live keys come with paid plans only');
      }
      return this.insertKey(tx, tenantId, environment, scope, expiresAt);
    });
  }

  async listKeys(tenantId: string): Promise<ApiKeyRow[]> {
    return this.db.read(async (tx) => {
      if (!(await findOrganisation(tx, tenantId))) throw new TenantError('not-found', 'Tenant not found');
      return listKeys(tx, tenantId);
    });
  }

  async revokeKey(keyId: string): Promise<void> {
    const keyHash = await this.db.transaction((tx) => revokeKey(tx, keyId, new Date().toISOString()));
    if (!keyHash) throw new TenantError('not-found', 'Key not found');
    await this.keyCache.announceChange(keyHash);
  }

  /** The partition of a tenant's environment, for admin operations on its data. */
  async partitionOf(tenantId: string, environment: Environment): Promise<number | undefined> {
    return this.db.read(async (tx) => ((await findOrganisation(tx, tenantId)) ? ensurePartition(tx, tenantId, environment) : undefined));
  }

  private async insertKey(tx: Parameters<Parameters<Database['transaction']>[0]>[0], tenantId: string, environment: Environment, scope: Scope, expiresAt: string | null) {
    const key = generateKey(environment);
    const partitionId = await ensurePartition(tx, tenantId, environment);
    const row: ApiKeyRow = {
      id: prefixedId('key'),
      organisationId: tenantId,
      partitionId,
      environment,
      prefix: displayPrefix(key),
      scope,
      expiresAt,
      revokedAt: null,
      createdAt: new Date().toISOString(),
    };
    await insertApiKey(tx, { ...row, keyHash: hashKey(key) });
    return { ...row, key };
  }
}
