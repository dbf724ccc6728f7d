import type { Resource } from '@medplum/fhirtypes';
import { ApiError } from '../../errors.js';

/**
 * Bundle-local identities. An entry's fullUrl `urn:uuid:…` or `urn:oid:…` names a resource
 * only inside the Bundle; once the server has given it an id, every reference to the urn, in
 * any entry, becomes `Type/id`.
 */

export function isLocalUrl(url: string): boolean {
  return url.startsWith('urn:uuid:') || url.startsWith('urn:oid:');
}

/** `Patient?identifier=…`: a search to resolve at write time, which is not supported. */
const CONDITIONAL_REFERENCE = /^[A-Z][A-Za-z]+\?/;

/**
 * A copy of `value` where every string equal to a local url of `targets` is replaced by its
 * `Type/id`. Whole-string equality covers Reference.reference and uri elements alike, and cannot
 * touch other text. A `reference` to a local url not in the Bundle, or a conditional reference,
 * is refused: stored as is, it would point nowhere.
 */
export function rewriteReferences(resource: Resource, targets: ReadonlyMap<string, string>): Resource {
  return rewrite(resource, targets, '') as Resource;
}

function rewrite(value: unknown, targets: ReadonlyMap<string, string>, key: string): unknown {
  if (typeof value === 'string') {
    const target = targets.get(value);
    if (target !== undefined) return target;
    if (key === 'reference' && isLocalUrl(value)) throw new ApiError('INVALID_REQUEST', 'A reference names a urn that is not the fullUrl of any entry of the Bundle');
    if (key === 'reference' && CONDITIONAL_REFERENCE.test(value)) throw new ApiError('INVALID_REQUEST', 'Conditional references are not supported');
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => rewrite(item, targets, key));
  // fromEntries defines own properties, so a `__proto__` key stays data (assignment would not).
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, rewrite(item, targets, name)]));
  return value;
}
