/**
 * Small value helpers shared by the row collector, the per-kind adders and the sort rows: text
 * extraction from primitives, string clipping and normalisation, index key size limits, and
 * code-point ordering (the database's COLLATE "C" order).
 */
import { normalizeString } from '../normalize.js';

/** Longest string value kept (in code points; longer values are cut, so prefix search still works). */
const MAX_STRING_CODE_POINTS = 500;
/** Exact-match keys longer than this (UTF-8 bytes, summed) are skipped: they would not fit a btree entry. */
const MAX_KEY_BYTES = 2000;

/** Quantity and its profiles (the FHIR types whose values are quantities). */
export const QUANTITY_TYPES: ReadonlySet<string> = new Set(['Quantity', 'Age', 'Duration', 'Distance', 'Count', 'SimpleQuantity', 'MoneyQuantity']);

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function primitiveText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return undefined;
}

function clip(value: string): string {
  if (value.length <= MAX_STRING_CODE_POINTS) return value;
  let out = '';
  let count = 0;
  for (const ch of value) {
    if (count++ >= MAX_STRING_CODE_POINTS) break;
    out += ch;
  }
  return out;
}

export function fitsKey(...parts: (string | null)[]): boolean {
  let length = 0;
  for (const part of parts) length += part ? part.length : 0;
  if (length * 3 <= MAX_KEY_BYTES) return true;
  let bytes = 0;
  for (const part of parts) bytes += part ? Buffer.byteLength(part, 'utf8') : 0;
  return bytes <= MAX_KEY_BYTES;
}

export function normalizedOrNull(value: unknown): string | null {
  const text = str(value);
  return text === undefined ? null : clip(normalizeString(text));
}

/** The text as written, clipped like the normalised form (so that :exact sees the same prefix). */
export function clippedOrNull(value: unknown): string | null {
  const text = str(value);
  return text === undefined ? null : clip(text);
}

/** Compares by Unicode code point, which is the byte order of UTF-8 under COLLATE "C". */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1; // a surrogate (≥ U+10000) sorts after any BMP character
      return x - y;
    }
  }
  return a.length - b.length;
}
