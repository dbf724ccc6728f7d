import { loadDefinitions, searchParameters } from '../src/fhir/definitions/index.js';
import { getSearchParameterDetails, evalFhirPathTyped, toTypedValue } from '@medplum/core';
import { readFileSync, readdirSync } from 'node:fs';
loadDefinitions();
const res: any[] = [];
const ex = '/work/shared/fixtures/fhir-r4-examples/resources/';
for (const f of readdirSync(ex)) res.push(JSON.parse(readFileSync(ex + f, 'utf8')));
const sy = '/work/shared/fixtures/synthea-r4/';
for (const f of readdirSync(sy).filter(f => f.endsWith('.json') && f !== 'index.json').slice(0, 10)) {
  const b = JSON.parse(readFileSync(sy + f, 'utf8'));
  for (const e of b.entry ?? []) res.push(e.resource);
}
const tally: Record<string, number> = {};
const sample: Record<string, string> = {};
for (const r of res) {
  const sps = searchParameters(r.resourceType);
  for (const [code, sp] of Object.entries(sps)) {
    if (!sp.expression || sp.type === 'composite') continue;
    try {
      const d = getSearchParameterDetails(r.resourceType, sp);
      const out = evalFhirPathTyped(d.parsedExpression, [toTypedValue(r)]);
      for (const tv of out) { const k = sp.type + ' ' + tv.type; tally[k] = (tally[k] ?? 0) + 1; sample[k] ??= r.resourceType + '.' + code + ' ' + JSON.stringify(tv.value).slice(0, 150); }
    } catch (e) { const k = 'ERR ' + r.resourceType + ' ' + code + ' ' + (e as Error).message; tally[k] = (tally[k] ?? 0) + 1; }
  }
}
for (const k of Object.keys(tally).sort()) console.log(k, tally[k], sample[k] ?? '');
