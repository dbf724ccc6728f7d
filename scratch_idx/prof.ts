import { loadDefinitions, searchParameters } from '../src/fhir/definitions/index.js';
import { getSearchParameterDetails, evalFhirPathTyped, toTypedValue, parseFhirPath } from '@medplum/core';
import { readFileSync, readdirSync } from 'node:fs';
loadDefinitions();
const pats: any[] = [];
const sy = '/work/shared/fixtures/synthea-r4/';
for (const f of readdirSync(sy).filter(f => f.endsWith('.json') && f !== 'index.json')) {
  const b = JSON.parse(readFileSync(sy + f, 'utf8'));
  for (const e of b.entry ?? []) if (e.resource.resourceType === process.argv[2]) pats.push(e.resource);
}
const res: [string, number][] = [];
for (const [code, sp] of Object.entries(searchParameters(process.argv[2]))) {
  if (!sp.expression) continue;
  let d; try { d = getSearchParameterDetails(process.argv[2], sp); } catch { continue; }
  const t = performance.now();
  for (let k = 0; k < 5; k++) for (const p of pats) evalFhirPathTyped(d.parsedExpression, [toTypedValue(p)]);
  res.push([code + ' ' + d.parsedExpression.toString().slice(0, 80), (performance.now() - t) * 1000 / (5 * pats.length)]);
}
res.sort((a, b) => b[1] - a[1]);
let tot = 0; for (const r of res) tot += r[1];
console.log('total us/resource', tot.toFixed(1));
for (const r of res.slice(0, 15)) console.log(r[1].toFixed(1), r[0]);
