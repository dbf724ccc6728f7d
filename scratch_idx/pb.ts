import { indexResource } from '../src/fhir/indexing.js';
import { readFileSync, readdirSync } from 'node:fs';
const type = process.argv[2] ?? 'Patient';
const list: any[] = [];
const sy = '/work/shared/fixtures/synthea-r4/';
for (const f of readdirSync(sy).filter(f => f.endsWith('.json') && f !== 'index.json')) {
  const b = JSON.parse(readFileSync(sy + f, 'utf8'));
  for (const e of b.entry ?? []) if (e.resource.resourceType === type) list.push(e.resource);
}
for (const r of list) indexResource(r);
const t = performance.now(); let n = 0;
while (performance.now() - t < 4000) { for (const r of list) { indexResource(r); n++; } }
console.log(type, n, (n / ((performance.now() - t) / 1000)).toFixed(0), '/s');
