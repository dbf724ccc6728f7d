/**
 * Resource → search index rows. Every R4 search parameter of the resource's type (plus our custom
 * ones) is evaluated with @medplum/core's FHIRPath engine and its values are turned into the rows
 * of `src/store/index-rows.ts`. Pure and synchronous; never throws on odd data (values that do not
 * fit their parameter's kind are skipped) and never logs (resources carry PHI).
 */
import {
  AsAtom,
  DotAtom,
  FunctionAtom,
  IsAtom,
  SymbolAtom,
  UnionAtom,
  capitalize,
  getElementDefinition,
  getSearchParameterDetails,
  getTypedPropertyValue,
  parseFhirPath,
  toTypedValue,
} from '@medplum/core';
import type { Atom, AtomContext, TypedValue } from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import type {
  DateRow,
  IndexRows,
  NumberRow,
  QuantityRow,
  ReferenceRow,
  SortRow,
  StringRow,
  TokenRow,
  UriRow,
} from '../store/index-rows.js';
import { emptyIndexRows } from '../store/index-rows.js';
import { allResourceTypes, isR4ResourceType, loadDefinitions, searchParameters } from './definitions/index.js';
import { normalizeString } from './normalize.js';
import { canonicalizeQuantity, compareDecimal, decimalRange, parseDecimal } from './units.js';

/**
 * Version of the row format. Bump it whenever the rows computed for a given resource change, so
 * that resources indexed by an older version (resources.index_version) can be re-indexed.
 */
export const INDEX_VERSION = 1;

/** Parameters that are not indexed: they live on the resource row, are Medplum-internal, or have no expression. */
const SKIPPED_PARAMS: ReadonlySet<string> = new Set(['_id', '_lastUpdated', '_compartment', '_text', '_content', '_query', '_filter', '_list', '_has', '_type']);

/** Lower and upper surrogates for open date ranges (Period without start or end). */
export const DATE_MIN = '0001-01-01T00:00:00.000Z';
export const DATE_MAX = '9999-12-31T23:59:59.999Z';
const DATE_MIN_MS = Date.parse(DATE_MIN);
const DATE_MAX_MS = Date.parse(DATE_MAX);

/** Open ends of a Range (PostgreSQL `numeric` accepts them since version 14). */
const NUMBER_MIN = '-Infinity';
const NUMBER_MAX = 'Infinity';

/** Longest string value kept (in code points; longer values are cut, so prefix search still works). */
const MAX_STRING_CODE_POINTS = 500;
/** Exact-match keys longer than this (UTF-8 bytes, summed) are skipped: they would not fit a btree entry. */
const MAX_KEY_BYTES = 2000;

const QUANTITY_TYPES: ReadonlySet<string> = new Set(['Quantity', 'Age', 'Duration', 'Distance', 'Count', 'SimpleQuantity', 'MoneyQuantity']);

type ValueKind = 'token' | 'string' | 'reference' | 'uri' | 'date' | 'number' | 'quantity';
const VALUE_KINDS: ReadonlySet<string> = new Set<ValueKind>(['token', 'string', 'reference', 'uri', 'date', 'number', 'quantity']);

// ---------------------------------------------------------------------------------------------
// Expression preparation
// ---------------------------------------------------------------------------------------------

/**
 * `x.as(T)` and `x as T` as a type filter. Medplum's `as()` *function* returns its input unchanged
 * (so `Condition.abatement.as(Age)` would also yield dateTimes), and its `as` operator compares
 * type names case-sensitively (R4 writes `value.as(DateTime)`). Quantity matches its profiles.
 */
class TypeFilterAtom implements Atom {
  private readonly typeName: string;
  constructor(
    readonly left: Atom,
    typeName: string,
  ) {
    this.typeName = typeName.replace(/^(FHIR|System)\./, '').toLowerCase();
  }
  eval(context: AtomContext, input: TypedValue[]): TypedValue[] {
    const wanted = this.typeName;
    return this.left.eval(context, input).filter((tv) => {
      const type = tv.type.toLowerCase();
      return type === wanted || (wanted === 'quantity' && QUANTITY_TYPES.has(tv.type));
    });
  }
  toString(): string {
    return `${this.left.toString()}.as(${this.typeName})`;
  }
}

/**
 * `x.where(resolve() is T)`, decided from the reference text alone (the same parsing as the
 * reference rows, so absolute URLs count too; medplum's resolve() only understands `Type/id`).
 */
