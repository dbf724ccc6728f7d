/**
 * A deliberately simple, in-memory FHIR R4 search evaluator for the differential property test
 * (test/api/fhir-search-differential.test.ts). It is written from the text of
 * https://hl7.org/fhir/R4/search.html alone and shares no code with the engine: it scans every
 * resource and applies the rules literally, so the SQL engine's answer must equal its answer.
 * It knows only the parameters the property test generates.
 */

export interface OracleResource {
  resourceType: string;
  id: string;
  [element: string]: unknown;
}

export interface OracleClause {
  param: string;
  modifier?: string;
  /** Comma-separated alternatives (OR). */
  values: string[];
  /** A forward chain `param:Type.inner=…`: the referenced resource must match `inner`. */
  chain?: OracleClause;
}

/** Clauses are ANDed (different or repeated parameters alike). */
export interface OracleQuery {
  type: string;
  clauses: OracleClause[];
}

type Kind = 'string' | 'token' | 'date' | 'quantity' | 'reference';

interface Coding {
  system?: string;
  code: string;
}
interface Quantity {
  value: number;
  system?: string;
  code?: string;
  unit?: string;
}

interface ParamDef {
  kind: Kind;
  /** The values the parameter indexes on a resource, in the shape its kind compares. */
  values(resource: OracleResource): unknown[];
  /** For references: the resource types it may point to. */
  targets?: string[];
}

