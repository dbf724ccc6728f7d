import { loadDefinitions } from '../src/fhir/definitions/index.js';
import { evalFhirPathTyped, toTypedValue, parseFhirPath, getTypedPropertyValue, getElementDefinition, tryGetDataType } from '@medplum/core';
import { readFileSync } from 'node:fs';
loadDefinitions();
const b = JSON.parse(readFileSync('/work/shared/fixtures/synthea-r4/Alberto_Armstrong_dc9335d0-bbdd-4120-8ae9-baa6604343b6.json', 'utf8'));
const p = b.entry.find((e: any) => e.resource.resourceType === 'Patient').resource;
function bench(name: string, fn: () => unknown) { for (let i = 0; i < 2000; i++) fn(); const t = performance.now(); const N = 50000; for (let i = 0; i < N; i++) fn(); console.log(name, ((performance.now() - t) * 1000 / N).toFixed(2), 'us'); }
const tv = toTypedValue(p);
const e1 = parseFhirPath('Patient.gender');
const e2 = parseFhirPath('gender');
bench('toTypedValue', () => toTypedValue(p));
bench('tryGetDataType', () => tryGetDataType('Patient'));
bench('getElementDefinition', () => getElementDefinition('Patient', 'gender'));
bench('getTypedPropertyValue', () => getTypedPropertyValue(tv, 'gender'));
bench('eval Patient.gender', () => e1.eval({ variables: {} }, [tv]));
bench('eval gender', () => e2.eval({ variables: {} }, [tv]));
