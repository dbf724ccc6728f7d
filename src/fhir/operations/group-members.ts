import type { Group } from '@medplum/fhirtypes';
import type { Tx } from '../../store/database.js';
import { readResource } from '../../store/resources.js';
import { parseReference } from '../indexing/references.js';

/**
 * The patients of a Group, for a Group-level export: the active members whose entity is a local
 * Patient reference (`Patient/1`, or an absolute URL under this server's FHIR base). Other members
 * (devices, nested groups, other servers' patients) have no compartment here and are skipped.
 * Undefined when the Group does not exist (or is deleted) in the partition.
 */
export async function groupPatients(tx: Tx, partitionId: number, groupId: string, fhirBase: string): Promise<string[] | undefined> {
  const stored = await readResource(tx, partitionId, 'Group', groupId);
  if (!stored || stored.deleted || stored.content === null) return undefined;
  const group = JSON.parse(stored.content) as Group;
  const ids = new Set<string>();
  for (const member of group.member ?? []) {
    if (member.inactive === true || typeof member.entity?.reference !== 'string') continue;
    const target = parseReference(member.entity.reference, fhirBase);
    if (target.targetType === 'Patient' && target.targetId !== null) ids.add(target.targetId);
  }
  return [...ids].sort();
}
