/**
 * The tag that records which tenant owns a resource (set by the repository on every write). It is
 * bookkeeping, not data: the indexer never indexes it, so no search can match on it.
 */
export const TENANT_TAG_SYSTEM = 'https://clinikapi.com/tenant';
