import type { Tx } from './database.js';

/** Organisations, their partitions and API keys: the small global reference tables. */

export type Environment = 'test' | 'live';

export interface OrganisationRow {
  id: string;
  name: string;
  plan: string;
  parentId: string | null;
  rateLimitCustom: boolean;
  rateLimitPerMinute: number | null;
  createdAt: string;
}

export interface ApiKeyRow {
  id: string;
  organisationId: string;
  partitionId: number;
  environment: Environment;
  prefix: string;
  scope: string;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

/** A key looked up by its hash, with what authentication needs about its organisation. */
export interface KeyLookupRow extends ApiKeyRow {
  keyHash: Buffer;
  /** The root organisation, whose limits this key shares. */
  rootOrganisationId: string;
  rootPlan: string;
  rootRateLimitCustom: boolean;
  rootRateLimitPerMinute: number | null;
}

const ISO = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const ORG_COLUMNS = `id, name, plan, parent_id AS "parentId", rate_limit_custom AS "rateLimitCustom", rate_limit_per_minute AS "rateLimitPerMinute", ${ISO('created_at')} AS "createdAt"`;
const KEY_COLUMNS = `k.id, k.organisation_id AS "organisationId", k.partition_id AS "partitionId", k.environment, k.prefix, k.scope, ${ISO('k.expires_at')} AS "expiresAt", ${ISO('k.revoked_at')} AS "revokedAt", ${ISO('k.created_at')} AS "createdAt"`;

export async function insertOrganisation(tx: Tx, org: Omit<OrganisationRow, 'createdAt'> & { createdAt: string }): Promise<void> {
  await tx.query(
    'INSERT INTO organisations (id, name, plan, parent_id, rate_limit_custom, rate_limit_per_minute, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [org.id, org.name, org.plan, org.parentId, org.rateLimitCustom, org.rateLimitPerMinute, org.createdAt],
  );
}

export async function findOrganisation(tx: Tx, id: string): Promise<OrganisationRow | undefined> {
  const rows = await tx.query<OrganisationRow>(`SELECT ${ORG_COLUMNS} FROM organisations WHERE id = $1`, [id]);
  return rows[0];
}

export async function updateOrganisation(tx: Tx, id: string, changes: Partial<Pick<OrganisationRow, 'name' | 'plan' | 'rateLimitCustom' | 'rateLimitPerMinute'>>): Promise<OrganisationRow | undefined> {
  const rows = await tx.query<OrganisationRow>(
    `UPDATE organisations SET name = COALESCE($2, name), plan = COALESCE($3, plan),
       rate_limit_custom = COALESCE($4, rate_limit_custom),
       rate_limit_per_minute = CASE WHEN $4::boolean IS NULL THEN rate_limit_per_minute ELSE $5::integer END
     WHERE id = $1 RETURNING ${ORG_COLUMNS}`,
    [id, changes.name ?? null, changes.plan ?? null, changes.rateLimitCustom ?? null, changes.rateLimitPerMinute ?? null],
  );
  return rows[0];
}

export async function countOrganisations(tx: Tx): Promise<number> {
  const rows = await tx.query<{ count: string }>('SELECT count(*) AS count FROM organisations');
  return Number(rows[0].count);
}

/** The partition of (organisation, environment), created on first use. */
export async function ensurePartition(tx: Tx, organisationId: string, environment: Environment): Promise<number> {
  const rows = await tx.query<{ id: number }>(
    `WITH inserted AS (
       INSERT INTO partitions (organisation_id, environment) VALUES ($1, $2) ON CONFLICT (organisation_id, environment) DO NOTHING RETURNING id)
     SELECT id FROM inserted UNION ALL SELECT id FROM partitions WHERE organisation_id = $1 AND environment = $2`,
    [organisationId, environment],
  );
  return rows[0].id;
}

export async function findPartition(tx: Tx, organisationId: string, environment: Environment): Promise<number | undefined> {
  const rows = await tx.query<{ id: number }>('SELECT id FROM partitions WHERE organisation_id = $1 AND environment = $2', [organisationId, environment]);
  return rows[0]?.id;
}

export async function insertApiKey(tx: Tx, key: Omit<ApiKeyRow, 'revokedAt'> & { keyHash: Buffer }): Promise<void> {
  await tx.query(
    'INSERT INTO api_keys (id, organisation_id, partition_id, environment, prefix, key_hash, scope, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [key.id, key.organisationId, key.partitionId, key.environment, key.prefix, key.keyHash, key.scope, key.expiresAt, key.createdAt],
  );
}

export async function findKeyByHash(tx: Tx, keyHash: Buffer): Promise<KeyLookupRow | undefined> {
  const rows = await tx.query<KeyLookupRow>(
    `SELECT ${KEY_COLUMNS}, k.key_hash AS "keyHash", root.id AS "rootOrganisationId", root.plan AS "rootPlan",
            root.rate_limit_custom AS "rootRateLimitCustom", root.rate_limit_per_minute AS "rootRateLimitPerMinute"
       FROM api_keys k
       JOIN organisations o ON o.id = k.organisation_id
       JOIN organisations root ON root.id = COALESCE(o.parent_id, o.id)
      WHERE k.key_hash = $1`,
    [keyHash],
    'api_key_by_hash',
  );
  return rows[0];
}

export async function listKeys(tx: Tx, organisationId: string): Promise<ApiKeyRow[]> {
  return tx.query<ApiKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys k WHERE k.organisation_id = $1 ORDER BY k.created_at, k.id`, [organisationId]);
}

/** Marks a key revoked; returns its hash (for cache eviction), or undefined when there is no such key. */
export async function revokeKey(tx: Tx, keyId: string, at: string): Promise<Buffer | undefined> {
  const rows = await tx.query<{ keyHash: Buffer }>(
    'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING key_hash AS "keyHash"',
    [keyId, at],
  );
  return rows[0]?.keyHash;
}

export async function readSetting(tx: Tx, name: string): Promise<string | undefined> {
  const rows = await tx.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name]);
  return rows[0]?.value;
}

/** Stores a setting unless it is already set; returns the value in force. */
export async function initSetting(tx: Tx, name: string, value: string): Promise<string> {
  await tx.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
  return (await readSetting(tx, name))!;
}
