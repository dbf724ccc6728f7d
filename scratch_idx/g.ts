import { loadDefinitions } from '../src/fhir/definitions/index.js';
import { getElementDefinition } from '@medplum/core';
loadDefinitions();
for (const [t, n] of [['Observation', 'component'], ['Observation', 'value'], ['Observation', 'meta'], ['Meta', 'profile'], ['ObservationComponent', 'code'], ['Observation', 'subject'], ['Reference', 'reference'], ['CodeableConcept', 'text'], ['Patient','contact'], ['Observation','code']])
  console.log(t, n, JSON.stringify(getElementDefinition(t, n)?.type), getElementDefinition(t, n)?.path);
