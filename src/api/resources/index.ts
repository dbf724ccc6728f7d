import type { SimplifiedResource } from '../simplified-resource.js';
import { patients } from './patients.js';
import { practitioners } from './practitioners.js';

/** The resources of the simplified API, one declaration file each; the route factory serves them all. */
export const SIMPLIFIED_RESOURCES: SimplifiedResource[] = [
  patients,
  practitioners,
];
