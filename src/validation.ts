import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { validationError, type Issue } from './errors.js';

/** JSON-schema validation of request bodies (simplified resources, admin API), with Zod-style messages. */
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
ajv.addFormat('date', { type: 'string', validate: isCalendarDate });
ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:[^\s]*$/i);
ajv.addFormat('base64', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
// FHIR dateTime: a year, year-month, date, or date and time with a zone (seconds optional).
ajv.addFormat('fhir-date-time', /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d{1,9})?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$/);
ajv.addFormat('reference-id', /^[A-Za-z0-9\-_.]{1,128}$/);
ajv.addFormat('date-time-utc', { type: 'string', validate: (value: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)) });

export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.getUTCFullYear() === Number(match[1]) && date.getUTCMonth() === Number(match[2]) - 1 && date.getUTCDate() === Number(match[3]);
}

export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  return ajv.compile(schema);
}

/** Returns the body typed when it is valid; throws VALIDATION_ERROR with issues otherwise. */
export function checkBody<T>(validate: ValidateFunction, body: unknown): T {
  if (validate(body)) return body as T;
  throw validationError(toIssues(validate.errors ?? []));
}

/**
 * ajv errors → Zod-style diagnostics ("firstName: Required"). They name the field and the
 * constraint, never the submitted value (the PHI rule).
 */
export function toIssues(errors: ErrorObject[]): Issue[] {
  const seen = new Set<string>();
  const issues: Issue[] = [];
  // Where alternatives (anyOf) all failed, say so once rather than listing each branch's complaint.
  const alternatives = errors.filter((error) => error.keyword === 'anyOf').map((error) => error.instancePath);
  const inAlternative = (error: ErrorObject) =>
    error.keyword !== 'anyOf' && alternatives.some((path) => error.instancePath === path || error.instancePath.startsWith(`${path}/`));
  for (const error of errors) {
    if (inAlternative(error)) continue;
    const base = error.instancePath.slice(1).split('/').filter(Boolean).join('.');
    const { path, text } = describe(error, base);
    const diagnostics = `${path || 'body'}: ${text}`;
    if (seen.has(diagnostics)) continue;
    seen.add(diagnostics);
    issues.push({ severity: 'error', code: error.keyword === 'required' ? 'required' : 'invalid', diagnostics, expression: [path || 'body'] });
  }
  return issues;
}

function describe(error: ErrorObject, base: string): { path: string; text: string } {
  const join = (child: string) => (base ? `${base}.${child}` : child);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': return { path: join(String(params.missingProperty)), text: 'Required' };
    case 'additionalProperties': return { path: join(String(params.additionalProperty)), text: 'Unrecognized field' };
    case 'type': return { path: base, text: `Expected ${String(params.type)}` };
    case 'maxLength': return { path: base, text: `String must contain at most ${String(params.limit)} character(s)` };
    case 'minLength': return { path: base, text: `String must contain at least ${String(params.limit)} character(s)` };
    case 'maxItems': return { path: base, text: `Array must contain at most ${String(params.limit)} element(s)` };
    case 'minItems': return { path: base, text: `Array must contain at least ${String(params.limit)} element(s)` };
    case 'enum': return { path: base, text: `Invalid enum value. Expected ${(params.allowedValues as unknown[]).map((v) => `'${String(v)}'`).join(' | ')}` };
    case 'format': return { path: base, text: `Invalid ${String(params.format)}` };
    case 'pattern': return { path: base, text: 'Invalid format' };
    case 'not': return { path: base, text: 'Cannot be changed' };
    case 'anyOf': return { path: base, text: 'Invalid input' };
    default: return { path: base, text: 'Invalid value' };
  }
}