class ReferenceTargetFilterAtom implements Atom {
  constructor(
    readonly left: Atom,
    readonly targetType: string,
  ) {}
  eval(context: AtomContext, input: TypedValue[]): TypedValue[] {
    return this.left.eval(context, input).filter((tv) => referenceTargetType(tv.value) === this.targetType);
  }
  toString(): string {
    return `${this.left.toString()}.where(resolve() is ${this.targetType})`;
  }
}

/** A union that keeps duplicates (the row collectors de-duplicate anyway, much more cheaply). */
class UnionAllAtom implements Atom {
  constructor(readonly branches: Atom[]) {}
  eval(context: AtomContext, input: TypedValue[]): TypedValue[] {
    const out: TypedValue[] = [];
    for (const branch of this.branches) {
      for (const tv of branch.eval(context, input)) out.push(tv);
    }
    return out;
  }
  toString(): string {
    return this.branches.map((b) => b.toString()).join(' | ');
  }
}

/** How to read one property of one type: the JSON keys to try (choice types have several). */
interface PropertyReader {
  candidates: { key: string; type: string }[];
}

/** One step of a PathAtom, with its readers cached per input type. */
interface PathStep {
  name: string;
  readers: Map<string, PropertyReader | null>;
}

function propertyReader(typeName: string, name: string): PropertyReader | null {
  const element = getElementDefinition(typeName, name);
  if (!element?.type?.length) return null;
  const last = element.path.slice(element.path.lastIndexOf('.') + 1);
  return {
    candidates: element.type.map((t) => ({
      key: last.replace('[x]', capitalize(t.code)),
      type: t.code === 'Element' || t.code === 'BackboneElement' ? element.type[0].code : t.code,
    })),
  };
}

function pushTyped(out: TypedValue[], value: unknown, type: string): void {
  if (value === undefined || value === null || value === '') return;
  if (type === 'Resource' && typeof value === 'object' && typeof (value as { resourceType?: unknown }).resourceType === 'string') {
    type = (value as { resourceType: string }).resourceType;
  }
  out.push({ type, value });
}

/**
 * A plain dotted path (`Patient.name.given`), evaluated with the same typing rules as medplum's
 * SymbolAtom/getTypedPropertyValue (the first symbol may name the resource type; choice elements
 * are read through their typed keys) but with the element lookups cached per step and input type.
 * About 3× faster than the generic evaluator, which is most of the indexing time.
 */
class PathAtom implements Atom {
  private readonly steps: PathStep[];
  constructor(names: string[]) {
    this.steps = names.map((name) => ({ name, readers: new Map() }));
  }

  eval(_context: AtomContext, input: TypedValue[]): TypedValue[] {
    let current = input;
    for (let i = 0; i < this.steps.length && current.length > 0; i++) {
      const step = this.steps[i];
      const next: TypedValue[] = [];
      for (const tv of current) {
        const value = tv.value as Record<string, unknown> | undefined;
        if (!value || typeof value !== 'object') continue;
        if (value.resourceType === step.name) {
          next.push(tv);
          continue;
        }
        let reader = step.readers.get(tv.type);
        if (reader === undefined) {
          reader = propertyReader(tv.type, step.name);
          step.readers.set(tv.type, reader);
        }
        if (reader === null) {
          // No schema for this type (e.g. a BackboneElement from toTypedValue): medplum's fallback.
          const found = getTypedPropertyValue(tv, step.name);
          if (Array.isArray(found)) {
            for (const item of found) if (item?.value !== undefined) next.push(item);
          } else if (found?.value !== undefined) {
            next.push(found);
          }
          continue;
        }
        for (const candidate of reader.candidates) {
          const property = value[candidate.key];
          if (property === undefined) continue;
          if (Array.isArray(property)) {
            for (const item of property) pushTyped(next, item, candidate.type);
          } else {
            pushTyped(next, property, candidate.type);
          }
          break;
        }
      }
      current = next;
    }
    return current;
  }

  toString(): string {
    return this.steps.map((s) => s.name).join('.');
  }
}

/** The symbols of a dotted path made of symbols only, else undefined. */
function pathSymbols(atom: Atom): string[] | undefined {
  if (atom instanceof SymbolAtom) return atom.name.startsWith('%') || atom.name === '$this' ? undefined : [atom.name];
  if (atom instanceof DotAtom) {
    const left = pathSymbols(atom.left);
    const right = left && pathSymbols(atom.right);
    return left && right ? [...left, ...right] : undefined;
  }
  return undefined;
}

