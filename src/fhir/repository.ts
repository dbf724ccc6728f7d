import type { Resource } from '@medplum/fhirtypes';
import { ApiError, invalidIssue, validationError, type Issue } from '../errors.js';
import { uuidv7 } from '../ids.js';
import type { Database, Tx } from '../store/database.js';
import { readResourcesForUpdate, writeVersions } from '../store/batch-write.js';
import { emptyIndexRows } from '../store/index-rows.js';
import { eraseResource, readResource, writeVersion, type StoredResource, type VersionToWrite } from '../store/resources.js';
import { indexResource, INDEX_VERSION } from './indexing/index.js';
import { validateResource } from './validate.js';

import { TENANT_TAG_SYSTEM } from './tenant-tag.js';

export { TENANT_TAG_SYSTEM };

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

/**
 * One write of a batch. A `create` id is assigned by the caller (fresh, so that references to
 * the new resource can be written before it is stored); `update` creates or replaces by id.
 */
export type BatchWrite =
  | { method: 'create'; resource: Resource; id: string }
  | { method: 'update'; resource: Resource; id: string; ifMatch?: number }
  | { method: 'delete'; resourceType: string; id: string; ifMatch?: number };

/** What a batch wrote for one entry; `content` is null for a delete. */
export interface BatchWritten {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  content: string | null;
  outcome: 'created' | 'updated' | 'deleted';
}

export interface BatchOptions {
  /** How errors name the offending write, e.g. `Bundle.entry[3]`; default `[index]`. */
  label?: (index: number) => string;
  /**
   * When given, a write that fails validation is skipped and reported here instead of failing
   * the batch (bulk import reports it as that record's error); the others are still written.
   */
  rejected?: (index: number, error: ApiError) => void;
}

/** Writes retried after losing a compare-and-swap race before giving up with 409. */
const MAX_WRITE_ATTEMPTS = 5;

/**
 * The FHIR repository: validate → tag → index → store, each write one atomic store call.
 * Reads return the stored text untouched. Tenant scope comes from the context's partition.
 */
export class FhirRepository {
  /** `fhirBase`: this server's FHIR base URL ({publicUrl}/v1/fhir), for indexing absolute references. */
  constructor(private readonly db: Database, private readonly fhirBase: string) {}

  /** The current version; NOT_FOUND when absent, GONE when deleted. */
  async read(ctx: RequestContext, resourceType: string, id: string): Promise<ResourceVersion> {
    const stored = await this.db.read((tx) => readResource(tx, ctx.partitionId, resourceType, id));
    return current(stored);
  }

  async create(ctx: RequestContext, resource: Resource): Promise<ResourceVersion> {
    const id = uuidv7();
    const version = await this.db.read((tx) => this.writeNext(tx, ctx, resource, id, undefined, 'create'));
    if (!version) throw new ApiError('CONFLICT', 'Resource id collision; retry the request');
    await this.committed(1);
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
      if (result) {
        await this.committed(1);
        return result;
      }
    }
    throw new ApiError('CONFLICT', 'The resource was changed concurrently; retry the request');
  }

  /**
   * Read-modify-write under a row lock, so concurrent modifications of one resource serialise
   * and none is lost. `change` receives the current resource and returns the next one.
   */
  async modify(ctx: RequestContext, resourceType: string, id: string, change: (current: Resource) => Resource, options: WriteOptions = {}): Promise<ResourceVersion> {
    const version = await this.db.transaction(async (tx) => {
      const stored = await readResource(tx, ctx.partitionId, resourceType, id, { forUpdate: true });
      const existing = current(stored);
      checkIfMatch(stored, options);
      const next = change(JSON.parse(existing.content) as Resource);
      if (next.resourceType !== resourceType) {
        throw validationError([{ severity: 'error', code: 'invalid', diagnostics: 'resourceType: cannot be changed', expression: ['resourceType'] }]);
      }
      const written = await this.writeNext(tx, ctx, next, id, stored, 'update');
      if (!written) throw new ApiError('CONFLICT', 'The resource was changed concurrently; retry the request');
      return written;
    });
    await this.committed(1);
    return version;
  }

  /** Writes a tombstone version; NOT_FOUND when absent or already deleted. */
  async delete(ctx: RequestContext, resourceType: string, id: string, options: WriteOptions = {}): Promise<void> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const done = await this.db.read(async (tx) => {
        const stored = await readResource(tx, ctx.partitionId, resourceType, id);
        if (!stored || stored.deleted) throw new ApiError('NOT_FOUND', 'Resource not found');
        checkIfMatch(stored, options);
        const createdAt = await writeVersion(tx, ctx.partitionId, tombstone(ctx, resourceType, id, stored, new Date().toISOString()));
        return createdAt !== undefined;
      });
      if (done) return this.committed(1);
    }
    throw new ApiError('CONFLICT', 'The resource was changed concurrently; retry the request');
  }

  /**
   * Writes many resources in one transaction with a fixed number of statements: all or nothing.
   * Each write is validated, stamped and indexed exactly as a single write is; an error names the
   * write through `options.label`. History sequence numbers are allocated once for the batch.
   */
  async writeBatch(ctx: RequestContext, writes: BatchWrite[], options: BatchOptions = {}): Promise<BatchWritten[]> {
    const written = await this.db.transaction((tx) => this.writeBatchIn(tx, ctx, writes, options));
    await this.committed(written.length);
    return written;
  }

  /**
   * writeBatch inside the caller's transaction, so that other writes (a bulk job's checkpoint)
   * commit or roll back with the batch. The caller reports them with `committed` once they have.
   */
  async writeBatchIn(tx: Tx, ctx: RequestContext, writes: BatchWrite[], options: BatchOptions = {}): Promise<BatchWritten[]> {
    const label = options.label ?? ((index: number) => `[${index}]`);
    const keys = writes.map(keyOf);
    const firstIndex = new Map<string, number>();
    keys.forEach((key, index) => {
      const first = firstIndex.get(key);
      if (first !== undefined) throw new ApiError('INVALID_REQUEST', `${label(index)} writes the same resource as ${label(first)}`);
      firstIndex.set(key, index);
    });
    const existing = await readResourcesForUpdate(tx, ctx.partitionId, writes.filter((write) => write.method !== 'create').map((write) => ({ resourceType: typeOf(write), id: write.id })));
    const stored = new Map(existing.map((row) => [`${row.resourceType}/${row.id}`, row]));
    const lastUpdated = new Date().toISOString();
    const planned = writes.flatMap((write, index) => {
      try {
        return [planBatchWrite(ctx, write, stored.get(keys[index]), lastUpdated, this.fhirBase)];
      } catch (error) {
        if (options.rejected && error instanceof ApiError && error.code === 'VALIDATION_ERROR') {
          options.rejected(index, error);
          return [];
        }
        throw located(error, label(index));
      }
    });
    const written = await writeVersions(tx, ctx.partitionId, planned.map((plan) => plan.version));
    if (!written) throw new ApiError('CONFLICT', 'A resource of the batch was changed concurrently; retry the request');
    return planned.map(({ version, outcome }) => ({
      resourceType: version.resourceType, id: version.id, versionId: version.versionId, lastUpdated: version.lastUpdated, content: version.content, outcome,
    }));
  }

  /** Counts committed writes towards the next refresh of the planner statistics (src/store/statistics.ts). */
  committed(count: number): Promise<void> {
    return this.db.statistics.noteWritten(count);
  }

  /** Permanently removes a resource and its whole history (legal erasure). */
  async erase(partitionId: number, resourceType: string, id: string): Promise<boolean> {
    return (await this.db.transaction((tx) => eraseResource(tx, partitionId, resourceType, id))) > 0;
  }

  /** Validates, stamps and indexes `resource` as the version after `stored`, then writes it. */
  private async writeNext(tx: Tx, ctx: RequestContext, resource: Resource, id: string, stored: StoredResource | undefined, operation: 'create' | 'update'): Promise<ResourceVersion | undefined> {
    const version = nextVersion(ctx, resource, id, stored, operation, new Date().toISOString(), this.fhirBase);
    const createdAt = await writeVersion(tx, ctx.partitionId, version);
    const { resourceType, versionId, lastUpdated } = version;
    return createdAt === undefined ? undefined : { resourceType, id, versionId, createdAt, lastUpdated, content: version.content! };
  }
}

