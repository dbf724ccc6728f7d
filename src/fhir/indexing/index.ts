/**
 * Resource → search index rows. Every R4 search parameter of the resource's type (plus our custom
 * ones) is evaluated with @medplum/core's FHIRPath engine and its values are turned into the rows
 * of `src/store/index-rows.ts`. Pure and synchronous; never throws on odd data (values that do not
 * fit their parameter's kind are skipped) and never logs (resources carry PHI).
 *
 * This is the entry point (indexResource) and the row collection; the other files of this folder:
 * expressions.ts (prepared expressions, per-type plans), adders.ts (value → rows per kind),
 * sort-rows.ts, values.ts, dates.ts, references.ts.
 */
import { toTypedValue } from '@medplum/core';
import type { AtomContext, TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type {
  DateRow,
  IndexRows,
  NumberRow,
  QuantityRow,
  ReferenceRow,
  StringRow,
  TokenRow,
  UriRow,
} from '../../store/index-rows.js';
import { emptyIndexRows } from '../../store/index-rows.js';
import { isR4ResourceType, loadDefinitions } from '../definitions/index.js';
import { TENANT_TAG_SYSTEM } from '../tenant-tag.js';
import { decimalRange } from '../units.js';
import { addDate, addNumber, addQuantity, addReference, addString, addToken, addUri } from './adders.js';
import { planFor, type ValueKind } from './expressions.js';
import { sortRows } from './sort-rows.js';
import { clippedOrNull, fitsKey, normalizedOrNull } from './values.js';

/**
 * Version of the row format. Bump it whenever the rows computed for a given resource change, so
 * that resources indexed by an older version (resources.index_version) can be re-indexed, unless
 * a migration rewrites the stored rows to match (as migration 008 did for the lead codes).
 */
export const INDEX_VERSION = 3;

// ---------------------------------------------------------------------------------------------
// Row collection
// ---------------------------------------------------------------------------------------------

export class Collector {
  readonly rows: IndexRows = emptyIndexRows();

  /** This server's FHIR base URL: absolute references under it are local ones. */
  constructor(readonly fhirBase?: string) {}

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

  /** `type`: an Identifier's type coding, for :of-type. The tenant tag is never indexed. */
  token(param: string, grp: number, system: string, code: string | null, display: string | null, type?: { system: string; code: string }): boolean {
    if (code === null && display === null) return false;
    if (system === TENANT_TAG_SYSTEM || !fitsKey(system, code)) return false;
    const typeSystem = type?.system ?? null;
    const typeCode = type?.code ?? null;
    const key = `t\u0000${param}\u0000${grp}\u0000${system}\u0000${code ?? '\u0001'}\u0000${display ?? '\u0001'}\u0000${typeSystem ?? '\u0001'}\u0000${typeCode ?? '\u0001'}`;
    if (!this.fresh(key)) return true;
    const row: TokenRow = { param, grp, system, code, display, typeSystem, typeCode };
    this.rows.token.push(row);
    this.used(param, grp);
    return true;
  }

  string(param: string, grp: number, text: unknown): boolean {
    const value = normalizedOrNull(text);
    const raw = clippedOrNull(text);
    if (value === null || raw === null || value.length === 0) return false;
    if (!this.fresh(`s\u0000${param}\u0000${grp}\u0000${raw}`)) return true;
    const row: StringRow = { param, grp, value, raw };
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

  quantity(param: string, grp: number, row: Omit<QuantityRow, 'param' | 'grp' | 'leadSystem' | 'leadCode'>): boolean {
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
      leadSystem: null,
      leadCode: null,
    });
    this.used(param, grp);
    return true;
  }
}

/**
 * A composite group's quantity rows, each once per distinct coded token of the group's first part
 * (when that part is a token), with that token as its lead: search_quantity_by_lead then lists a
 * code's quantities in value order (migration 008, which backfills the same rows).
 */
function ledQuantities(group: IndexRows, first: { param: string; kind: ValueKind }): QuantityRow[] {
  if (first.kind !== 'token' || group.quantity.length === 0) return group.quantity;
  const leads = new Map<string, { system: string; code: string }>();
  for (const token of group.token) {
    if (token.param === first.param && token.code !== null) leads.set(`${token.system}\u0000${token.code}`, { system: token.system, code: token.code });
  }
  if (leads.size === 0) return group.quantity;
  return group.quantity.flatMap((row) => [...leads.values()].map((lead) => ({ ...row, leadSystem: lead.system, leadCode: lead.code })));
}

// ---------------------------------------------------------------------------------------------
// Per-kind dispatch
// ---------------------------------------------------------------------------------------------

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
// Entry point
// ---------------------------------------------------------------------------------------------

/** Upper bound for `grp` (a smallint column). */
const MAX_GROUPS = 32_000;

/**
 * The search index rows of `resource`: one row per distinct value of every search parameter of
 * its type, composite parts linked by `grp`, one sort row per parameter with values, and the list
 * of parameters that produced rows. Unknown resource types give empty rows. `fhirBase` is this
 * server's FHIR base URL (`{publicUrl}/v1/fhir`): absolute references under it index as local ones.
 */
export function indexResource(resource: Resource, fhirBase: string): IndexRows {
  const collector = new Collector(fhirBase);
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
        rows.quantity.push(...ledQuantities(probe.rows, composite.parts[0]));
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
