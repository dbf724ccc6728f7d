/**
 * Exact decimal arithmetic on decimal strings, and a small UCUM table that canonicalises the
 * quantity units that clinical data uses most (mass, length, volume, time, temperature), so that
 * `5.4|http://unitsofmeasure.org|g` and `5400|http://unitsofmeasure.org|mg` index and search the
 * same. Numbers stay decimal strings throughout: no float ever touches a stored value.
 */

export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** A decimal number `digits × 10^-scale`; `scale` may be negative (e.g. 1.5e2 is 15 × 10^1). */
export interface Decimal {
  digits: bigint;
  scale: number;
}

const DECIMAL_RE = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const MAX_SCALE = 1000;

/**
 * Parses a JSON/FHIR decimal (a string such as "1.50", or a JS number, which loses trailing zeros
 * written in the source). The scale is the precision as written: "1.50" has scale 2, "100" scale 0.
 */
export function parseDecimal(input: unknown): Decimal | undefined {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return undefined;
    text = String(input);
  } else if (typeof input === 'string') {
    text = input.trim();
  } else if (typeof input === 'bigint') {
    return { digits: input, scale: 0 };
  } else {
    return undefined;
  }
  if (text.length > 400) return undefined;
  const match = DECIMAL_RE.exec(text);
  if (!match) return undefined;
  const [, sign, intPart, fracPart = '', expPart] = match;
  const exponent = expPart === undefined ? 0 : Number(expPart);
  const scale = fracPart.length - exponent;
  if (!Number.isSafeInteger(scale) || Math.abs(scale) > MAX_SCALE) return undefined;
  let digits = BigInt(intPart + fracPart);
  if (sign === '-') digits = -digits;
  return { digits, scale };
}

const POW10: bigint[] = Array.from({ length: 40 }, (_, i) => 10n ** BigInt(i));

function pow10(n: number): bigint {
  return n < POW10.length ? POW10[n] : 10n ** BigInt(n);
}

/** Writes a decimal in plain notation, keeping its scale (trailing zeros included). */
export function formatDecimal(value: Decimal): string {
  const { digits, scale } = value;
  if (scale <= 0) return (digits * pow10(-scale)).toString();
  const negative = digits < 0n;
  const abs = (negative ? -digits : digits).toString().padStart(scale + 1, '0');
  const text = `${abs.slice(0, abs.length - scale)}.${abs.slice(abs.length - scale)}`;
  return negative ? `-${text}` : text;
}

/** Removes trailing fractional zeros (for canonical values, whose precision is not significant). */
export function trimDecimal(value: Decimal): Decimal {
  let { digits, scale } = value;
  while (scale > 0 && digits % 10n === 0n) {
    digits /= 10n;
    scale--;
  }
  return { digits, scale };
}

function rescale(value: Decimal, scale: number): bigint {
  // Only called with scale >= value.scale.
  return value.digits * pow10(scale - value.scale);
}

export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { digits: rescale(a, scale) + rescale(b, scale), scale };
}

export function mulDecimal(a: Decimal, b: Decimal): Decimal {
  return { digits: a.digits * b.digits, scale: a.scale + b.scale };
}

