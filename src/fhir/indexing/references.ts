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

/**
 * Reference.reference → target and/or the literal. `Type/id` (versioned or not) is a local target;
 * so is an absolute URL under `fhirBase`, this server's FHIR base. Any other absolute URL points at
 * another server: it keeps only its literal, so that `subject=Patient/1` never matches
 * `http://elsewhere/fhir/Patient/1`.
 */
export function parseReference(reference: string, fhirBase?: string): ParsedReference {
  if (reference.startsWith('#')) return { targetType: null, targetId: null, reference };
  const local = fhirBase !== undefined && reference.startsWith(`${fhirBase}/`) ? reference.slice(fhirBase.length + 1) : reference;
  const match = RELATIVE_REFERENCE.exec(local);
  if (match && isR4ResourceType(match[1])) {
    return { targetType: match[1], targetId: match[2], reference: match[3] || local !== reference ? reference : null };
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
  // resolve() is T only needs the type, which an absolute URL on any server names too.
  const parsed = parseReference(text);
  if (parsed.targetType) return parsed.targetType;
  const absolute = ABSOLUTE_REFERENCE.exec(text)?.[1];
  return absolute && isR4ResourceType(absolute) ? absolute : CONDITIONAL_REFERENCE.exec(text)?.[1];
}