function unionBranches(atom: Atom, out: Atom[] = []): Atom[] {
  if (atom instanceof UnionAtom) {
    unionBranches(atom.left, out);
    unionBranches(atom.right, out);
  } else {
    out.push(atom);
  }
  return out;
}

/** The leftmost symbol of a path expression (`Patient` in `(Patient.deceased as dateTime)`). */
function rootSymbol(atom: Atom): string | undefined {
  let current: unknown = atom;
  for (let depth = 0; depth < 64 && current; depth++) {
    if (current instanceof SymbolAtom) return current.name;
    if (current instanceof FunctionAtom) return undefined;
    current = (current as { left?: unknown }).left;
  }
  return undefined;
}

function rewrite(atom: Atom): Atom {
  if (atom instanceof UnionAtom) {
    const branches = unionBranches(atom).map(rewrite);
    return branches.length === 1 ? branches[0] : new UnionAllAtom(branches);
  }
  if (atom instanceof AsAtom) {
    return new TypeFilterAtom(rewrite(atom.left), atom.right.toString());
  }
  const symbols = pathSymbols(atom);
  if (symbols) return new PathAtom(symbols);
  if (atom instanceof DotAtom) {
    const right = atom.right;
    if (right instanceof FunctionAtom) {
      if (right.name === 'as' && right.args.length === 1 && right.args[0] instanceof SymbolAtom) {
        return new TypeFilterAtom(rewrite(atom.left), right.args[0].name);
      }
      const arg = right.args[0];
      if (
        right.name === 'where' &&
        right.args.length === 1 &&
        arg instanceof IsAtom &&
        arg.left instanceof FunctionAtom &&
        arg.left.name === 'resolve' &&
        arg.right instanceof SymbolAtom
      ) {
        return new ReferenceTargetFilterAtom(rewrite(atom.left), arg.right.name);
      }
    }
    return new DotAtom(rewrite(atom.left), rewrite(right));
  }
  return atom;
}

/**
 * The parameter's expression restricted to the branches of `resourceType`. Shared parameters are
 * unions over many types (`AllergyIntolerance.patient | CarePlan.subject.where(…) | …`). Medplum's
 * getSearchParameterDetails prunes them by substring (`Person.` also keeps `RelatedPerson.…`, and
 * the bare `Observation` branch of the combo composites is dropped), so branches are selected here
 * by their root symbol; when no branch names the type (relative expressions such as InsurancePlan's
 * `name | alias`), medplum's result (the whole expression) is used.
 */
function prepareExpression(resourceType: string, sp: SearchParameter): Atom {
  const parsed = parseFhirPath(sp.expression as string);
  const own = unionBranches(parsed.child).filter((branch) => rootSymbol(branch) === resourceType);
  if (own.length > 0) return rewrite(joinUnion(own));
  let child: Atom;
  try {
    child = getSearchParameterDetails(resourceType, sp).parsedExpression.child;
  } catch {
    child = parsed.child;
  }
  return rewrite(child);
}

