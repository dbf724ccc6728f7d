import { decimalRange, canonicalizeQuantity } from '../src/fhir/units.js';
function bench(name: string, fn: () => unknown) { for (let i = 0; i < 20000; i++) fn(); const t = performance.now(); const N = 300000; for (let i = 0; i < N; i++) fn(); console.log(name, ((performance.now() - t) * 1000 / N).toFixed(3), 'us'); }
bench('range 1.5', () => decimalRange(1.5));
bench('range 120.25', () => decimalRange(120.25));
bench('canon mm[Hg]', () => canonicalizeQuantity('120', 'http://unitsofmeasure.org', 'mm[Hg]'));
bench('canon kg', () => canonicalizeQuantity('72.5', 'http://unitsofmeasure.org', 'kg'));
bench('canon unknown', () => canonicalizeQuantity('72.5', 'http://unitsofmeasure.org', '{score}'));
bench('range 176.27', () => decimalRange(176.27));
bench('canon cm 176.27', () => canonicalizeQuantity('176.27', 'http://unitsofmeasure.org', 'cm'));
bench('range 132.3437750297677', () => decimalRange(132.3437750297677));
bench('canon cm long', () => canonicalizeQuantity('132.3437750297677', 'http://unitsofmeasure.org', 'cm'));
