import { addQuantity, Collector } from './idxcopy.js';
import { decimalRange, canonicalizeQuantity } from '../src/fhir/units.js';
function bench(name: string, fn: () => unknown) { for (let i = 0; i < 20000; i++) fn(); const t = performance.now(); const N = 200000; for (let i = 0; i < N; i++) fn(); console.log(name, ((performance.now() - t) * 1000 / N).toFixed(3), 'us'); }
const row = { value: '132.3437750297677', low: '132.34377502976765', high: '132.34377502976775', system: 'http://unitsofmeasure.org', code: 'cm', unit: 'cm', canonicalValue: '1.323437750297677', canonicalCode: 'm' };
bench('c.quantity', () => { const c = new Collector(); c.quantity('value-quantity', 0, row); });
const tv = { type: 'Quantity', value: { value: 132.3437750297677, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' } };
bench('addQuantity', () => { const c = new Collector(); addQuantity(c, 'value-quantity', 0, tv); });
const tv2 = { type: 'Quantity', value: { value: 132.3437750297677, unit: 'x', system: 'http://unitsofmeasure.org', code: '{x}' } };
bench('addQuantity unknown unit', () => { const c = new Collector(); addQuantity(c, 'value-quantity', 0, tv2); });
const tv3 = { type: 'Quantity', value: { value: 132, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' } };
bench('addQuantity 132', () => { const c = new Collector(); addQuantity(c, 'value-quantity', 0, tv3); });
