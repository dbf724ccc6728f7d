import { Collector } from './idxcopy.js';
import { decimalRange, canonicalizeQuantity } from '../src/fhir/units.js';
function bench(name: string, fn: () => unknown) { for (let i = 0; i < 20000; i++) fn(); const t = performance.now(); const N = 100000; for (let i = 0; i < N; i++) fn(); console.log(name, ((performance.now() - t) * 1000 / N).toFixed(3), 'us'); }
const obj: any = { value: 132.3437750297677, unit: 'x', system: 'http://unitsofmeasure.org', code: '{x}' };
bench('A range', () => decimalRange(obj.value));
bench('B range+canon', () => { const r = decimalRange(obj.value)!; return canonicalizeQuantity(r.value, obj.system, obj.code); });
bench('C + collector', () => { const c = new Collector(); const r = decimalRange(obj.value)!; const can = canonicalizeQuantity(r.value, obj.system, obj.code); return c.quantity('p', 0, { ...r, system: obj.system, code: obj.code, unit: obj.unit, canonicalValue: can?.value ?? null, canonicalCode: can?.code ?? null }); });
bench('D collector + fixed', () => { const c = new Collector(); return c.quantity('p', 0, { value: '1', low: '0.5', high: '1.5', system: obj.system, code: obj.code, unit: obj.unit, canonicalValue: null, canonicalCode: null }); });
bench('E explicit fields', () => { const c = new Collector(); const r = decimalRange(obj.value)!; return c.quantity('p', 0, { value: r.value, low: r.low, high: r.high, system: obj.system, code: obj.code, unit: obj.unit, canonicalValue: null, canonicalCode: null }); });
bench('F set only', () => { const s = new Set<string>(); const r = decimalRange(obj.value)!; s.add(`q\u0000p\u00000\u0000${r.value}\u0000${r.low}\u0000${r.high}`); });
bench('G set with flat', () => { const s = new Set<string>(); const r = decimalRange(obj.value)!; s.add(`q${r.low}`); });
bench('H concat only', () => { const r = decimalRange(obj.value)!; return `q${r.low}`.length; });
bench('I low length', () => { const r = decimalRange(obj.value)!; return r.low.charCodeAt(3); });
