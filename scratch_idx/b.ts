import { loadDefinitions, allResourceTypes, searchParameters } from '../src/fhir/definitions/index.js';
import { getSearchParameterDetails, parseFhirPath, UnionAtom, SymbolAtom, FunctionAtom, IndexerAtom } from '@medplum/core';
loadDefinitions();
function root(a: any): string | undefined {
  if (a instanceof SymbolAtom) return a.name;
  if (a instanceof FunctionAtom) return undefined;
  if (a instanceof IndexerAtom) return root(a.left);
  if (a && a.left) return root(a.left);
  return undefined;
}
function branches(a: any, out: any[]) { if (a instanceof UnionAtom) { branches(a.left, out); branches(a.right, out);} else out.push(a); return out; }
let diff = 0;
for (const type of allResourceTypes()) {
  for (const [code, sp] of Object.entries(searchParameters(type))) {
    if (!sp.expression) continue;
    const d = getSearchParameterDetails(type, sp);
    const mine = branches(parseFhirPath(sp.expression).child, []).filter(b => root(b) === type).map(b=>b.toString()).join(' | ');
    const theirs = branches(d.parsedExpression.child, []).map(b=>b.toString()).join(" | ");
    if (mine !== theirs) { diff++; console.log(type, code, sp.type, '\n  M:', mine, '\n  T:', theirs); }
  }
}
console.log('diff', diff);
