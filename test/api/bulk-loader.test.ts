import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { runImport, type ImportCommand } from '../../src/cli/import.js';
import { fhirBaseUrl } from '../../src/config.js';
import { loadFiles, LoadError } from '../../src/fhir/loader/loader.js';
import { FhirRepository } from '../../src/fhir/repository.js';
import { PUBLIC_URL, startTestApp, type Tenant, type TestApp } from '../helpers/app.js';
import { indexRowTexts } from '../helpers/db.js';
import { INDEX_TABLES } from '../../src/store/resources.js';

/** The operator loader (`clinikapi import`), run through its command function against a test database. */
const SYNTHEA = new URL('../../../shared/fixtures/synthea-r4/', import.meta.url);
const SMALL_BUNDLE = 'Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json';

let t: TestApp;
let tenant: Tenant;
let dir: string;

before(async () => {
  t = await startTestApp();
  tenant = await t.createTenant();
  dir = await mkdtemp(path.join(os.tmpdir(), 'bulk-loader-'));
});
after(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

async function load(paths: string[], overrides: Partial<ImportCommand> = {}) {
  const printed: string[] = [];
  const progress = Object.assign(new PassThrough(), { isTTY: false });
  const chunks: string[] = [];
  progress.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const result = await runImport(t.database.db, { paths, tenant: tenant.tenantId, environment: 'test', publicUrl: PUBLIC_URL, workers: 1, ...overrides }, { progress, print: (line) => printed.push(line) });
  return { ...result, printed: printed.join('\n'), progress: chunks.join('') };
}

async function search(query: string, key = tenant.keys.test) {
  const response = await t.request('GET', `/v1/fhir/${query}`, { key });
  assert.equal(response.status, 200, response.body);
  return (response.json.entry ?? []).map((entry: { resource: Resource }) => entry.resource) as Resource[];
}

async function file(name: string, lines: unknown[]): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n'));
  return target;
}

