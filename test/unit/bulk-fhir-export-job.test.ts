import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { fhirExportHandler } from '../../src/jobs/fhir-export.js';
import { createOutputStore } from '../../src/jobs/output-store.js';
import type { Job, JobContext } from '../../src/jobs/runner.js';
import { parseKickOff, type KickOff } from '../../src/fhir/operations/bulk-export-params.js';
import { FhirRepository } from '../../src/fhir/repository.js';
import { scanPage, SCAN_START, selectionPlans, type TypeSelection } from '../../src/fhir/search/export-scan.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * The export scan (src/fhir/search/export-scan.ts) page by page, with pages of one and two rows so
 * that every page boundary is crossed: _typeFilter queries ORed without duplicates, compartments
 * of some or all patients, the [_since, transactionTime) window, and partition scope. The job
 * (src/jobs/fhir-export.ts) interrupted after every step, and with steps that fail before they
 * commit, on both output stores: each resource ends up exactly once. Plus the kick-off parameter
 * rules that a URL cannot show (comma-separated _typeFilter values).
 */

const BASE = 'https://api.test.example';
let database: TestDatabase;
let until: string;

const ctx = (partitionId: number) => ({ partitionId, tenantId: `org_${partitionId}`, keyId: null, requestId: null });
const observation = (id: string, patient: string, code: string): Resource =>
  ({ resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, subject: { reference: `Patient/${patient}` } }) as Resource;

before(async () => {
  database = await createTestDatabase();
  const repository = new FhirRepository(database.db, `${BASE}/v1/fhir`);
  for (const id of ['pa', 'pb', 'pc']) await repository.update(ctx(1), { resourceType: 'Patient', id } as Resource, id);
  for (const [id, patient, code] of [['o1', 'pa', 'x'], ['o2', 'pa', 'y'], ['o3', 'pb', 'x'], ['o4', 'pc', 'y'], ['o5', 'pc', 'x']]) {
    await repository.update(ctx(1), observation(id, patient, code), id);
  }
  await repository.update(ctx(2), observation('o1', 'pa', 'x'), 'o1');
  until = new Date(Date.now() + 1000).toISOString();
});
after(() => database.drop());

/** Every id the scan yields, page by page, checking that no page is larger than asked. */
async function scanAll(selection: TypeSelection, pageSize: number, partitionId = 1): Promise<string[]> {
  const plans = selectionPlans(selection, BASE);
  const seen: string[] = [];
  for (let position: typeof SCAN_START | null = SCAN_START, pages = 0; position; pages++) {
    assert.ok(pages < 50, 'the scan ends');
    const page = await database.db.read((tx) => scanPage(tx, partitionId, plans, position!, pageSize));
    assert.ok(page.rows.length <= pageSize);
    seen.push(...page.rows.map((row) => row.id));
    position = page.next;
  }
  return seen;
}

describe('export scan', () => {
  it('pages through a type in id order, within its partition', async () => {
    for (const size of [1, 2, 1000]) assert.deepEqual(await scanAll({ resourceType: 'Observation', queries: [], until }, size), ['o1', 'o2', 'o3', 'o4', 'o5']);
    assert.deepEqual(await scanAll({ resourceType: 'Observation', queries: [], until }, 2, 2), ['o1']);
  });

  it('ORs _typeFilter queries and exports a resource matching several of them once', async () => {
    const selection = { resourceType: 'Observation', queries: ['code=x', 'subject=Patient/pc', 'code=y&subject=Patient/pa'], until };
    for (const size of [1, 2]) assert.deepEqual((await scanAll(selection, size)).sort(), ['o1', 'o2', 'o3', 'o4', 'o5']);
    assert.deepEqual((await scanAll({ ...selection, queries: ['subject=Patient/pc', 'code=x'] }, 1)).sort(), ['o1', 'o3', 'o4', 'o5']);
  });

  it('restricts to the Patient compartments of some or all patients', async () => {
    assert.deepEqual(await scanAll({ resourceType: 'Observation', queries: [], patients: ['pa', 'pc'], until }, 1), ['o1', 'o2', 'o4', 'o5']);
    assert.deepEqual(await scanAll({ resourceType: 'Observation', queries: ['code=x'], patients: ['pa', 'pc'], until }, 1), ['o1', 'o5']);
    assert.deepEqual(await scanAll({ resourceType: 'Observation', queries: [], patients: null, until }, 2), ['o1', 'o2', 'o3', 'o4', 'o5']);
    assert.deepEqual(await scanAll({ resourceType: 'Patient', queries: [], patients: ['pb'], until }, 2), ['pb']);
    assert.deepEqual(await scanAll({ resourceType: 'Observation', queries: [], patients: [], until }, 2), []);
  });

  it('keeps to [since, until)', async () => {
    assert.deepEqual(await scanAll({ resourceType: 'Patient', queries: [], until: '2000-01-01T00:00:00.000Z' }, 2), []);
    assert.deepEqual(await scanAll({ resourceType: 'Patient', queries: [], since: until, until: '2999-01-01T00:00:00.000Z' }, 2), []);
    assert.deepEqual(await scanAll({ resourceType: 'Patient', queries: [], since: '2000-01-01T00:00:00Z', until }, 2), ['pa', 'pb', 'pc']);
  });
});

