import type { Resource } from '@medplum/fhirtypes';
import { indexResource, INDEX_VERSION } from '../fhir/indexing/index.js';
import type { Database } from '../store/database.js';
import { replaceIndex, staleResources } from '../store/resources.js';

const BATCH = 500;

/**
 * Rewrites the search index rows of every resource indexed by an older INDEX_VERSION, in
 * batches, each in its own transaction. Safe to run while the server serves: a resource written
 * concurrently already carries the new index and is skipped by the version check. `fhirBase` is
 * the server's FHIR base URL, as for writes.
 */
export async function reindexStale(db: Database, fhirBase: string, onProgress: (done: number) => void = () => undefined): Promise<number> {
  let done = 0;
  for (;;) {
    const batch = await db.read((tx) => staleResources(tx, INDEX_VERSION, BATCH));
    if (batch.length === 0) return done;
    await db.transaction(async (tx) => {
      for (const stored of batch) {
        const index = indexResource(JSON.parse(stored.content!) as Resource, fhirBase);
        await replaceIndex(tx, stored.partitionId, stored.resourceType, stored.id, stored.versionId, INDEX_VERSION, index);
      }
    });
    done += batch.length;
    onProgress(done);
  }
}
