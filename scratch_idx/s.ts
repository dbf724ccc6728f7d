import { decimalRange, canonicalizeQuantity } from '../src/fhir/units.js';
function bench(name: string, fn: () => unknown) { for (let i = 0; i < 20000; i++) fn(); const t = performance.now(); const N = 200000; for (let i = 0; i < N; i++) fn(); console.log(name, ((performance.now() - t) * 1000 / N).toFixed(3), 'us'); }
const obj = { value: 132.3437750297677, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' };
bench('range obj.value', () => decimalRange(obj.value));
const r = decimalRange(obj.value)!;
console.log(r);
bench('canon', () => canonicalizeQuantity(r.value, 'http://unitsofmeasure.org', 'cm'));
bench('both', () => { const x = decimalRange(obj.value)!; return canonicalizeQuantity(x.value, obj.system, obj.code); });
