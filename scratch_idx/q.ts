import { indexResource } from '../src/fhir/indexing.js';
import { readFileSync } from 'node:fs';
const b = JSON.parse(readFileSync('/work/shared/fixtures/synthea-r4/Alberto_Armstrong_dc9335d0-bbdd-4120-8ae9-baa6604343b6.json', 'utf8'));
const obs = b.entry.map((e: any) => e.resource).filter((r: any) => r.resourceType === 'Observation' && r.valueQuantity)[0];
console.log(JSON.stringify(obs).slice(0, 600));
function bench(name: string, r: any) { for (let i = 0; i < 3000; i++) indexResource(r); const t = performance.now(); const N = 20000; for (let i = 0; i < N; i++) indexResource(r); console.log(name, ((performance.now() - t) * 1000 / N).toFixed(1), 'us'); }
bench('with value', obs);
const { valueQuantity, ...rest } = obs;
bench('without value', rest);
const x = indexResource(obs); console.log(Object.fromEntries(Object.entries(x).map(([k, v]) => [k, (v as any[]).length])));