describe('clinikapi import', () => {
  test('loads NDJSON with its ids, keeps text exactly, and reports bad lines by number without their content', async () => {
    const tricky = 'O\\Brien\ttab\nnew line\r "quoted" \u00e9';
    const ndjson = await file('patients.ndjson', [
      { resourceType: 'Patient', id: 'loader-p1', name: [{ family: tricky, given: ['Ann'] }], birthDate: '1970-01-02' },
      { resourceType: 'Observation', id: 'loader-o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: 'Patient/loader-p1' }, valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' } },
      '{"resourceType": "Patient", "name": [{"family": "Broken"',
      { resourceType: 'Patient', birthDate: 'SECRET-not-a-date' },
      '',
      { resourceType: 'NotAType' },
    ]);
    const { exitCode, summary, printed, progress } = await load([ndjson]);
    assert.equal(exitCode, 1);
    assert.equal(summary.created, 2);
    assert.equal(summary.rejected, 3);
    assert.deepEqual(summary.errors.map((error) => error.where), ['line 3', 'line 4', 'line 6']);
    assert.match(summary.errors[0].message, /not valid JSON/);
    assert.match(summary.errors[1].message, /birthDate/);
    assert.doesNotMatch(printed + progress, /SECRET|Broken/);
    assert.match(printed, /Loaded 2 resources \(2 created, 0 updated\) from 1 file/);
    assert.match(progress, /100%/);

    const read = await t.request('GET', '/v1/fhir/Patient/loader-p1', { key: tenant.keys.test });
    assert.equal(read.status, 200);
    assert.equal(read.json.name[0].family, tricky);
    assert.equal(read.json.meta.versionId, '1');
    assert.deepEqual((await search('Observation?subject=Patient/loader-p1&code=http://loinc.org|8867-4&value-quantity=gt70')).map((r) => r.id), ['loader-o1']);
    assert.deepEqual((await search('Patient?birthdate=1970-01-02')).map((r) => r.id), ['loader-p1']);
    // The index rows keep the control characters too (COPY's text format escapes them).
    assert.deepEqual((await search(`Patient?family:exact=${encodeURIComponent(tricky)}`)).map((r) => r.id), ['loader-p1']);
  });

  test('a Synthea transaction Bundle: urn references rewritten, searchable, in the tenant and environment only', async () => {
    const bundle = JSON.parse(await readFile(new URL(SMALL_BUNDLE, SYNTHEA), 'utf8'));
    const { exitCode, summary } = await load([new URL(SMALL_BUNDLE, SYNTHEA).pathname]);
    assert.equal(exitCode, 0);
    assert.equal(summary.created, bundle.entry.length);
    const [patient] = await search('Patient?family=Kreiger');
    assert.ok(patient, 'the patient is found by name');
    const observations = await search(`Observation?subject=Patient/${patient.id}&_count=1000`);
    assert.equal(observations.length, bundle.entry.filter((entry: { resource: Resource }) => entry.resource.resourceType === 'Observation').length);
    const encounters = await search(`Encounter?patient=${patient.id}&_count=1000`);
    assert.ok(encounters.length > 0);
    const stored = await t.database.db.pool.query("SELECT count(*)::int AS n FROM resources WHERE content LIKE '%urn:uuid:%'");
    assert.equal(stored.rows[0].n, 0, 'no stored resource keeps a urn reference');

    // Scope: the live environment and another tenant see none of it.
    assert.deepEqual(await search('Patient?family=Kreiger', tenant.keys.live!), []);
    const other = await t.createTenant();
    assert.deepEqual(await search('Patient?family=Kreiger', other.keys.test), []);
  });

  test('writes the same rows as the API path: resource, history and every index table', async () => {
    const bundle = JSON.parse(await readFile(new URL(SMALL_BUNDLE, SYNTHEA), 'utf8'));
    const text = JSON.stringify(bundle.entry.map((entry: { resource: Resource }) => entry.resource)).replace(/urn:uuid:([0-9a-f-]{36})/g, 'Patient/$1');
    const resources = (JSON.parse(text) as Resource[]).map((resource, i) => ({ ...resource, id: `same-${i}` }));
    const other = await t.createTenant();
    const { summary } = await load([await file('same.ndjson', resources)], { tenant: other.tenantId });
    assert.equal(summary.created, resources.length);

    const partitions = await t.database.db.pool.query<{ id: number; organisation_id: string }>("SELECT id, organisation_id FROM partitions WHERE environment = 'test' AND organisation_id IN ($1, $2)", [tenant.tenantId, other.tenantId]);
    const partitionOf = (org: string) => partitions.rows.find((row) => row.organisation_id === org)!.id;
    const repository = new FhirRepository(t.database.db, fhirBaseUrl(PUBLIC_URL));
    const ctx = { partitionId: partitionOf(tenant.tenantId), tenantId: tenant.tenantId, keyId: null, requestId: null };
    for (const resource of resources) await repository.update(ctx, resource, resource.id!);

    const rows = (table: string, partitionId: number) => indexRowTexts(t.database.db, table, partitionId, null, 'same-%');
    let compared = 0;
    for (const table of INDEX_TABLES) {
      const expected = await rows(table, ctx.partitionId);
      assert.deepEqual(await rows(table, partitionOf(other.tenantId)), expected, table);
      compared += expected.length;
    }
    assert.ok(compared > resources.length * 5, `compared ${compared} index rows`);
    const history = await t.database.db.pool.query<{ seqs: string[]; ops: string[] }>(
      "SELECT array_agg(seq::text ORDER BY seq) AS seqs, array_agg(DISTINCT operation) AS ops FROM resource_history WHERE partition_id = $1", [partitionOf(other.tenantId)]);
    assert.deepEqual(history.rows[0].seqs, resources.map((_, i) => String(i + 1)), 'history numbered contiguously from 1');
    assert.deepEqual(history.rows[0].ops, ['create']);
  });

  test('loading the same ids again writes new versions, never duplicates', async () => {
    const ndjson = await file('again.ndjson', [
      { resourceType: 'Patient', id: 'again-1', gender: 'female' },
      { resourceType: 'Patient', id: 'again-1', gender: 'male' },
    ]);
    const first = await load([ndjson]);
    assert.equal(first.summary.created, 1);
    assert.equal(first.summary.updated, 1);
    const second = await load([ndjson]);
    assert.equal(second.summary.updated, 2);
    const read = await t.request('GET', '/v1/fhir/Patient/again-1', { key: tenant.keys.test });
    assert.equal(read.json.meta.versionId, '4');
    assert.equal(read.json.gender, 'male');
    assert.deepEqual((await search('Patient?_id=again-1&gender=male')).map((r) => r.id), ['again-1']);
    assert.deepEqual(await search('Patient?_id=again-1&gender=female'), [], 'the old version left no index rows');
  });

  test('ids repeated across concurrently written batches end as the last line, one version per line', async () => {
    const ids = ['order-a', 'order-b', 'order-c'];
    const lines = Array.from({ length: 30 }, (_, i) => ({ resourceType: 'Patient', id: ids[i % ids.length], name: [{ family: `Line${i + 1}` }] }));
    const partitionId = (await t.database.db.pool.query("SELECT id FROM partitions WHERE organisation_id = $1 AND environment = 'test'", [tenant.tenantId])).rows[0].id as number;
    const ctx = { partitionId, tenantId: tenant.tenantId, keyId: null, requestId: null, fhirBase: fhirBaseUrl(PUBLIC_URL) };
    // Batches of 2 resources, 3 written at once: without ordering, a later line could commit first.
    const summary = await loadFiles(t.database.db, { paths: [await file('order.ndjson', lines)], ctx, workers: 1, writers: 3, batchSize: 2 });
    assert.equal(summary.created + summary.updated, 30);
    for (const [k, id] of ids.entries()) {
      const read = await t.request('GET', `/v1/fhir/Patient/${id}`, { key: tenant.keys.test });
      assert.equal(read.json.meta.versionId, '10');
      assert.equal(read.json.name[0].family, `Line${28 + k}`);
    }
  });

  test('a transaction Bundle with one bad entry loads nothing of it; a batch Bundle loads the rest', async () => {
    const entry = (resource: Record<string, unknown>, fullUrl: string) => ({ fullUrl, resource, request: { method: 'POST', url: resource.resourceType } });
    const entries = [
      entry({ resourceType: 'Patient', name: [{ family: 'Bundled' }] }, 'urn:uuid:00000000-0000-4000-8000-000000000001'),
      entry({ resourceType: 'Observation', status: 'bogus', code: { text: 'x' }, subject: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000001' } }, 'urn:uuid:00000000-0000-4000-8000-000000000002'),
    ];
    const transaction = await file('transaction.json', []);
    await writeFile(transaction, JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }));
    const batch = path.join(dir, 'batch.json');
    await writeFile(batch, JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: entries }));

    const failed = await load([transaction]);
    assert.equal(failed.summary.created, 0);
    assert.deepEqual(failed.summary.errors.map((error) => error.where), ['Bundle.entry[1]']);
    assert.match(failed.summary.errors[0].message, /status/);
    assert.deepEqual(await search('Patient?family=Bundled'), []);

    const partial = await load([batch]);
    assert.equal(partial.summary.created, 1);
    assert.equal(partial.summary.rejected, 1);
    assert.equal((await search('Patient?family=Bundled')).length, 1);
  });

  test('bad commands fail clearly and write nothing', async () => {
    await assert.rejects(load([path.join(dir, 'missing.ndjson')]), (error: Error) => error instanceof LoadError && /No such file/.test(error.message));
    const text = path.join(dir, 'notes.txt');
    await writeFile(text, 'hello');
    await assert.rejects(load([text]), /Not an \.ndjson or \.json file/);
    await assert.rejects(load([dir], { tenant: 'org_nobody' }), /No tenant org_nobody/);
    await assert.rejects(load([dir], { environment: 'staging' }), /--env must be test or live/);
    const notBundle = path.join(dir, 'sub', 'index.json');
    await mkdir(path.dirname(notBundle), { recursive: true });
    await writeFile(notBundle, JSON.stringify({ bundles: [] }));
    const result = await load([path.dirname(notBundle)]);
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.summary.errors.map((error) => `${error.file} ${error.where}: ${error.message}`), ['index.json file: The body must be a Bundle']);
  });
});
