import { loadDefinitions, allResourceTypes, searchParameters } from '../src/fhir/definitions/index.js';
import { getSearchParameterDetails, evalFhirPathTyped, toTypedValue, parseFhirPath } from '@medplum/core';
import { readFileSync, readdirSync } from 'node:fs';
let t=Date.now();
loadDefinitions();
console.log('load ms', Date.now()-t);
t=Date.now();
let n=0, errs=0;
for (const type of allResourceTypes()) {
  for (const [code, sp] of Object.entries(searchParameters(type))) {
    if (!sp.expression) continue;
    try { const d = getSearchParameterDetails(type, sp); n++; } catch (e) { errs++; console.log('ERR', type, code, (e as Error).message); }
  }
}
console.log('details', n, errs, Date.now()-t);
const p = JSON.parse(readFileSync('/work/shared/fixtures/fhir-r4-examples/resources/Patient-example.json','utf8'));
for (const [code, sp] of Object.entries(searchParameters('Patient'))) {
  if (!sp.expression) { console.log(code, 'noexpr'); continue; }
  const d = getSearchParameterDetails('Patient', sp);
  const r = evalFhirPathTyped(d.parsedExpression, [toTypedValue(p)]);
  console.log(code, sp.type, d.parsedExpression.toString(), JSON.stringify(r).slice(0,300));
}
