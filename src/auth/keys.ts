import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Environment } from '../store/tenants.js';

/** clk_live_… or clk_test_… followed by at least 32 url-safe characters. */
const KEY_FORMAT = /^clk_(live|test)_[A-Za-z0-9_-]{32,200}$/;

export function isWellFormedKey(key: string): boolean {
  return KEY_FORMAT.test(key);
}

export function environmentOfKey(key: string): Environment {
  return key.startsWith('clk_live_') ? 'live' : 'test';
}

/** A new key: 32 random bytes, base64url (43 characters) after the prefix. */
export function generateKey(environment: Environment): string {
  return `clk_${environment}_${randomBytes(32).toString('base64url')}`;
}

/** Keys are high-entropy, so a plain SHA-256 is a sound way to store them. */
export function hashKey(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What is shown of a key after creation: its prefix and a few characters. */
export function displayPrefix(key: string): string {
  return key.slice(0, 'clk_test_'.length + 6);
}
