import { planFor } from './idxcopy.js';
import { loadDefinitions } from '../src/fhir/definitions/index.js';
import { toTypedValue } from '@medplum/core';
import { readFileSync, readdirSync } from 'node:fs';
loadDefinitions();
const type = process.argv[2];
const list: any[] = [];
const sy = '/work/shared/fixtures/synthea-r4/';
for (const f of readdirSync(sy).filter(f => f.endsWith('.json') && f !== 'index.json')) {
  for (const e of JSON.parse(readFileSync(sy + f, 'utf8')).entry ?? []) if (e.resource.resourceType === type) list.push(e.resource);
}
const plan = planFor(type);
const res: [string, number][] = [];
for (const p of [...plan.params, ...plan.composites]) {
  const run = () => { for (const r of list) { const tv = toTypedValue(r); p.expression.eval({ variables: { '%resource': tv } }, [tv]); } };
  run(); run();
  const t = performance.now(); const R = type === 'Patient' ? 50 : 3; for (let k = 0; k < R; k++) run();
  res.push([p.code + ' ' + p.expression.toString().slice(0, 70), (performance.now() - t) * 1000 / (R * list.length)]);
}
res.sort((a, b) => b[1] - a[1]);
let tot = 0; for (const r of res) tot += r[1];
console.log('total eval us/resource', tot.toFixed(1));
for (const r of res.slice(0, 10)) console.log(r[1].toFixed(2), r[0]);
