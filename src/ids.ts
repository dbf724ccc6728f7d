import { createHash, randomBytes } from 'node:crypto';

/**
 * Random bytes for ids, drawn from a pool refilled 4 KB at a time: one call into the CSPRNG per
 * request costs more than the rest of making its id (every request gets one). The bytes are as
 * random as randomBytes' own; the view is only valid until the next call.
 */
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;
function pooledRandomBytes(length: number): Uint8Array {
  if (length > POOL_SIZE) return randomBytes(length);
  if (poolOffset + length > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  poolOffset += length;
  return pool.subarray(poolOffset - length, poolOffset);
}

/** The FHIR id rule: 1–64 characters of A–Z, a–z, 0–9, '-' and '.'. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function isFhirId(id: string): boolean {
  return FHIR_ID.test(id);
}

/**
 * A lower-case UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered,
 * a valid FHIR id, and the shape of the public service's ids.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = Buffer.from(pooledRandomBytes(16));
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A UUID (version 8, RFC 9562) derived from `parts`: the same parts always give the same id, so
 * work that is redone after a crash (a bulk import step) writes the same resources, never copies.
 */
export function derivedId(...parts: Array<string | number>): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const BASE36 = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `prefix_` followed by `length` random lower-case alphanumerics: org_…, key_… */
export function prefixedId(prefix: string, length = 20): string {
  const bytes = pooledRandomBytes(length);
  let id = `${prefix}_`;
  for (const byte of bytes) id += BASE36[byte % BASE36.length];
  return id;
}
