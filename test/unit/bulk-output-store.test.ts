import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { createOutputStore, EMPTY_FILE, type FilePosition, type OutputStore } from '../../src/jobs/output-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * Both output stores against the checkpoint rule: a resumed job appends from the position its
 * last committed step recorded, and whatever an uncommitted step wrote is never served.
 */

let database: TestDatabase;
let dataDir: string;

before(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinik-output-'));
});
after(async () => {
  await database.drop();
  await rm(dataDir, { recursive: true, force: true });
});

for (const storage of ['database', 'local'] as const) {
  describe(`${storage} output store`, () => {
    let output: OutputStore;
    before(() => {
      output = createOutputStore(database.db, { storage, dataDir });
    });
    const file = { name: 'Patient.ndjson', resourceType: 'Patient' };
    const append = (job: { partitionId: number; id: string }, at: FilePosition, data: string, records: number) =>
      database.db.transaction((tx) => output.append(tx, job, file, at, Buffer.from(data), records));

    test('a step that never committed leaves nothing behind; the resumed step continues exactly', async () => {
      const job = { partitionId: 1, id: `job_${storage}resume` };
      const first = await append(job, EMPTY_FILE, 'a1\na2\n', 2);
      assert.deepEqual(first, { records: 2, bytes: 6, chunks: 1 });
      const second = await append(job, first, 'b1\n', 1);
      // A step that wrote a long chunk and then failed before its commit (the node died).
      await assert.rejects(database.db.transaction(async (tx) => {
        await output.append(tx, job, file, second, Buffer.from('LOST-LOST-LOST-LOST\n'), 1);
        throw new Error('crash');
      }));
      const during = await output.open(job, file.name);
      assert.equal(await text(during!.stream), 'a1\na2\nb1\n', 'uncommitted bytes are not served');
      const third = await append(job, second, 'c1\n', 1);
      assert.deepEqual(third, { records: 4, bytes: 12, chunks: 3 });
      const opened = await output.open(job, file.name);
      assert.deepEqual(opened!.file, { name: 'Patient.ndjson', resourceType: 'Patient', records: 4, bytes: 12 });
      assert.equal(await text(opened!.stream), 'a1\na2\nb1\nc1\n');
      assert.deepEqual((await output.files(job)).map((f) => f.name), ['Patient.ndjson']);
    });

    test('other jobs, unknown names and deleted output are not found', async () => {
      const job = { partitionId: 1, id: `job_${storage}delete` };
      await append(job, EMPTY_FILE, 'x\n', 1);
      assert.equal(await output.open({ partitionId: 2, id: job.id }, file.name), undefined, 'another partition');
      assert.equal(await output.open(job, 'Other.ndjson'), undefined);
      assert.equal(await output.open(job, '../../etc/passwd'), undefined);
      await output.delete(job);
      assert.equal(await output.open(job, file.name), undefined);
      assert.deepEqual(await output.files(job), []);
      if (storage === 'local') assert.deepEqual(await readdir(path.join(dataDir, 'exports', '1')).then((names) => names.includes(job.id)), false);
    });
  });
}
