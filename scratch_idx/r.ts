import { addQuantity, Collector } from './idxcopy.js';
import { loadDefinitions } from '../src/fhir/definitions/index.js';
loadDefinitions();
const tv = { type: 'Quantity', value: { value: 132.3437750297677, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' } };
function bench(name: string, fn: () => unknown) { for (let i = 0; i < 20000; i++) fn(); const t = performance.now(); const N = 200000; for (let i = 0; i < N; i++) fn(); console.log(name, ((performance.now() - t) * 1000 / N).toFixed(3), 'us'); }
bench('collector+addQuantity', () => { const c = new Collector(); addQuantity(c, 'value-quantity', 0, tv); });
bench('collector only', () => new Collector());
bench('collector+4 addQuantity', () => { const c = new Collector(); addQuantity(c, 'value-quantity', 0, tv); addQuantity(c, 'combo-value-quantity', 0, tv); addQuantity(c, 'a#1', 1, tv); addQuantity(c, 'b#1', 2, tv); });
