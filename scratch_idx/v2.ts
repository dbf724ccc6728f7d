import { validateResource } from '../src/fhir/validate.js';
const cases: any[] = [
  { resourceType: 'Patient', birthDate: '1974-13-45', gender: 'mal', name: { family: 'Secret' }, foo: 'SECRETVALUE', active: 'yes' },
  { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: ['SECRET'] }, { resourceType: 'Nope', id: 'x' }, { resourceType: 'Project' }] },
  { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 'SECRET' } } }] },
  { resourceType: 'Observation', status: 'final' },
  { resourceType: 'Patient', name: [{ given: ['a\u00a0b'] }], photo: [{ data: 'SGVs bG8h' }] },
  { resourceType: 'Patient', photo: [{ data: 'SGVsb G8h' }] },
  { resourceType: 'Project' }, { resourceType: 'Foo' }, [], 'str', { resourceType: 5 },
  { resourceType: 'Patient', id: 'has space', meta: { lastUpdated: 'yesterday' } },
];
for (const c of cases) console.log(JSON.stringify(validateResource(c)));
const long = 'QUJD'.repeat(20000) + ' ' + 'QUJD '.repeat(3000) + '!';
let t = performance.now(); console.log(JSON.stringify(validateResource({ resourceType: 'Patient', photo: [{ data: long }] })), (performance.now() - t).toFixed(0), 'ms');
t = performance.now(); console.log(JSON.stringify(validateResource({ resourceType: 'Parameters', parameter: [{ name: 'x', valueBase64Binary: 'QUJD \n'.repeat(5000) + '!' }] })), (performance.now() - t).toFixed(0), 'ms');
