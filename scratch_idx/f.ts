import { searchParameters, loadDefinitions } from '../src/fhir/definitions/index.js';
import { getSearchParameterDetails } from '@medplum/core';
loadDefinitions();
const t = process.argv[2];
for (const [code, sp] of Object.entries(searchParameters(t))) console.log(code, sp.type, '::', sp.expression?.slice(0, 200));
