/**
 * Reference text → target type and id. Used for the reference rows and for `where(resolve() is T)`
 * in expressions, so both read references the same way (absolute URLs and versioned references
 * included).
 */
import { isR4ResourceType } from '../definitions/index.js';
import { str } from './values.js';

const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE_REFERENCE = new RegExp(`^([A-Z][A-Za-z]+)/(${ID})(/_history/${ID})?$`);
const ABSOLUTE_REFERENCE = new RegExp(`^https?://[^?#]*?/([A-Z][A-Za-z]+)/(${ID})(?:/_history/${ID})?$`);
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?/;

export interface ParsedReference {
  targetType: string | null;
  targetId: string | null;
  reference: string | null;
}

/** Reference.reference → target (for `Type/id`, versioned and absolute forms) and/or the literal. */
export function parseReference(reference: string): ParsedReference {
  if (reference.startsWith('#')) return { targetType: null, targetId: null, reference };
  let match = RELATIVE_REFERENCE.exec(reference);
  if (match && isR4ResourceType(match[1])) {
    return { targetType: match[1], targetId: match[2], reference: match[3] ? reference : null };
  }
  match = ABSOLUTE_REFERENCE.exec(reference);
  if (match && isR4ResourceType(match[1])) {
    return { targetType: match[1], targetId: match[2], reference };
  }
  return { targetType: null, targetId: null, reference };
}

export function referenceTargetType(value: unknown): string | undefined {
  let text: string | undefined;
  if (typeof value === 'string') {
    text = value;
  } else if (value && typeof value === 'object') {
    const ref = value as { reference?: unknown; type?: unknown; resource?: { resourceType?: unknown } };
    text = str(ref.reference);
    if (text === undefined) {
      return str(ref.type) ?? str(ref.resource?.resourceType);
    }
  }
  if (text === undefined) return undefined;
  const parsed = parseReference(text);
  if (parsed.targetType) return parsed.targetType;
  return CONDITIONAL_REFERENCE.exec(text)?.[1];
}
