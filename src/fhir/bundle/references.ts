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
 * `value` with every string equal to a local url of `targets` replaced by its `Type/id` (copied
 * where anything changes; the input is left as it is). Whole-string equality covers Reference.reference and uri elements alike, and cannot
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
  if (value === null || typeof value !== 'object') return value;
  // Copy on write: a subtree without any target is shared, not copied (the bulk loader runs this
  // over every resource of every Bundle, most of which have few references).
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = rewrite(item, targets, key);
      if (next !== item) (copy ??= value.slice())[i] = next;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const name of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[name];
    const next = rewrite(item, targets, name);
    if (next === item) continue;
    copy ??= { ...value };
    // defineProperty keeps a `__proto__` key as data (assignment would set the prototype).
    Object.defineProperty(copy, name, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? value;
}
