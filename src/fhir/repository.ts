import type { Resource } from '@medplum/fhirtypes';
import { ApiError, invalidIssue, validationError, type Issue } from '../errors.js';
import { uuidv7 } from '../ids.js';
import type { Database, Tx } from '../store/database.js';
import { emptyIndexRows } from '../store/index-rows.js';
import { eraseResource, readResource, writeVersion, type StoredResource } from '../store/resources.js';
import { indexResource, INDEX_VERSION } from './indexing/index.js';
import { validateResource } from './validate.js';

export const TENANT_TAG_SYSTEM = 'https://clinikapi.com/tenant';

/** Who writes: the partition, the tenant tag code, and what the history records about the request. */
export interface RequestContext {
  partitionId: number;
  tenantId: string;
  keyId: string | null;
  requestId: string | null;
}

/** A stored version: the exact serialized text, plus the parsed resource for callers that need it. */
export interface ResourceVersion {
  resourceType: string;
  id: string;
  versionId: number;
  createdAt: string;
  lastUpdated: string;
  content: string;
}

export interface WriteOptions {
  /** The version the client last saw (If-Match); a different stored version answers 409. */
  ifMatch?: number;
}

/** Writes retried after losing a compare-and-swap race before giving up with 409. */
const MAX_WRITE_ATTEMPTS = 5;

/**
 * The FHIR repository: validate → tag → index → store, each write one atomic store call.
 * Reads return the stored text untouched. Tenant scope comes from the context's partition.
 */
export class FhirRepository {
  constructor(private readonly db: Database) {}

  /** The current version; NOT_FOUND when absent, GONE when deleted. */
  async read(ctx: RequestContext, resourceType: string, id: string): Promise<ResourceVersion> {
    const stored = await this.db.read((tx) => readResource(tx, ctx.partitionId, resourceType, id));
    return current(stored);
  }

  async create(ctx: RequestContext, resource: Resource): Promise<ResourceVersion> {
    const id = uuidv7();
    const version = await this.db.read((tx) => this.writeNext(tx, ctx, resource, id, undefined, 'create'));
    if (!version) throw new ApiError('CONFLICT', 'Resource id collision; retry the request');
    return version;
  }

