import type { SearchParameter } from '@medplum/fhirtypes';

/**
 * Search parameters that R4 lacks but the simplified API filters on. They are ordinary
 * SearchParameter resources, indexed and searched exactly like the R4 ones.
 */
export const customSearchParameters: SearchParameter[] = [];
