import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { createOutputStore, EMPTY_FILE, type FilePosition, type OutputStore } from '../../src/jobs/output-store.js';
import { writeScanChunks } from '../../src/store/job-files.js';
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
      database.db.transaction((tx) => output.append(tx, job, file, at, data, records));

    test('a step that never committed leaves nothing behind; the resumed step continues exactly', async () => {
      const job = { partitionId: 1, id: `job_${storage}resume` };
      const first = await append(job, EMPTY_FILE, 'a1\na2\n', 2);
      assert.deepEqual(first, { records: 2, bytes: 6, chunks: 1 });
      const second = await append(job, first, 'b1\n', 1);
      // A step that wrote a long chunk and then failed before its commit (the node died).
      await assert.rejects(database.db.transaction(async (tx) => {
        await output.append(tx, job, file, second, 'LOST-LOST-LOST-LOST\n', 1);
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

    test('a scan batch is appended in id order, one chunk per batch, from the checkpoint on', async () => {
      // Resources of partition 9 (deleted ones and other types must not appear), written directly.
      const partitionId = 9;
      await database.db.pool.query(
        `INSERT INTO resources (partition_id, resource_type, id, version_id, created_at, last_updated, deleted, index_version, content)
         SELECT $1, t, 'r' || lpad(i::text, 2, '0'), 1, now(), now(), i = 3, 1, '{"id":"r' || lpad(i::text, 2, '0') || '","é":"' || t || '"}'
         FROM generate_series(1, 5) i, unnest(ARRAY['Patient', 'Observation']) t ON CONFLICT DO NOTHING`,
        [partitionId],
      );
      const job = { partitionId: 1, id: `job_${storage}scan` };
      const scan = (afterId: string | null) => ({ partitionId, resourceType: 'Patient', afterId, since: null, limit: 2 });
      const step = (at: FilePosition, afterId: string | null) => database.db.transaction((tx) => output.appendScan(tx, job, file, at, scan(afterId)));
      const first = await step(EMPTY_FILE, null);
      const lineBytes = Buffer.byteLength('{"id":"r01","é":"Patient"}\n'); // é is two bytes
      assert.deepEqual(first, { position: { records: 2, bytes: 2 * lineBytes, chunks: 1 }, records: 2, lastId: 'r02' });
      const second = await step(first.position, first.lastId);
      assert.equal(second.lastId, 'r05', 'r03 is deleted');
      const end = await step(second.position, second.lastId);
      assert.deepEqual(end, { position: second.position, records: 0, lastId: null });
      const opened = await output.open(job, file.name);
      const lines = (await text(opened!.stream)).split('\n');
      assert.deepEqual(lines, ['{"id":"r01","é":"Patient"}', '{"id":"r02","é":"Patient"}', '{"id":"r04","é":"Patient"}', '{"id":"r05","é":"Patient"}', '']);
      assert.equal(opened!.file.bytes, Buffer.byteLength(lines.join('\n')), 'bytes, not characters');
      if (storage === 'database') {
        // A batch larger than a chunk is split in order, continuing the file's sequence: a chunk
        // ends where a line starts at or past its size, and a line is never split.
        const split = { partitionId: 1, id: 'job_scansplit' };
        const written = await database.db.transaction((tx) => writeScanChunks(tx, split, file.name, 3, scan(null), lineBytes));
        assert.deepEqual({ records: written.records, chunks: written.chunks, lastId: written.lastId }, { records: 2, chunks: 2, lastId: 'r02' });
        const { rows } = await database.db.pool.query("SELECT seq, data FROM bulk_job_chunks WHERE job_id = 'job_scansplit' ORDER BY seq");
        assert.deepEqual(rows, [{ seq: 3, data: '{"id":"r01","é":"Patient"}\n' }, { seq: 4, data: '{"id":"r02","é":"Patient"}\n' }]);
        assert.equal(written.bytes, 2 * lineBytes);
        const joined = { partitionId: 1, id: 'job_scanjoined' };
        const one = await database.db.transaction((tx) => writeScanChunks(tx, joined, file.name, 0, scan(null), lineBytes + 1));
        assert.deepEqual({ records: one.records, chunks: one.chunks, bytes: one.bytes }, { records: 2, chunks: 1, bytes: 2 * lineBytes });
      }
    });

    test('a file of many chunks downloads byte for byte, across reads, whatever its characters', async () => {
      // More chunks than one read takes (32), with multi-byte UTF-8, escapes and an empty chunk.
      const job = { partitionId: 1, id: `job_${storage}many` };
      const pieces = Array.from({ length: 75 }, (_, n) => (n === 40 ? '' : `{"n":${n},"text":"é日本🩺 \\ \\t ${'x'.repeat(n * 37)}"}\n`));
      let at = EMPTY_FILE;
      for (const piece of pieces) at = await append(job, at, piece, piece === '' ? 0 : 1);
      const opened = await output.open(job, file.name);
      const bytes = Buffer.concat(await opened!.stream.toArray());
      assert.equal(bytes.toString('utf8'), pieces.join(''));
      assert.equal(bytes.length, opened!.file.bytes);
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