  /** PUT: replaces the resource, or creates it with the client's id. */
  async update(ctx: RequestContext, resource: Resource, id: string, options: WriteOptions = {}): Promise<{ version: ResourceVersion; created: boolean }> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const result = await this.db.read(async (tx) => {
        const stored = await readResource(tx, ctx.partitionId, resource.resourceType, id);
        checkIfMatch(stored, options);
        const created = !stored || stored.deleted;
        const version = await this.writeNext(tx, ctx, resource, id, stored, created ? 'create' : 'update');
        return version && { version, created };
      });
      if (result) return result;
    }
    throw new ApiError('CONFLICT', 'The resource was changed concurrently; retry the request');
  }

  /**
   * Read-modify-write under a row lock, so concurrent modifications of one resource serialise
   * and none is lost. `change` receives the current resource and returns the next one.
   */
  async modify(ctx: RequestContext, resourceType: string, id: string, change: (current: Resource) => Resource, options: WriteOptions = {}): Promise<ResourceVersion> {
    return this.db.transaction(async (tx) => {
      const stored = await readResource(tx, ctx.partitionId, resourceType, id, { forUpdate: true });
      const existing = current(stored);
      checkIfMatch(stored, options);
      const next = change(JSON.parse(existing.content) as Resource);
      if (next.resourceType !== resourceType) {
        throw validationError([{ severity: 'error', code: 'invalid', diagnostics: 'resourceType: cannot be changed', expression: ['resourceType'] }]);
      }
      const version = await this.writeNext(tx, ctx, next, id, stored, 'update');
      if (!version) throw new ApiError('CONFLICT', 'The resource was changed concurrently; retry the request');
      return version;
    });
  }

  /** Writes a tombstone version; NOT_FOUND when absent or already deleted. */
  async delete(ctx: RequestContext, resourceType: string, id: string, options: WriteOptions = {}): Promise<void> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const done = await this.db.read(async (tx) => {
        const stored = await readResource(tx, ctx.partitionId, resourceType, id);
        if (!stored || stored.deleted) throw new ApiError('NOT_FOUND', 'Resource not found');
        checkIfMatch(stored, options);
        const createdAt = await writeVersion(tx, ctx.partitionId, {
          resourceType, id, versionId: stored.versionId + 1, lastUpdated: new Date().toISOString(), deleted: true, content: null,
          indexVersion: INDEX_VERSION, index: emptyIndexRows(), operation: 'delete', keyId: ctx.keyId, requestId: ctx.requestId, fresh: false,
        });
        return createdAt !== undefined;
      });
      if (done) return;
    }
    throw new ApiError('CONFLICT', 'The resource was changed concurrently; retry the request');
  }

  /** Permanently removes a resource and its whole history (legal erasure). */
  async erase(partitionId: number, resourceType: string, id: string): Promise<boolean> {
    return (await this.db.transaction((tx) => eraseResource(tx, partitionId, resourceType, id))) > 0;
  }

  /** Validates, stamps and indexes `resource` as the version after `stored`, then writes it. */
  private async writeNext(tx: Tx, ctx: RequestContext, resource: Resource, id: string, stored: StoredResource | undefined, operation: 'create' | 'update'): Promise<ResourceVersion | undefined> {
    const versionId = (stored?.versionId ?? 0) + 1;
    const lastUpdated = new Date().toISOString();
    const prepared = stamp(resource, id, versionId, lastUpdated, ctx.tenantId);
    const issues = validateResource(prepared);
    if (issues.length > 0) {
      throw validationError(issues.map((issue): Issue => ({ severity: 'error', code: 'invalid', diagnostics: `${issue.path}: ${issue.message}`, expression: [issue.path] })));
    }
    const content = JSON.stringify(prepared);
    const createdAt = await writeVersion(tx, ctx.partitionId, {
      resourceType: prepared.resourceType, id, versionId, lastUpdated, deleted: false, content,
      indexVersion: INDEX_VERSION, index: indexResource(prepared), operation, keyId: ctx.keyId, requestId: ctx.requestId,
      fresh: !stored || stored.deleted,
    });
    return createdAt === undefined ? undefined : { resourceType: prepared.resourceType, id, versionId, createdAt, lastUpdated, content };
  }
}

function current(stored: StoredResource | undefined): ResourceVersion {
  if (!stored) throw new ApiError('NOT_FOUND', 'Resource not found');
  if (stored.deleted || stored.content === null) throw new ApiError('GONE', 'Resource was deleted');
  return { ...stored, content: stored.content };
}

function checkIfMatch(stored: StoredResource | undefined, options: WriteOptions): void {
  if (options.ifMatch !== undefined && stored?.versionId !== options.ifMatch) {
    throw new ApiError('CONFLICT', 'Resource version conflict: the resource has changed since the version given in If-Match');
  }
}

/**
 * Sets the server-controlled parts: id, meta.versionId, meta.lastUpdated and the tenant tag.
 * Any client-sent tenant tag is replaced, so a tenant cannot forge or remove its own, and an
 * export from one tenant can be imported into another.
 */
function stamp(resource: Resource, id: string, versionId: number, lastUpdated: string, tenantId: string): Resource {
  const { resourceType, id: _ignored, meta, ...rest } = resource;
  // Client input is untrusted until validated (after stamping): refuse shapes the tag logic cannot use.
  const untrusted = meta as unknown;
  if (untrusted !== undefined && untrusted !== null && (typeof untrusted !== 'object' || Array.isArray(untrusted))) {
    throw validationError([invalidIssue('meta', 'Expected object')]);
  }
  if (meta?.tag !== undefined && !Array.isArray(meta.tag)) throw validationError([invalidIssue('meta.tag', 'Expected array')]);
  const tags = (meta?.tag ?? []).filter((tag) => (tag as unknown as { system?: unknown } | null)?.system !== TENANT_TAG_SYSTEM);
  tags.push({ system: TENANT_TAG_SYSTEM, code: tenantId });
  return { resourceType, id, meta: { ...meta, versionId: String(versionId), lastUpdated, tag: tags }, ...rest } as Resource;
}
