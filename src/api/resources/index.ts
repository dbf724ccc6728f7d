import type { SimplifiedResource } from '../simplified-resource.js';
import { encounters } from './encounters.js';
import { observations } from './observations.js';
import { patients } from './patients.js';
import { practitioners } from './practitioners.js';
import { medications } from './medications.js';
import { prescriptions } from './prescriptions.js';
import { consents } from './consents.js';
import { notes } from './notes.js';

/** The resources of the simplified API, one declaration file each; the route factory serves them all. */
export const SIMPLIFIED_RESOURCES: SimplifiedResource[] = [
  patients,
  practitioners,
  observations,
  encounters,
  medications,
  prescriptions,
  consents,
  notes,
];