describe('kick-off parameters', () => {
  const kickOff = (query: Record<string, string | string[]>, extra: Partial<KickOff> = {}) =>
    parseKickOff({ level: 'system', query, requestUrl: `${BASE}/v1/fhir/$export`, baseUrl: BASE, lenient: false, ...extra });

  it('splits comma-separated _typeFilter values at each ResourceType? and keeps commas inside a query', () => {
    const request = kickOff({ _type: 'Observation,Patient', _typeFilter: 'Observation?code=a,b,Patient?gender=female' });
    assert.deepEqual(request.typeFilters, { Observation: ['code=a,b'], Patient: ['gender=female'] });
  });

  it('drops filters of types not exported, and defaults the types to the level', () => {
    assert.deepEqual(kickOff({ _type: 'Patient', _typeFilter: 'Observation?code=a' }).typeFilters, {});
    const patientLevel = kickOff({}, { level: 'patient' });
    assert.ok(patientLevel.types.includes('Observation') && patientLevel.types.includes('Patient'));
    assert.ok(!patientLevel.types.includes('Practitioner'));
    assert.ok(kickOff({}).types.includes('Practitioner'));
  });

  it('reads a POST Parameters body, with patient references at the Patient level only', () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/pb' } }, { name: 'patient', valueReference: { reference: `${BASE}/v1/fhir/Patient/pa` } }] };
    assert.deepEqual(kickOff({}, { level: 'patient', body }).patients, ['pa', 'pb']);
    assert.throws(() => kickOff({}, { body }), /Patient and Group level/);
    assert.throws(() => kickOff({}, { level: 'patient', body: { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Practitioner/x' } }] } }), /reference a Patient/);
  });

  it('ignores unsupported parameters only under Prefer: handling=lenient', () => {
    assert.throws(() => kickOff({ _elements: 'id' }), /Unsupported \$export parameter/);
    assert.deepEqual(kickOff({ _elements: 'id', _type: 'Patient' }, { lenient: true }).types, ['Patient']);
  });
});

describe('export job checkpoints', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinik-export-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  class Crash extends Error {}

  /**
   * Runs the job to completion as a runner would across crashes: each attempt starts from the
   * last committed checkpoint and dies after `stepsPerAttempt` steps; every `failEvery`-th step
   * does its work (output appended) and then fails before committing.
   */
  async function runWithCrashes(storage: 'database' | 'local', jobId: string, stepsPerAttempt: number, failEvery: number): Promise<Map<string, string>> {
    const output = createOutputStore(database.db, { storage, dataDir });
    const handler = fhirExportHandler({ publicUrl: BASE, pageSize: 2 });
    const request = parseKickOff({ level: 'patient', query: { _type: 'Patient,Observation' }, requestUrl: 'x', baseUrl: BASE, lenient: false });
    const job = { partitionId: 1, id: jobId, request, checkpoint: null, createdAt: until } as unknown as Job;
    let steps = 0;
    for (let attempt = 0, finished = false; !finished; attempt++) {
      assert.ok(attempt < 100, 'the job ends');
      let inAttempt = 0;
      const ctx = {
        db: database.db,
        output,
        signal: new AbortController().signal,
        step: async (work) => {
          if (inAttempt++ === stepsPerAttempt) throw new Crash();
          await database.db.transaction(async (tx) => {
            const result = await work(tx);
            if (++steps % failEvery === 0) throw new Crash();
            job.checkpoint = result.checkpoint;
          });
        },
      } as JobContext;
      try {
        await handler.run({ ...job }, ctx);
        finished = true;
      } catch (error) {
        if (!(error instanceof Crash)) throw error;
      }
    }
    const files = new Map<string, string>();
    for (const file of await output.files(job)) files.set(file.resourceType!, await text((await output.open(job, file.name))!.stream));
    return files;
  }

  for (const storage of ['database', 'local'] as const) {
    it(`resumes from its last committed step without losing or repeating a resource (${storage} output)`, async () => {
      const files = await runWithCrashes(storage, `job_resume${storage}`, 1, 3);
      const lines = (type: string) => files.get(type)!.trimEnd().split('\n').map((line) => (JSON.parse(line) as { id: string }).id);
      assert.deepEqual(lines('Patient'), ['pa', 'pb', 'pc']);
      assert.deepEqual(lines('Observation'), ['o1', 'o2', 'o3', 'o4', 'o5']);
    });
  }
});
