import { validateResource } from '../src/fhir/validate.js';
import { loadDefinitions } from '../src/fhir/definitions/index.js';
import { readFileSync, readdirSync } from 'node:fs';
let t = performance.now(); loadDefinitions(); console.log('defs', (performance.now() - t).toFixed(0));
const ex = '/work/shared/fixtures/fhir-r4-examples/resources/';
const files = readdirSync(ex);
const res = files.map(f => JSON.parse(readFileSync(ex + f, 'utf8')));
const types = [...new Set(res.map(r => r.resourceType))];
for (const type of types) {
  const r = res.find(x => x.resourceType === type);
  t = performance.now(); validateResource(r); console.log('first', type, (performance.now() - t).toFixed(0), 'ms');
}
let bad = 0;
for (const [i, r] of res.entries()) { const issues = validateResource(r); if (issues.length) { bad++; console.log(files[i], JSON.stringify(issues).slice(0, 500)); } }
console.log('invalid', bad, 'of', res.length);
const p = res.find(x => x.resourceType === 'Patient');
t = performance.now(); let n = 0; while (performance.now() - t < 1000) { validateResource(p); n++; } console.log('Patient/s', n);
console.log(process.memoryUsage().rss / 1e6);
