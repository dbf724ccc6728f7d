import { indexResource } from '../src/fhir/indexing.js';
import { loadDefinitions } from '../src/fhir/definitions/index.js';
import { readFileSync, readdirSync } from 'node:fs';
let t0 = performance.now();
loadDefinitions();
console.log('loadDefinitions ms', (performance.now() - t0).toFixed(0));
const byType: Record<string, any[]> = {};
const sy = '/work/shared/fixtures/synthea-r4/';
for (const f of readdirSync(sy).filter(f => f.endsWith('.json') && f !== 'index.json')) {
  const b = JSON.parse(readFileSync(sy + f, 'utf8'));
  for (const e of b.entry ?? []) (byType[e.resource.resourceType] ??= []).push(e.resource);
}
const ex = '/work/shared/fixtures/fhir-r4-examples/resources/';
const examples = readdirSync(ex).map(f => JSON.parse(readFileSync(ex + f, 'utf8')));
t0 = performance.now();
let rowsTotal = 0;
for (const r of examples) { const x = indexResource(r); rowsTotal += x.token.length; }
console.log('examples first pass ms', (performance.now() - t0).toFixed(0));
let all = 0; t0 = performance.now();
for (const list of Object.values(byType)) for (const r of list) { indexResource(r); all++; }
console.log('all synthea', all, 'first pass ms', (performance.now() - t0).toFixed(0));
for (const type of ['Patient', 'Observation', 'Encounter', 'Claim', 'ExplanationOfBenefit']) {
  const list = byType[type];
  const rounds = type === 'Patient' ? 100 : 2;
  for (let i = 0; i < list.length; i++) indexResource(list[i]);
  const t = performance.now(); let n = 0;
  for (let k = 0; k < rounds; k++) for (const r of list) { indexResource(r); n++; }
  const s = (performance.now() - t) / 1000;
  console.log(type, n, 'resources', (n / s).toFixed(0), '/s');
}
