import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryColumn } from '../../src/store/copy.js';

/** PostgreSQL's binary COPY framing, built by hand: header, tuples of one field, trailer. */
function stream(values: Buffer[], extension = Buffer.alloc(0)): Buffer {
  const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(4), Buffer.alloc(4)]);
  header.writeUInt32BE(extension.length, 15);
  const tuples = values.map((value) => {
    const framing = Buffer.alloc(6);
    framing.writeInt16BE(1, 0);
    framing.writeInt32BE(value.length, 2);
    return Buffer.concat([framing, value]);
  });
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  return Buffer.concat([header, extension, ...tuples, trailer]);
}

test('binaryColumn returns each tuple value as bytes, skipping a header extension', () => {
  const values = [Buffer.from('{"a":"é"}\n'), Buffer.alloc(0), Buffer.from('x'.repeat(70_000))];
  assert.deepEqual(binaryColumn(stream(values)), values);
  assert.deepEqual(binaryColumn(stream(values, Buffer.from('ext'))), values);
  assert.deepEqual(binaryColumn(stream([])), []);
});

test('binaryColumn rejects what is not a one-column binary COPY stream', () => {
  assert.throws(() => binaryColumn(Buffer.from('{"a":1}\n')), /not a binary COPY stream/);
  const twoFields = stream([Buffer.from('ab')]);
  twoFields.writeInt16BE(2, 19);
  assert.throws(() => binaryColumn(twoFields), /one column/);
  const nullValue = stream([Buffer.from('ab')]);
  nullValue.writeInt32BE(-1, 21);
  assert.throws(() => binaryColumn(nullValue), /NULL/);
});