/* eslint-disable @typescript-eslint/no-explicit-any */
const humanNames = (r: any): any[] => r.name ?? [];
const PARAMS: Record<string, Record<string, ParamDef>> = {
  Patient: {
    name: { kind: 'string', values: (r) => humanNames(r).flatMap((n) => [n.family, ...(n.given ?? []), n.text].filter(Boolean)) },
    family: { kind: 'string', values: (r) => humanNames(r).map((n) => n.family).filter(Boolean) },
    given: { kind: 'string', values: (r) => humanNames(r).flatMap((n) => n.given ?? []) },
    gender: { kind: 'token', values: (r: any) => (r.gender ? [{ code: r.gender }] : []) },
    identifier: { kind: 'token', values: (r: any) => (r.identifier ?? []).map((i: any) => ({ system: i.system, code: i.value })) },
    birthdate: { kind: 'date', values: (r: any) => (r.birthDate ? [dateRange(r.birthDate)] : []) },
  },
  Observation: {
    code: { kind: 'token', values: (r: any) => r.code?.coding ?? [] },
    status: { kind: 'token', values: (r: any) => [{ code: r.status }] },
    'value-quantity': { kind: 'quantity', values: (r: any) => (r.valueQuantity ? [r.valueQuantity] : []) },
    date: { kind: 'date', values: (r: any) => (r.effectiveDateTime ? [dateRange(r.effectiveDateTime)] : r.effectivePeriod ? [periodRange(r.effectivePeriod)] : []) },
    subject: { kind: 'reference', targets: ['Patient', 'Group', 'Device', 'Location'], values: (r: any) => (r.subject?.reference ? [r.subject.reference] : []) },
    patient: { kind: 'reference', targets: ['Patient'], values: (r: any) => (r.subject?.reference?.startsWith('Patient/') ? [r.subject.reference] : []) },
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The ids of the resources of `query.type` that match every clause. */
export function evaluate(resources: OracleResource[], query: OracleQuery): string[] {
  return resources.filter((r) => r.resourceType === query.type && query.clauses.every((c) => matchesClause(resources, r, c))).map((r) => r.id);
}

function matchesClause(all: OracleResource[], resource: OracleResource, clause: OracleClause): boolean {
  const def = PARAMS[resource.resourceType]?.[clause.param];
  if (!def) throw new Error(`oracle: no parameter ${resource.resourceType}.${clause.param}`);
  const stored = def.values(resource);
  if (clause.modifier === 'missing') return (clause.values[0] === 'true') === (stored.length === 0);
  if (clause.chain) {
    const targets = (stored as string[]).map((ref) => all.find((r) => `${r.resourceType}/${r.id}` === ref)).filter((r) => r !== undefined);
    return targets.some((target) => target.resourceType === clause.modifier && matchesClause(all, target, clause.chain!));
  }
  if (def.kind === 'token' && clause.modifier === 'not') return !clause.values.some((v) => (stored as Coding[]).some((c) => tokenMatches(v, c)));
  return clause.values.some((value) => stored.some((s) => valueMatches(def, clause.modifier, value, s)));
}

function valueMatches(def: ParamDef, modifier: string | undefined, value: string, stored: unknown): boolean {
  switch (def.kind) {
    case 'string':
      return stringMatches(modifier, value, stored as string);
    case 'token':
      return tokenMatches(value, stored as Coding);
    case 'date':
      return dateMatches(value, stored as Range);
    case 'quantity':
      return quantityMatches(value, stored as Quantity);
    case 'reference':
      return referenceMatches(modifier, value, stored as string);
  }
}

/** Case- and accent-insensitive form: decompose, drop combining marks, lower-case. */
export function normalise(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

function stringMatches(modifier: string | undefined, value: string, stored: string): boolean {
  if (modifier === 'exact') return stored === value;
  if (modifier === 'contains') return normalise(stored).includes(normalise(value));
  return normalise(stored).startsWith(normalise(value));
}

/** `code`, `system|code`, `|code` (no system) or `system|` (any code of the system). */
function tokenMatches(value: string, coding: Coding): boolean {
  const bar = value.indexOf('|');
  if (bar < 0) return coding.code === value;
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  if (system === '') return coding.system === undefined && coding.code === code;
  if (code === '') return coding.system === system;
  return coding.system === system && coding.code === code;
}

interface Range {
  /** Inclusive start, ms since the epoch. */
  lo: number;
  /** Exclusive end. */
  hi: number;
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The range a (partial) date, dateTime or instant covers; without a zone, UTC. */
export function dateRange(text: string): Range {
  const m = DATE.exec(text);
  if (!m) throw new Error(`oracle: not a date: ${text}`);
  const [, y, mo, d, h, mi, s, zone] = m;
  const parts = [Number(y), mo ? Number(mo) - 1 : 0, d ? Number(d) : 1, h ? Number(h) : 0, mi ? Number(mi) : 0, s ? Number(s) : 0];
  const precision = [y, mo, d, h, mi, s].filter((p) => p !== undefined).length;
  const next = [...parts];
  next[precision - 1] += 1;
  let offset = 0;
  if (zone && zone !== 'Z') offset = (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  const utc = (p: number[]) => Date.UTC(p[0], p[1], p[2], p[3], p[4], p[5]) - offset;
  return { lo: utc(parts), hi: utc(next) };
}

/** A Period runs from the start of its start to the end of its end; a missing end means ongoing. */
export function periodRange(period: { start?: string; end?: string }): Range {
  return { lo: period.start ? dateRange(period.start).lo : -Infinity, hi: period.end ? dateRange(period.end).hi : Infinity };
}

const PREFIX = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/;

/**
 * The R4 prefix rules on ranges: eq = the search range contains the target; gt/lt = the range
 * above/below the search value overlaps the target; ge/le = gt/lt or eq; sa/eb = the target
 * lies wholly after/before the search range; ne = not eq.
 */
function dateMatches(value: string, t: Range): boolean {
  const [, prefix = 'eq', text] = PREFIX.exec(value)!;
  const s = dateRange(text);
  const eq = s.lo <= t.lo && t.hi <= s.hi;
  switch (prefix) {
    case 'eq': return eq;
    case 'ne': return !eq;
    case 'gt': return t.hi > s.hi;
    case 'lt': return t.lo < s.lo;
    case 'ge': return t.hi > s.hi || eq;
    case 'le': return t.lo < s.lo || eq;
    case 'sa': return t.lo >= s.hi;
    case 'eb': return t.hi <= s.lo;
    default: throw new Error(`oracle: prefix ${prefix} is not generated`);
  }
}

const UCUM = 'http://unitsofmeasure.org';
/** UCUM units the test generates, as factors to their canonical unit (grams). */
const UCUM_FACTORS: Record<string, number> = { mg: 0.001, g: 1, kg: 1000 };

/**
 * `[prefix]number[|system|code]`. eq/ne use the implicit precision of the number as written
 * (5.1 means [5.05, 5.15)); the other prefixes compare with the exact value. With a UCUM unit
 * both sides are compared in canonical units; without a unit, the stored value as is.
 */
function quantityMatches(value: string, stored: Quantity): boolean {
  const [, prefix = 'eq', rest] = PREFIX.exec(value)!;
  const [number, system, code] = rest.split('|');
  let factor = 1;
  let storedValue = stored.value;
  if (code !== undefined && code !== '') {
    if (system === UCUM && stored.system === UCUM && UCUM_FACTORS[code] && stored.code && UCUM_FACTORS[stored.code]) {
      factor = UCUM_FACTORS[code];
      storedValue = stored.value * UCUM_FACTORS[stored.code];
    } else if (stored.code !== code || (system !== '' && stored.system !== system)) {
      return false;
    }
  }
  const exact = Number(number) * factor;
  const decimals = number.includes('.') ? number.length - number.indexOf('.') - 1 : 0;
  const half = 0.5 * 10 ** -decimals * factor;
  const eq = exact - half <= storedValue && storedValue < exact + half;
  switch (prefix) {
    case 'eq': return eq;
    case 'ne': return !eq;
    case 'gt': return storedValue > exact;
    case 'lt': return storedValue < exact;
    case 'ge': return storedValue >= exact;
    case 'le': return storedValue <= exact;
    default: throw new Error(`oracle: prefix ${prefix} is not generated for quantities`);
  }
}

/** `Type/id` matches that reference; a bare id matches a reference of any type with that id. */
function referenceMatches(modifier: string | undefined, value: string, stored: string): boolean {
  const [type, id] = stored.split('/');
  if (modifier && modifier !== type) return false;
  return value.includes('/') ? value === stored : value === id;
}
