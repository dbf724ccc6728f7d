import { indexResource } from '../src/fhir/indexing.js';
const r: any = { resourceType: 'MolecularSequence', coordinateSystem: 0, referenceSeq: { chromosome: { coding: [{ system: 'http://hl7.org/fhir/chromosome-human', code: '1' }] }, windowStart: 22125500, windowEnd: 22125510 }, variant: [{ start: 22125503, end: 22125504 }] };
const x = indexResource(r);
console.log(JSON.stringify(x, null, 0).replace(/\},\{/g, '},\n{'));
