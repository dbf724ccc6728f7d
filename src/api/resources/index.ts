import { compileResource, type CompiledResource, type SimplifiedResource } from '../simplified-resource.js';
import { encounters } from './encounters.js';
import { observations } from './observations.js';
import { patients } from './patients.js';
import { practitioners } from './practitioners.js';
import { practitionerRoles } from './practitioner-roles.js';
import { appointments } from './appointments.js';
import { medications } from './medications.js';
import { prescriptions } from './prescriptions.js';
import { consents } from './consents.js';
import { notes } from './notes.js';
import { intakes } from './intakes.js';
import { assessments } from './assessments.js';
import { labs } from './labs.js';
import { documents } from './documents.js';

/** The resources of the simplified API, one declaration file each; the route factory serves them all. */
export const SIMPLIFIED_RESOURCES: SimplifiedResource[] = [
  patients,
  practitioners,
  practitionerRoles,
  appointments,
  observations,
  encounters,
  medications,
  prescriptions,
  consents,
  notes,
  intakes,
  assessments,
  labs,
  documents,
];

/** The declarations compiled once (their body validators), shared by the routes and the import jobs. */
export const COMPILED_RESOURCES: CompiledResource[] = SIMPLIFIED_RESOURCES.map(compileResource);
