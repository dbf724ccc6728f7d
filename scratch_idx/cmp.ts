import { planFor } from './idxcopy.js';
import { loadDefinitions, searchParameters } from '../src/fhir/definitions/index.js';
import { parseFhirPath, toTypedValue, UnionAtom, SymbolAtom, FunctionAtom, evalFhirPathTyped } from '@medplum/core';
import { readFileSync, readdirSync } from 'node:fs';
loadDefinitions();
const res: any[] = [];
const ex = '/work/shared/fixtures/fhir-r4-examples/resources/';
for (const f of readdirSync(ex)) res.push(JSON.parse(readFileSync(ex + f, 'utf8')));
const sy = '/work/shared/fixtures/synthea-r4/';
for (const f of readdirSync(sy).filter(f => f.endsWith('.json') && f !== 'index.json').slice(0, 40)) {
  for (const e of JSON.parse(readFileSync(sy + f, 'utf8')).entry ?? []) res.push(e.resource);
}
function root(a: any): string | undefined { for (let c = a; c; c = c.left) { if (c instanceof SymbolAtom) return c.name; if (c instanceof FunctionAtom) return undefined; } return undefined; }
function br(a: any, o: any[] = []) { if (a instanceof UnionAtom) { br(a.left, o); br(a.right, o); } else o.push(a); return o; }
const diffs: Record<string, number> = {}; const sample: Record<string, string> = {};
for (const r of res) {
  const plan = planFor(r.resourceType);
  const sps = searchParameters(r.resourceType);
  const tv = toTypedValue(r);
  for (const p of plan.params) {
    const sp = sps[p.code];
    const parsed = parseFhirPath(sp.expression!);
    const own = br(parsed.child).filter(b => root(b) === r.resourceType);
    const expr = own.length ? own.map(b => b.toString()).join(' | ') : sp.expression!;
    const theirs = evalFhirPathTyped(expr, [tv]);
    const mine = p.expression.eval({ variables: { '%resource': tv } }, [tv]).map(v => ({ type: v.type, value: v.value?.valueOf() }));
    const key = (x: any[]) => [...new Set(x.map(v => v.type + ':' + JSON.stringify(v.value)))].sort().join('\n');
    if (key(mine) !== key(theirs)) { const k = r.resourceType + '.' + p.code; diffs[k] = (diffs[k] ?? 0) + 1; sample[k] ??= 'MINE ' + key(mine).slice(0, 300) + '\nTHEIRS ' + key(theirs).slice(0, 300); }
  }
}
for (const k of Object.keys(diffs)) console.log(k, diffs[k], '\n', sample[k]);
console.log('resources', res.length);
