import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { ApiError } from '../../src/errors.js';
import { FhirRepository, type RequestContext } from '../../src/fhir/repository.js';
import { uuidv7 } from '../../src/ids.js';
import { PUBLIC_URL, startTestApp, type Tenant, type TestApp } from '../helpers/app.js';
import { fhirBaseUrl } from '../../src/config.js';
import { indexRowTexts } from '../helpers/db.js';
import { INDEX_TABLES } from '../../src/store/resources.js';

/** The repository's batch write path, checked against the single-write path in the tables themselves. */
const SYNTHEA = new URL('../../../shared/fixtures/synthea-r4/', import.meta.url);

let t: TestApp;
let repository: FhirRepository;
let ctx: RequestContext;
let other: RequestContext;

async function contextOf(tenant: Tenant): Promise<RequestContext> {
  const { rows } = await t.database.db.pool.query<{ id: number }>("SELECT id FROM partitions WHERE organisation_id = $1 AND environment = 'test'", [tenant.tenantId]);
  return { partitionId: rows[0].id, tenantId: tenant.tenantId, keyId: null, requestId: null };
}

/** A small Synthea bundle's resources, with every urn reference pointing at fixed ids. */
async function syntheaResources(): Promise<Resource[]> {
  const bundle = JSON.parse(await readFile(new URL('Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json', SYNTHEA), 'utf8'));
  const text = JSON.stringify(bundle.entry.map((entry: { resource: Resource }) => entry.resource)).replace(/urn:uuid:([0-9a-f-]{36})/g, 'Patient/$1');
  return JSON.parse(text) as Resource[];
}

before(async () => {
  t = await startTestApp();
  repository = new FhirRepository(t.database.db, fhirBaseUrl(PUBLIC_URL));
  ctx = await contextOf(await t.createTenant());
  other = await contextOf(await t.createTenant());
});
after(() => t.close());

const indexRows = (table: string, resourceType: string, id: string) => indexRowTexts(t.database.db, table, ctx.partitionId, resourceType, id, ['resource_id']);

