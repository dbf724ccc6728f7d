/**
 * Sort rows: per parameter, the smallest (ascending) and largest (descending) text, number and
 * date keys of a resource's top-level values (grp 0), so `_sort` is one indexed lookup per row.
 */
import type { IndexRows, QuantityRow, SortRow } from '../../store/index-rows.js';
import { compareDecimal, parseDecimal } from '../units.js';
import { clippedOrNull, compareCodePoints } from './values.js';

function sortEntry(sorts: Map<string, SortRow>, param: string): SortRow {
  let row = sorts.get(param);
  if (!row) {
    row = { param, ascText: null, descText: null, ascNumber: null, descNumber: null, ascDate: null, descDate: null };
    sorts.set(param, row);
  }
  return row;
}

/** Text keys are cut like string values (500 code points), so that each fits an entry of search_sort's text indexes. */
function sortText(sorts: Map<string, SortRow>, param: string, text: string | null): void {
  const value = clippedOrNull(text);
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

export function sortRows(rows: IndexRows): SortRow[] {
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