function joinUnion(atoms: Atom[]): Atom {
  let result = atoms[0];
  for (let i = 1; i < atoms.length; i++) result = new UnionAtom(result, atoms[i]);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Per-type plans (cached)
// ---------------------------------------------------------------------------------------------

interface PlannedParam {
  code: string;
  kind: ValueKind;
  expression: Atom;
}

interface PlannedComposite {
  code: string;
  expression: Atom;
  parts: { param: string; kind: ValueKind; expression: Atom }[];
}

interface TypePlan {
  params: PlannedParam[];
  composites: PlannedComposite[];
}

/**
 * Known errata in the R4 composite definitions: component expressions by composite URL. R4's
 * DocumentReference-relationship gives `code` to the reference part and `target` to the token part.
 */
const COMPONENT_EXPRESSION_FIXES: Readonly<Record<string, string[]>> = {
  'http://hl7.org/fhir/SearchParameter/DocumentReference-relationship': ['target', 'code'],
};

const plans = new Map<string, TypePlan>();
let parametersByUrl: Map<string, SearchParameter> | undefined;

function searchParameterByUrl(url: string): SearchParameter | undefined {
  if (!parametersByUrl) {
    parametersByUrl = new Map();
    for (const type of allResourceTypes()) {
      for (const sp of Object.values(searchParameters(type))) {
        if (sp.url) parametersByUrl.set(sp.url, sp);
      }
    }
  }
  return parametersByUrl.get(url);
}

function planFor(resourceType: string): TypePlan {
  let plan = plans.get(resourceType);
  if (plan) return plan;
  plan = { params: [], composites: [] };
  for (const [code, sp] of Object.entries(searchParameters(resourceType))) {
    if (SKIPPED_PARAMS.has(code) || !sp.expression) continue;
    try {
      if (sp.type === 'composite') {
        const parts: PlannedComposite['parts'] = [];
        const fixes = sp.url ? COMPONENT_EXPRESSION_FIXES[sp.url] : undefined;
        for (const [index, component] of (sp.component ?? []).entries()) {
          const partSp = component.definition ? searchParameterByUrl(component.definition) : undefined;
          const partExpression = fixes?.[index] ?? component.expression;
          if (!partSp || !VALUE_KINDS.has(partSp.type) || !partExpression) {
            parts.length = 0;
            break;
          }
          parts.push({ param: `${code}#${index}`, kind: partSp.type as ValueKind, expression: rewrite(parseFhirPath(partExpression).child) });
        }
        if (parts.length > 0) plan.composites.push({ code, expression: prepareExpression(resourceType, sp), parts });
      } else if (VALUE_KINDS.has(sp.type)) {
        plan.params.push({ code, kind: sp.type as ValueKind, expression: prepareExpression(resourceType, sp) });
      }
    } catch {
      // An expression we cannot parse or prepare: the parameter is not indexed.
    }
  }
  plans.set(resourceType, plan);
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Value helpers
// ---------------------------------------------------------------------------------------------

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function primitiveText(value: unknown): string | undefined {
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

function fitsKey(...parts: (string | null)[]): boolean {
  let length = 0;
  for (const part of parts) length += part ? part.length : 0;
  if (length * 3 <= MAX_KEY_BYTES) return true;
  let bytes = 0;
  for (const part of parts) bytes += part ? Buffer.byteLength(part, 'utf8') : 0;
  return bytes <= MAX_KEY_BYTES;
}

function normalizedOrNull(value: unknown): string | null {
  const text = str(value);
  return text === undefined ? null : clip(normalizeString(text));
}

/** Compares by Unicode code point, which is the byte order of UTF-8 under COLLATE "C". */
function compareCodePoints(a: string, b: string): number {
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

// ---------------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------------

const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE_REFERENCE = new RegExp(`^([A-Z][A-Za-z]+)/(${ID})(/_history/${ID})?$`);
const ABSOLUTE_REFERENCE = new RegExp(`^https?://[^?#]*?/([A-Z][A-Za-z]+)/(${ID})(?:/_history/${ID})?$`);
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?/;

interface ParsedReference {
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

function referenceTargetType(value: unknown): string | undefined {
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

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function utcMillis(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

function toIso(ms: number): string {
  return new Date(Math.min(Math.max(ms, DATE_MIN_MS), DATE_MAX_MS)).toISOString();
}

/**
 * The UTC instant range covered by a FHIR date, dateTime or instant: `2024` is the whole year,
 * `2024-03` the month, `2024-03-05` the day, `…T10:30+02:00` the minute (converted to UTC).
 */
export function dateRange(value: string): { low: string; high: string } | undefined {
  const m = DATE_RE.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] === undefined ? undefined : Number(m[2]);
  const day = m[3] === undefined ? undefined : Number(m[3]);
  if (year < 1) return undefined;
  if (month === undefined) {
    return { low: toIso(utcMillis(year, 1, 1)), high: toIso(utcMillis(year + 1, 1, 1) - 1) };
  }
  if (month < 1 || month > 12) return undefined;
  if (day === undefined) {
    return { low: toIso(utcMillis(year, month, 1)), high: toIso(utcMillis(year, month + 1, 1) - 1) };
  }
  const daysInMonth = new Date(utcMillis(year, month + 1, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  if (m[4] === undefined) {
    const low = utcMillis(year, month, day);
    return { low: toIso(low), high: toIso(utcMillis(year, month, day + 1) - 1) };
  }
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  if (hour > 23 || minute > 59) return undefined;
  let low: number;
  let width: number;
  if (m[6] === undefined) {
    low = utcMillis(year, month, day, hour, minute);
    width = 60_000;
  } else {
    const second = Number(m[6]);
    if (second > 59) return undefined;
    const fraction = m[7] ?? '';
    const ms = fraction.length === 0 ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
    low = utcMillis(year, month, day, hour, minute, second, ms);
    width = fraction.length >= 3 ? 1 : fraction.length === 0 ? 1000 : 10 ** (3 - fraction.length);
  }
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = Number(zone.slice(4, 6));
    if (offsetHours > 14 || offsetMinutes > 59) return undefined;
    const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
    low += zone[0] === '+' ? -offset : offset;
  }
  return { low: toIso(low), high: toIso(low + width - 1) };
}

// ---------------------------------------------------------------------------------------------
// Row collection
// ---------------------------------------------------------------------------------------------

class Collector {
  readonly rows: IndexRows = emptyIndexRows();
  private readonly seen = new Set<string>();
  private readonly params = new Set<string>();

  /** Returns false for a duplicate. */
  private fresh(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  private used(param: string, grp: number): void {
    if (grp === 0) this.params.add(param);
  }

  markParam(code: string): void {
    this.params.add(code);
  }

  paramList(): string[] {
    return [...this.params].sort();
  }

  token(param: string, grp: number, system: string, code: string | null, display: string | null): boolean {
    if (code === null && display === null) return false;
    if (!fitsKey(system, code)) return false;
    if (!this.fresh(`t\u0000${param}\u0000${grp}\u0000${system}\u0000${code ?? '\u0001'}\u0000${display ?? '\u0001'}`)) return true;
    const row: TokenRow = { param, grp, system, code, display };
    this.rows.token.push(row);
    this.used(param, grp);
    return true;
  }

  string(param: string, grp: number, raw: unknown): boolean {
    const value = normalizedOrNull(raw);
    if (value === null || value.length === 0) return false;
    if (!this.fresh(`s\u0000${param}\u0000${grp}\u0000${value}`)) return true;
    const row: StringRow = { param, grp, value };
    this.rows.string.push(row);
    this.used(param, grp);
    return true;
  }

  reference(param: string, grp: number, row: Omit<ReferenceRow, 'param' | 'grp'>): boolean {
    if (row.targetId === null && row.reference === null && row.identifierValue === null) return false;
    if (!fitsKey(row.targetType, row.targetId)) return false;
    const key = `r\u0000${param}\u0000${grp}\u0000${row.targetType}\u0000${row.targetId}\u0000${row.reference}\u0000${row.identifierSystem}\u0000${row.identifierValue}`;
    if (!this.fresh(key)) return true;
    // (explicit fields: object spread was a measurable slow path here)
    this.rows.reference.push({
      param,
      grp,
      targetType: row.targetType,
      targetId: row.targetId,
      reference: row.reference,
      identifierSystem: row.identifierSystem,
      identifierValue: row.identifierValue,
    });
    this.used(param, grp);
    return true;
  }

  uri(param: string, grp: number, value: string): boolean {
    if (!fitsKey(value)) return false;
    if (!this.fresh(`u\u0000${param}\u0000${grp}\u0000${value}`)) return true;
    const row: UriRow = { param, grp, value };
    this.rows.uri.push(row);
    this.used(param, grp);
    return true;
  }

  date(param: string, grp: number, low: string, high: string): boolean {
    if (low > high) return false;
    if (!this.fresh(`d\u0000${param}\u0000${grp}\u0000${low}\u0000${high}`)) return true;
    const row: DateRow = { param, grp, low, high };
    this.rows.date.push(row);
    this.used(param, grp);
    return true;
  }

  number(param: string, grp: number, raw: unknown): boolean {
    const range = decimalRange(raw);
    if (!range) return false;
    return this.numberRange(param, grp, range.value, range.low, range.high);
  }

  numberRange(param: string, grp: number, value: string, low: string, high: string): boolean {
    if (!this.fresh(`n\u0000${param}\u0000${grp}\u0000${value}\u0000${low}\u0000${high}`)) return true;
    const row: NumberRow = { param, grp, value, low, high };
    this.rows.number.push(row);
    this.used(param, grp);
    return true;
  }

  quantity(param: string, grp: number, row: Omit<QuantityRow, 'param' | 'grp'>): boolean {
    if (!fitsKey(row.code)) return false;
    const key = `q\u0000${param}\u0000${grp}\u0000${row.value}\u0000${row.low}\u0000${row.high}\u0000${row.system}\u0000${row.code}\u0000${row.unit}`;
    if (!this.fresh(key)) return true;
    this.rows.quantity.push({
      param,
      grp,
      value: row.value,
      low: row.low,
      high: row.high,
      system: row.system,
      code: row.code,
      unit: row.unit,
      canonicalValue: row.canonicalValue,
      canonicalCode: row.canonicalCode,
    });
    this.used(param, grp);
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Value → rows, per kind. Each returns whether it produced (or matched an existing) row.
// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function asObject(value: unknown): Obj | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

function addCoding(c: Collector, param: string, grp: number, coding: Obj | undefined): boolean {
  if (!coding) return false;
  const code = primitiveText(coding.code);
  const display = normalizedOrNull(coding.display);
  if (code !== undefined) return c.token(param, grp, str(coding.system) ?? '', code, display);
  if (display !== null) return c.token(param, grp, '', null, display);
  return false;
}

function addToken(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const value = tv.value?.valueOf();
  const obj = asObject(value);
  switch (tv.type) {
    case 'Coding':
      return addCoding(c, param, grp, obj);
    case 'CodeableConcept': {
      if (!obj) return false;
      let added = false;
      for (const coding of asArray(obj.coding)) added = addCoding(c, param, grp, asObject(coding)) || added;
      const text = normalizedOrNull(obj.text);
      if (text !== null) added = c.token(param, grp, '', null, text) || added;
      return added;
    }
    case 'Identifier': {
      const idValue = obj && primitiveText(obj.value);
      if (!obj || idValue === undefined) return false;
      return c.token(param, grp, str(obj.system) ?? '', idValue, normalizedOrNull(asObject(obj.type)?.text));
    }
    case 'ContactPoint': {
      const cpValue = obj && primitiveText(obj.value);
      return cpValue === undefined ? false : c.token(param, grp, '', cpValue, null);
    }
    default: {
      const text = primitiveText(value);
      return text === undefined ? false : c.token(param, grp, '', text, null);
    }
  }
}

const NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'text'] as const;
const ADDRESS_PARTS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'] as const;

function addString(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const value = tv.value?.valueOf();
  if (typeof value === 'string') return c.string(param, grp, value);
  const obj = asObject(value);
  if (!obj) return false;
  const parts = tv.type === 'HumanName' ? NAME_PARTS : tv.type === 'Address' ? ADDRESS_PARTS : undefined;
  if (!parts) return false;
  let added = false;
  for (const part of parts) {
    for (const item of asArray(obj[part])) added = c.string(param, grp, item) || added;
  }
  return added;
}

function addReference(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const value = tv.value?.valueOf();
  if (typeof value === 'string') {
    // canonical / uri elements of reference parameters: the URL without its |version
    if (value.length === 0) return false;
    const bar = value.indexOf('|');
    const url = bar >= 0 ? value.slice(0, bar) : value;
    if (!url) return false;
    return c.reference(param, grp, { targetType: null, targetId: null, reference: url, identifierSystem: null, identifierValue: null });
  }
  const obj = asObject(value);
  if (!obj || tv.type !== 'Reference') return false;
  const literal = str(obj.reference);
  const parsed: ParsedReference = literal ? parseReference(literal) : { targetType: null, targetId: null, reference: null };
  const identifier = asObject(obj.identifier);
  const identifierValue = identifier ? (primitiveText(identifier.value) ?? null) : null;
  return c.reference(param, grp, {
    targetType: parsed.targetType,
    targetId: parsed.targetId,
    reference: parsed.reference,
    identifierSystem: identifierValue !== null ? (str(identifier?.system) ?? null) : null,
    identifierValue,
  });
}

function addUri(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const value = tv.value?.valueOf();
  return typeof value === 'string' && value.length > 0 ? c.uri(param, grp, value) : false;
}

function addDate(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const value = tv.value?.valueOf();
  if (typeof value === 'string') {
    const range = dateRange(value);
    return range ? c.date(param, grp, range.low, range.high) : false;
  }
  const obj = asObject(value);
  if (!obj) return false;
  if (tv.type === 'Period') {
    const start = typeof obj.start === 'string' ? dateRange(obj.start) : undefined;
    const end = typeof obj.end === 'string' ? dateRange(obj.end) : undefined;
    if ((obj.start !== undefined && !start) || (obj.end !== undefined && !end) || (!start && !end)) return false;
    return c.date(param, grp, start?.low ?? DATE_MIN, end?.high ?? DATE_MAX);
  }
  if (tv.type === 'Timing') {
    let added = false;
    for (const event of asArray(obj.event)) {
      const range = typeof event === 'string' ? dateRange(event) : undefined;
      if (range) added = c.date(param, grp, range.low, range.high) || added;
    }
    return added;
  }
  return false;
}

function addNumber(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const value = tv.value?.valueOf();
  if (typeof value === 'number' || typeof value === 'string') return c.number(param, grp, value);
  const obj = asObject(value);
  if (obj && tv.type === 'Range') {
    // e.g. RiskAssessment.prediction.probabilityRange: the covered interval, open ends infinite
    const low = asObject(obj.low) ? decimalRange(asObject(obj.low)!.value) : undefined;
    const high = asObject(obj.high) ? decimalRange(asObject(obj.high)!.value) : undefined;
    const first = low ?? high;
    if (!first) return false;
    return c.numberRange(param, grp, first.value, low?.value ?? NUMBER_MIN, high?.value ?? NUMBER_MAX);
  }
  return false;
}

function addQuantity(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const obj = asObject(tv.value?.valueOf());
  if (!obj) return false;
  if (QUANTITY_TYPES.has(tv.type)) {
    const range = decimalRange(obj.value);
    if (!range) return false;
    const system = str(obj.system) ?? '';
    const code = primitiveText(obj.code) ?? '';
    const canonical = canonicalizeQuantity(range.value, system, code);
    return c.quantity(param, grp, {
      value: range.value,
      low: range.low,
      high: range.high,
      system,
      code,
      unit: str(obj.unit) ?? '',
      canonicalValue: canonical?.value ?? null,
      canonicalCode: canonical?.code ?? null,
    });
  }
  if (tv.type === 'Money') {
    const range = decimalRange(obj.value);
    if (!range) return false;
    const currency = primitiveText(obj.currency) ?? '';
    return c.quantity(param, grp, {
      value: range.value,
      low: range.low,
      high: range.high,
      system: currency ? 'urn:iso:std:iso:4217' : '',
      code: currency,
      unit: '',
      canonicalValue: null,
      canonicalCode: null,
    });
  }
  if (tv.type === 'Range') {
    const low = asObject(obj.low);
    const high = asObject(obj.high);
    const lowRange = low ? decimalRange(low.value) : undefined;
    const highRange = high ? decimalRange(high.value) : undefined;
    if ((low && low.value !== undefined && !lowRange) || (high && high.value !== undefined && !highRange)) return false;
    const first = lowRange ?? highRange;
    if (!first) return false;
    const unitSource = (lowRange ? low : high) as Obj;
    const system = str(unitSource.system) ?? '';
    const code = primitiveText(unitSource.code) ?? '';
    const canonical = canonicalizeQuantity(first.value, system, code);
    return c.quantity(param, grp, {
      value: first.value,
      low: lowRange?.value ?? NUMBER_MIN,
      high: highRange?.value ?? NUMBER_MAX,
      system,
      code,
      unit: str(unitSource.unit) ?? '',
      canonicalValue: canonical?.value ?? null,
      canonicalCode: canonical?.code ?? null,
    });
  }
  return false;
}

const ADDERS: Record<ValueKind, (c: Collector, param: string, grp: number, tv: TypedValue) => boolean> = {
  token: addToken,
  string: addString,
  reference: addReference,
  uri: addUri,
  date: addDate,
  number: addNumber,
  quantity: addQuantity,
};

// ---------------------------------------------------------------------------------------------
// Sort rows
// ---------------------------------------------------------------------------------------------

function sortEntry(sorts: Map<string, SortRow>, param: string): SortRow {
  let row = sorts.get(param);
  if (!row) {
    row = { param, ascText: null, descText: null, ascNumber: null, descNumber: null, ascDate: null, descDate: null };
    sorts.set(param, row);
  }
  return row;
}

function sortText(sorts: Map<string, SortRow>, param: string, value: string | null): void {
  if (value === null) return;
  const row = sortEntry(sorts, param);
  if (row.ascText === null || compareCodePoints(value, row.ascText) < 0) row.ascText = value;
  if (row.descText === null || compareCodePoints(value, row.descText) > 0) row.descText = value;
}

function sortNumber(sorts: Map<string, SortRow>, param: string, value: string | null): void {
  const parsed = value === null ? undefined : parseDecimal(value);
  if (!parsed) return;
  const row = sortEntry(sorts, param);
  if (row.ascNumber === null || compareDecimal(parsed, parseDecimal(row.ascNumber)!) < 0) row.ascNumber = value;
  if (row.descNumber === null || compareDecimal(parsed, parseDecimal(row.descNumber)!) > 0) row.descNumber = value;
}

/** Compare quantities on their canonical values when all of a parameter's values share a canonical unit (1 kg > 500 g). */
function canonicalQuantityParams(rows: QuantityRow[]): Set<string> {
  const codes = new Map<string, string | null>();
  for (const r of rows) {
    if (r.grp !== 0) continue;
    const seen = codes.get(r.param);
    if (seen === undefined) codes.set(r.param, r.canonicalCode);
    else if (seen !== r.canonicalCode) codes.set(r.param, null);
  }
  const out = new Set<string>();
  for (const [param, code] of codes) if (code !== null) out.add(param);
  return out;
}

function sortRows(rows: IndexRows): SortRow[] {
  const sorts = new Map<string, SortRow>();
  for (const r of rows.string) if (r.grp === 0) sortText(sorts, r.param, r.value);
  for (const r of rows.token) if (r.grp === 0) sortText(sorts, r.param, r.code);
  for (const r of rows.uri) if (r.grp === 0) sortText(sorts, r.param, r.value);
  for (const r of rows.reference) if (r.grp === 0) sortText(sorts, r.param, r.targetId ?? r.reference);
  for (const r of rows.number) if (r.grp === 0) sortNumber(sorts, r.param, r.value);
  const canonical = canonicalQuantityParams(rows.quantity);
  for (const r of rows.quantity) {
    if (r.grp === 0) sortNumber(sorts, r.param, canonical.has(r.param) ? r.canonicalValue : r.value);
  }
  for (const r of rows.date) {
    if (r.grp !== 0) continue;
    const row = sortEntry(sorts, r.param);
    if (row.ascDate === null || r.low < row.ascDate) row.ascDate = r.low;
    if (row.descDate === null || r.high > row.descDate) row.descDate = r.high;
  }
  return [...sorts.values()];
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/** Upper bound for `grp` (a smallint column). */
const MAX_GROUPS = 32_000;

/**
 * The search index rows of `resource`: one row per distinct value of every search parameter of
 * its type, composite parts linked by `grp`, one sort row per parameter with values, and the list
 * of parameters that produced rows. Unknown resource types give empty rows.
 */
export function indexResource(resource: Resource): IndexRows {
  const collector = new Collector();
  const resourceType = (resource as { resourceType?: unknown } | null)?.resourceType;
  if (typeof resourceType !== 'string') return collector.rows;
  loadDefinitions();
  if (!isR4ResourceType(resourceType)) return collector.rows;
  const plan = planFor(resourceType);
  const root = toTypedValue(resource);
  const context: AtomContext = { variables: { '%resource': root, '%rootResource': root, '%context': root } };
  const input = [root];

  for (const param of plan.params) {
    try {
      const add = ADDERS[param.kind];
      for (const tv of param.expression.eval(context, input)) {
        try {
          add(collector, param.code, 0, tv);
        } catch {
          // skip a value that does not fit
        }
      }
    } catch {
      // an expression that fails on this resource's data: no rows for it
    }
  }

  let grp = 0;
  for (const composite of plan.composites) {
    try {
      for (const element of composite.expression.eval(context, input)) {
        if (grp >= MAX_GROUPS) break;
        const next = grp + 1;
        // A group is written only when every part has a value (otherwise it can never match).
        const values: TypedValue[][] = [];
        for (const part of composite.parts) {
          const found = part.expression.eval(context, [element]);
          if (found.length === 0) break;
          values.push(found);
        }
        if (values.length < composite.parts.length) continue;
        const probe = new Collector();
        let complete = true;
        for (let i = 0; i < composite.parts.length && complete; i++) {
          const part = composite.parts[i];
          const add = ADDERS[part.kind];
          let any = false;
          for (const tv of values[i]) {
            try {
              any = add(probe, part.param, next, tv) || any;
            } catch {
              // skip
            }
          }
          complete = any;
        }
        if (!complete) continue;
        grp = next;
        const rows = collector.rows;
        rows.token.push(...probe.rows.token);
        rows.string.push(...probe.rows.string);
        rows.reference.push(...probe.rows.reference);
        rows.uri.push(...probe.rows.uri);
        rows.date.push(...probe.rows.date);
        rows.number.push(...probe.rows.number);
        rows.quantity.push(...probe.rows.quantity);
        collector.markParam(composite.code);
      }
    } catch {
      // skip this composite
    }
  }

  collector.rows.sort = sortRows(collector.rows);
  collector.rows.params = collector.paramList();
  return collector.rows;
}