/** a / b rounded half away from zero to `scale` fractional digits. */
export function divDecimal(a: Decimal, b: Decimal, scale: number): Decimal {
  if (b.digits === 0n) throw new RangeError('division by zero');
  // a/b = (a.d / b.d) × 10^(b.s - a.s); we want q = round(a/b × 10^scale).
  let num = a.digits;
  let den = b.digits;
  const shift = scale + b.scale - a.scale;
  if (shift >= 0) num *= pow10(shift);
  else den *= pow10(-shift);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const negative = num < 0n;
  const absNum = negative ? -num : num;
  let q = absNum / den;
  if ((absNum % den) * 2n >= den) q += 1n;
  return { digits: negative ? -q : q, scale };
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const x = rescale(a, scale);
  const y = rescale(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The value and the range implied by its precision (FHIR search §number): 100 → [99.5, 100.5],
 * 1.50 → [1.495, 1.505], 1.5e2 → [145, 155]. All three are decimal strings.
 */
export function decimalRange(input: unknown): { value: string; low: string; high: string } | undefined {
  const value = parseDecimal(input);
  if (!value) return undefined;
  const tenfold = value.digits * 10n;
  return {
    value: formatDecimal(value.scale < 0 ? { digits: value.digits * pow10(-value.scale), scale: 0 } : value),
    low: formatDecimal({ digits: tenfold - 5n, scale: value.scale + 1 }),
    high: formatDecimal({ digits: tenfold + 5n, scale: value.scale + 1 }),
  };
}

/** canonical = (value + offset) × numerator / denominator, in the canonical unit. */
interface Conversion {
  canonical: string;
  offset?: Decimal;
  numerator: Decimal;
  denominator?: Decimal;
  /** factor 1, no offset */
  identity?: boolean;
}

function dec(text: string): Decimal {
  return parseDecimal(text)!;
}

function unit(canonical: string, factor: string, extra?: Partial<Conversion>): Conversion {
  return { canonical, numerator: dec(factor), identity: factor === '1' && !extra, ...extra };
}

/** UCUM code → conversion to the canonical unit of its dimension. */
const UNITS: ReadonlyMap<string, Conversion> = new Map<string, Conversion>([
  // mass → g
  ['kg', unit('g', '1000')],
  ['g', unit('g', '1')],
  ['mg', unit('g', '0.001')],
  ['ug', unit('g', '0.000001')],
  ['mcg', unit('g', '0.000001')], // not UCUM, but the usual way to write µg
  ['ng', unit('g', '0.000000001')],
  ['[lb_av]', unit('g', '453.59237')],
  ['[oz_av]', unit('g', '28.349523125')],
  // length → m
  ['km', unit('m', '1000')],
  ['m', unit('m', '1')],
  ['cm', unit('m', '0.01')],
  ['mm', unit('m', '0.001')],
  ['[in_i]', unit('m', '0.0254')],
  ['[ft_i]', unit('m', '0.3048')],
  // volume → L
  ['L', unit('L', '1')],
  ['l', unit('L', '1')],
  ['dL', unit('L', '0.1')],
  ['dl', unit('L', '0.1')],
  ['mL', unit('L', '0.001')],
  ['ml', unit('L', '0.001')],
  // time → s (UCUM: a = a_j = 365.25 d, mo = mo_j = a_j / 12)
  ['a', unit('s', '31557600')],
  ['mo', unit('s', '2629800')],
  ['wk', unit('s', '604800')],
  ['d', unit('s', '86400')],
  ['h', unit('s', '3600')],
  ['min', unit('s', '60')],
  ['s', unit('s', '1')],
  ['ms', unit('s', '0.001')],
  // temperature → K
  ['K', unit('K', '1')],
  ['Cel', unit('K', '1', { offset: dec('273.15') })],
  ['[degF]', unit('K', '5', { offset: dec('459.67'), denominator: dec('9') })],
  // amount of substance → mol (mmol/L, umol/L… are compound units, see conversionOf)
  ['mol', unit('mol', '1')],
  ['mmol', unit('mol', '0.001')],
  ['umol', unit('mol', '0.000001')],
  ['nmol', unit('mol', '0.000000001')],
  // units that are already canonical
  ['%', unit('%', '1')],
  ['mm[Hg]', unit('mm[Hg]', '1')],
  ['/min', unit('/min', '1')],
  ['kg/m2', unit('kg/m2', '1')],
]);

/** Fractional digits kept when a conversion divides (°F → K). */
const DIVISION_SCALE = 12;

/** The canonical unit code for a UCUM code, or null when the table does not know it. */
export function canonicalUnit(code: string | null | undefined): string | null {
  return (code && conversionOf(code)?.canonical) || null;
}

/**
 * The table's conversion, or for a quotient `a/b` of two table units without offsets (mg/dL,
 * mmol/L, g/L…) the quotient of theirs: mg/dL → g/L × 0.001 / 0.1, so 7200 mg/dL = 72 g/L = 7.2 g/dL.
 */
function conversionOf(code: string): Conversion | undefined {
  const known = UNITS.get(code);
  if (known) return known;
  const slash = code.indexOf('/');
  if (slash <= 0 || code.includes('/', slash + 1)) return undefined;
  const top = UNITS.get(code.slice(0, slash));
  const bottom = UNITS.get(code.slice(slash + 1));
  if (!top || !bottom || top.offset || bottom.offset || top.denominator || bottom.denominator) return undefined;
  const identity = top.identity === true && bottom.identity === true;
  return { canonical: `${top.canonical}/${bottom.canonical}`, numerator: top.numerator, ...(identity ? { identity } : { denominator: bottom.numerator }) };
}

/**
 * Converts a quantity to its canonical UCUM unit. The unit must be UCUM: `system` is
 * http://unitsofmeasure.org, or absent (then `code` is taken as a UCUM code). Returns null for
 * unknown units and for values that are not decimals.
 */
export function canonicalizeQuantity(
  value: unknown,
  system: string | null | undefined,
  code: string | null | undefined,
): { value: string; code: string } | null {
  if (system && system !== UCUM_SYSTEM) return null;
  if (!code) return null;
  const conversion = conversionOf(code);
  if (!conversion) return null;
  const parsed = parseDecimal(value);
  if (!parsed) return null;
  if (conversion.identity) return { value: formatDecimal(trimDecimal(parsed)), code: conversion.canonical };
  let result = parsed;
  if (conversion.offset) result = addDecimal(result, conversion.offset);
  result = mulDecimal(result, conversion.numerator);
  if (conversion.denominator) {
    result = divDecimal(result, conversion.denominator, Math.max(result.scale, 0) + DIVISION_SCALE);
  }
  return { value: formatDecimal(trimDecimal(result)), code: conversion.canonical };
}
