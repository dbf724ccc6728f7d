import { planFor } from './idxcopy.js';
import { loadDefinitions, searchParameters } from '../src/fhir/definitions/index.js';
loadDefinitions();
const p = planFor('DocumentReference');
console.log(p.composites.map(c => c.code + ' ' + c.expression.toString() + ' ' + c.parts.map(x => x.param + ':' + x.kind + ':' + x.expression.toString()).join(',')));
console.log(JSON.stringify(searchParameters('DocumentReference')['relationship']));
