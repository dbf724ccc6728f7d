import { indexResource } from '../src/fhir/indexing.js';
import { readFileSync } from 'node:fs';
const f = process.argv[2];
const r = JSON.parse(readFileSync('/work/shared/fixtures/fhir-r4-examples/resources/' + f, 'utf8'));
const rows = indexResource(r);
for (const k of Object.keys(rows) as (keyof typeof rows)[]) { console.log('==', k); for (const x of rows[k] as any[]) console.log(JSON.stringify(x)); }
