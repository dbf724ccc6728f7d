/**
 * Value → rows, per kind (token, string, reference, uri, date, number, quantity). Each adder reads
 * one FHIRPath result and hands its rows to the Collector; each returns whether it produced (or
 * matched an existing) row, so composites can tell a complete group from one with a missing part.
 */
import type { TypedValue } from '@medplum/core';
import { canonicalizeQuantity, decimalRange } from '../units.js';
import { DATE_MAX, DATE_MIN, dateRange } from './dates.js';
import type { Collector } from './index.js';
import { parseReference, type ParsedReference } from './references.js';
import { normalizedOrNull, primitiveText, QUANTITY_TYPES, str } from './values.js';

/** Open ends of a Range (PostgreSQL `numeric` accepts them since version 14). */
const NUMBER_MIN = '-Infinity';
const NUMBER_MAX = 'Infinity';

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

export function addToken(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
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
      const system = str(obj.system) ?? '';
      const type = asObject(obj.type);
      const display = normalizedOrNull(type?.text);
      // One row per type coding, so that :of-type matches the type and the value of one identifier.
      let added = false;
      for (const coding of asArray(type?.coding).map(asObject)) {
        const typeCode = primitiveText(coding?.code);
        if (typeCode !== undefined) added = c.token(param, grp, system, idValue, display, { system: str(coding?.system) ?? '', code: typeCode }) || added;
      }
      return added || c.token(param, grp, system, idValue, display);
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

export function addString(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
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

export function addReference(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
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
  const parsed: ParsedReference = literal ? parseReference(literal, c.fhirBase) : { targetType: null, targetId: null, reference: null };
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

export function addUri(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const value = tv.value?.valueOf();
  return typeof value === 'string' && value.length > 0 ? c.uri(param, grp, value) : false;
}

export function addDate(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
  const value = tv.value?.valueOf();
  if (typeof value === 'string') {
    const range = dateRange(value);
    return range ? c.date(param, grp, range.low, range.high) : false;
  }
  const obj = asObject(value);
  if (!obj) return false;
  if (tv.type === 'Period') {
    const range = periodRange(obj);
    return range ? c.date(param, grp, range.low, range.high) : false;
  }
  if (tv.type === 'Timing') {
    // FHIR R4 search (date): only a schedule's outer limits matter, its events and repeat bounds.
    const ranges = asArray(obj.event).map((event) => (typeof event === 'string' ? dateRange(event) : undefined));
    const bounds = asObject(asObject(obj.repeat)?.boundsPeriod);
    if (bounds) ranges.push(periodRange(bounds));
    const known = ranges.filter((range): range is { low: string; high: string } => range !== undefined);
    if (known.length === 0) return false;
    return c.date(param, grp, known.map((range) => range.low).sort()[0], known.map((range) => range.high).sort().at(-1)!);
  }
  return false;
}

/** A Period's range, open ends unbounded; undefined when neither end is a valid date. */
function periodRange(period: Obj): { low: string; high: string } | undefined {
  const start = typeof period.start === 'string' ? dateRange(period.start) : undefined;
  const end = typeof period.end === 'string' ? dateRange(period.end) : undefined;
  if ((period.start !== undefined && !start) || (period.end !== undefined && !end) || (!start && !end)) return undefined;
  return { low: start?.low ?? DATE_MIN, high: end?.high ?? DATE_MAX };
}

export function addNumber(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
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

export function addQuantity(c: Collector, param: string, grp: number, tv: TypedValue): boolean {
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