describe('FhirRepository.writeBatch', () => {
  test('writes the same index rows as single writes, for every resource of a Synthea bundle', async () => {
    const resources = await syntheaResources();
    const singleIds: string[] = [];
    for (const resource of resources) {
      const id = uuidv7();
      await repository.update(ctx, resource, id);
      singleIds.push(id);
    }
    const written = await repository.writeBatch(ctx, resources.map((resource) => ({ method: 'create' as const, resource, id: uuidv7() })));
    assert.equal(written.length, resources.length);
    let compared = 0;
    for (const [i, resource] of resources.entries()) {
      assert.equal(written[i].outcome, 'created');
      assert.equal(written[i].versionId, 1);
      for (const table of INDEX_TABLES) {
        const single = await indexRows(table, resource.resourceType, singleIds[i]);
        assert.deepEqual(await indexRows(table, resource.resourceType, written[i].id), single, `${table} rows of ${resource.resourceType} #${i}`);
        compared += single.length;
      }
    }
    assert.ok(compared > resources.length * 5, `compared ${compared} rows`);
  });

  test('stamps the tenant tag and meta, updates by id, deletes, and numbers the history contiguously', async () => {
    const patientId = uuidv7();
    const [created] = await repository.writeBatch(ctx, [{ method: 'update', id: patientId, resource: { resourceType: 'Patient', gender: 'male', meta: { tag: [{ system: 'https://clinikapi.com/tenant', code: 'forged' }] } } }]);
    assert.equal(created.outcome, 'created');
    const stored = JSON.parse((await repository.read(ctx, 'Patient', patientId)).content);
    assert.deepEqual(stored.meta.tag, [{ system: 'https://clinikapi.com/tenant', code: ctx.tenantId }]);
    assert.equal(stored.meta.versionId, '1');

    const doomed = uuidv7();
    await repository.update(ctx, { resourceType: 'Patient' }, doomed);
    const before = await t.database.db.pool.query<{ last_seq: string }>('SELECT last_seq FROM history_counters WHERE partition_id = $1', [ctx.partitionId]);
    const written = await repository.writeBatch(ctx, [
      { method: 'update', id: patientId, resource: { resourceType: 'Patient', gender: 'female' }, ifMatch: 1 },
      { method: 'delete', resourceType: 'Patient', id: doomed },
      { method: 'create', id: uuidv7(), resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patientId}` } } },
    ]);
    assert.deepEqual(written.map((w) => [w.outcome, w.versionId]), [['updated', 2], ['deleted', 2], ['created', 1]]);
    assert.equal(JSON.parse((await repository.read(ctx, 'Patient', patientId)).content).gender, 'female');
    await assert.rejects(repository.read(ctx, 'Patient', doomed), (error: ApiError) => error.status === 410);
    assert.deepEqual(await indexRows('search_token', 'Patient', doomed), [], 'a deleted resource keeps no index rows');
    const history = await t.database.db.pool.query<{ seq: string }>('SELECT seq FROM resource_history WHERE partition_id = $1 AND seq > $2 ORDER BY seq', [ctx.partitionId, before.rows[0].last_seq]);
    const first = Number(before.rows[0].last_seq);
    assert.deepEqual(history.rows.map((row) => Number(row.seq)), [first + 1, first + 2, first + 3]);
  });

  test('is all or nothing: one invalid resource writes nothing and names its index', async () => {
    const count = async () => Number((await t.database.db.pool.query('SELECT count(*) FROM resources WHERE partition_id = $1', [ctx.partitionId])).rows[0].count);
    const before = await count();
    await assert.rejects(
      repository.writeBatch(ctx, [
        { method: 'create', id: uuidv7(), resource: { resourceType: 'Patient' } },
        { method: 'create', id: uuidv7(), resource: { resourceType: 'Observation', status: 'not-a-status', code: { text: 'x' } } as unknown as Resource },
      ]),
      (error: ApiError) => error.status === 422 && /^\[1\]/.test(error.message) && error.issues.every((issue) => issue.diagnostics.startsWith('[1]: ')),
    );
    const existing = uuidv7();
    await repository.update(ctx, { resourceType: 'Patient' }, existing);
    await assert.rejects(
      repository.writeBatch(ctx, [
        { method: 'create', id: uuidv7(), resource: { resourceType: 'Patient' } },
        { method: 'update', id: existing, resource: { resourceType: 'Patient', gender: 'male' }, ifMatch: 7 },
      ], { label: (i) => `entry ${i}` }),
      (error: ApiError) => error.status === 409 && error.message.startsWith('entry 1: '),
    );
    await assert.rejects(
      repository.writeBatch(ctx, [{ method: 'create', id: existing, resource: { resourceType: 'Patient' } }]),
      (error: ApiError) => error.status === 409,
      'a create cannot overwrite an existing id',
    );
    await assert.rejects(
      repository.writeBatch(ctx, [{ method: 'update', id: 'same', resource: { resourceType: 'Patient' } }, { method: 'delete', resourceType: 'Patient', id: 'same' }]),
      (error: ApiError) => error.status === 400 && /\[1\].*\[0\]/.test(error.message),
    );
    assert.equal(await count(), before + 1, 'only the single update outside the batches was written');
  });

  test('is tenant scoped', async () => {
    const id = uuidv7();
    await repository.writeBatch(ctx, [{ method: 'create', id, resource: { resourceType: 'Patient', gender: 'other' } }]);
    await assert.rejects(repository.read(other, 'Patient', id), (error: ApiError) => error.status === 404);
    const [written] = await repository.writeBatch(other, [{ method: 'update', id, resource: { resourceType: 'Patient', gender: 'male' } }]);
    assert.equal(written.outcome, 'created', 'the same id in another tenant is another resource');
    assert.equal(JSON.parse((await repository.read(ctx, 'Patient', id)).content).gender, 'other');
    const { rows } = await t.database.db.pool.query('SELECT DISTINCT partition_id FROM search_token WHERE resource_id = $1 ORDER BY 1', [id]);
    assert.deepEqual(rows.map((row) => row.partition_id), [ctx.partitionId, other.partitionId].sort((a, b) => a - b));
  });
});