/**
 * Validates, stamps and indexes `resource` as the version after `stored`: what the store writes.
 * Exported for the bulk loader, which prepares versions in worker threads with these same rules.
 */
export function nextVersion(
  ctx: RequestContext, resource: Resource, id: string, stored: StoredResource | undefined, operation: 'create' | 'update', lastUpdated: string, fhirBase: string,
): VersionToWrite {
  const versionId = (stored?.versionId ?? 0) + 1;
  const prepared = stamp(resource, id, versionId, lastUpdated, ctx.tenantId);
  const issues = validateResource(prepared);
  if (issues.length > 0) {
    throw validationError(issues.map((issue): Issue => ({ severity: 'error', code: 'invalid', diagnostics: `${issue.path}: ${issue.message}`, expression: [issue.path] })));
  }
  return {
    resourceType: prepared.resourceType, id, versionId, lastUpdated, deleted: false, content: JSON.stringify(prepared),
    indexVersion: INDEX_VERSION, index: indexResource(prepared, fhirBase), operation, keyId: ctx.keyId, requestId: ctx.requestId,
    fresh: !stored || stored.deleted,
  };
}

function tombstone(ctx: RequestContext, resourceType: string, id: string, stored: StoredResource, lastUpdated: string): VersionToWrite {
  return {
    resourceType, id, versionId: stored.versionId + 1, lastUpdated, deleted: true, content: null,
    indexVersion: INDEX_VERSION, index: emptyIndexRows(), operation: 'delete', keyId: ctx.keyId, requestId: ctx.requestId, fresh: false,
  };
}

function typeOf(write: BatchWrite): string {
  return write.method === 'delete' ? write.resourceType : write.resource.resourceType;
}

function keyOf(write: BatchWrite): string {
  return `${typeOf(write)}/${write.id}`;
}

function planBatchWrite(ctx: RequestContext, write: BatchWrite, stored: StoredResource | undefined, lastUpdated: string, fhirBase: string): { version: VersionToWrite; outcome: BatchWritten['outcome'] } {
  if (write.method === 'delete') {
    if (!stored || stored.deleted) throw new ApiError('NOT_FOUND', 'Resource not found');
    checkIfMatch(stored, write);
    return { version: tombstone(ctx, write.resourceType, write.id, stored, lastUpdated), outcome: 'deleted' };
  }
  if (write.method === 'update') checkIfMatch(stored, write);
  const created = !stored || stored.deleted;
  return { version: nextVersion(ctx, write.resource, write.id, stored, created ? 'create' : 'update', lastUpdated, fhirBase), outcome: created ? 'created' : 'updated' };
}

/** The same error, naming the batch entry it came from. */
function located(error: unknown, label: string): unknown {
  if (!(error instanceof ApiError)) return error;
  const issues = error.issues.map((issue): Issue => ({ ...issue, diagnostics: `${label}: ${issue.diagnostics}`, expression: issue.expression?.map((path) => `${label}.${path}`) }));
  return new ApiError(error.code, `${label}: ${error.message}`, issues, error.headers);
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
