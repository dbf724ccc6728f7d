import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../store/database.js';
import { initSetting } from '../store/tenants.js';
import type { JobKey } from '../store/jobs.js';

/** Where the generated signing secret is kept when CLINIK_SIGNING_SECRET is unset: one for all nodes. */
export const SIGNING_SECRET_SETTING = 'bulk_signing_secret';

/** Download URLs are valid this long; each poll of the job hands out a fresh one. */
export const URL_TTL_SECONDS = 3600;

export type SignatureCheck = 'valid' | 'expired' | 'invalid';

/**
 * Signs download URLs: HMAC-SHA256 over (partition, job, file name, expiry). The partition is
 * in the signature, not the URL, so a URL cannot be replayed against another tenant's job of
 * the same id, and a tenant cannot forge one from its own.
 */
export class UrlSigner {
  private secret: Buffer | undefined;
  private loading: Promise<void> | undefined;

  constructor(configured: string | undefined) {
    if (configured) this.secret = Buffer.from(configured, 'utf8');
  }

  /**
   * Loads (or generates once, shared through the settings table) the secret; await it before
   * signing. Loaded on first use, not at start, so that a node starts (and /health answers 503)
   * while its database is down; a failed load is retried by the next call.
   */
  load(db: Database): Promise<void> {
    if (this.secret) return Promise.resolve();
    this.loading ??= db
      .transaction((tx) => initSetting(tx, SIGNING_SECRET_SETTING, randomBytes(32).toString('base64url')))
      .then((value) => {
        this.secret = Buffer.from(value, 'utf8');
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  sign(job: JobKey, name: string, expires: number): string {
    if (!this.secret) throw new Error('UrlSigner used before load()');
    return createHmac('sha256', this.secret).update(`${job.partitionId}\n${job.id}\n${name}\n${expires}`).digest('base64url');
  }

  /** `{baseUrl}/v1/bulk/files/{job}/{name}?expires=…&signature=…`, valid for URL_TTL_SECONDS from `now`. */
  signedFileUrl(baseUrl: string, job: JobKey, name: string, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + URL_TTL_SECONDS;
    return `${baseUrl}/v1/bulk/files/${encodeURIComponent(job.id)}/${encodeURIComponent(name)}?expires=${expires}&signature=${this.sign(job, name, expires)}`;
  }

  check(job: JobKey, name: string, expires: string | undefined, signature: string | undefined, now = Date.now()): SignatureCheck {
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) return 'invalid';
    const expected = Buffer.from(this.sign(job, name, Number(expires)));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return Number(expires) * 1000 <= now ? 'expired' : 'valid';
  }
}
