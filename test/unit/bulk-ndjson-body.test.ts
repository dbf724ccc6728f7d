import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ApiError } from '../../src/errors.js';
import { ndjsonBody, type NdjsonBodyEvent, type NdjsonBodyOptions } from '../../src/http/ndjson-body.js';

/** The streaming import body reader: whatever the chunking, it yields exactly what JSON.parse would. */

const OPTIONS: NdjsonBodyOptions = { dataField: 'data', stringFields: ['resourceType', 'format'], maxBodyBytes: 1 << 20, maxDataBytes: 1 << 19, maxRecords: 50, maxRecordBytes: 1024 };

async function read(body: string | Buffer, chunkSize = body.length || 1, options = OPTIONS): Promise<NdjsonBodyEvent[]> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
  }
  const events: NdjsonBodyEvent[] = [];
  for await (const event of ndjsonBody(chunks(), options)) events.push(event);
  return events;
}

const records = (events: NdjsonBodyEvent[]) => events.flatMap((event) => (event.kind === 'record' ? [event.line] : []));

async function rejects(body: string, code: string, pattern?: RegExp, options = OPTIONS) {
  await assert.rejects(read(body, 7, options), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, code);
    if (pattern) assert.match(JSON.stringify({ message: error.message, issues: error.issues }), pattern);
    return true;
  });
}

describe('ndjsonBody', () => {
  test('yields each non-blank line of data and the other fields, split at every possible byte', async () => {
    const data = '{"a":"é \\"quoted\\" ✓ 𝄞"}\r\n\n  \n{"b":[1,2]}\n{"c":"tab\\there\\u2028"}';
    const body = JSON.stringify({ resourceType: 'Patient', data, format: 'fhir' });
    const expected = data.split('\n').filter((line) => line.trim() !== '');
    for (let size = 1; size <= body.length; size++) {
      const events = await read(body, size);
      assert.deepEqual(records(events), expected, `chunk size ${size}`);
      assert.deepEqual(events.at(-1), { kind: 'end', fields: { resourceType: 'Patient', format: 'fhir' }, records: 3, hasData: true });
    }
  });

  test('decodes any string exactly as JSON.parse does (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 40 }), async (parts, size) => {
      const data = parts.map((part) => part.replace(/\u0000/g, '')).join('\n');
      const events = await read(JSON.stringify({ data }), size, { ...OPTIONS, maxRecordBytes: 1 << 16 });
      const expected = data.split('\n').filter((line) => line.trim() !== '').map((line) => Buffer.from(line, 'utf8').toString('utf8'));
      assert.deepEqual(records(events), expected);
    }), { numRuns: 200 });
  });

  test('escaped newlines (\\n and \\u000a) end lines; raw ones outside data are whitespace', async () => {
    const events = await read('{\n "data" : "{}\\u000a{\\"x\\":1}\\n" \n}\n');
    assert.deepEqual(records(events), ['{}', '{"x":1}']);
  });

  test('a line over maxRecordBytes is yielded as null, and the next line is intact', async () => {
    const events = await read(JSON.stringify({ data: `${'x'.repeat(2000)}\n{"ok":true}` }), 100);
    assert.deepEqual(records(events), [null, '{"ok":true}']);
  });

  test('limits: records → 422, data bytes and body bytes → 413', async () => {
    await rejects(JSON.stringify({ data: '{}\n'.repeat(51) }), 'VALIDATION_ERROR', /data: At most 50 records/);
    assert.equal(records(await read(JSON.stringify({ data: '{}\n'.repeat(50) }))).length, 50);
    await rejects(JSON.stringify({ data: 'x'.repeat(1000) }), 'PAYLOAD_TOO_LARGE', /data: at most 999 bytes/, { ...OPTIONS, maxDataBytes: 999 });
    await rejects(JSON.stringify({ data: 'x'.repeat(1000) }), 'PAYLOAD_TOO_LARGE', /Request body is too large/, { ...OPTIONS, maxBodyBytes: 500 });
  });

  test('malformed JSON → 400; a wrong shape → 422', async () => {
    for (const body of ['', '{', '{"data":"x"', '{"data":"x"}}', '{"data":"a\nb"}', '{"data":"\\q"}', '{"data":"\\u12"}', "{'data':'x'}", '{"data":"x",}', 'xyz', '{"data":"\\u0000"}']) {
      await rejects(body, 'INVALID_JSON');
    }
    await rejects('[1]', 'VALIDATION_ERROR', /body: Expected object/);
    await rejects('{"data":"x","data":"y"}', 'VALIDATION_ERROR', /data: Given more than once/);
    await rejects('{"other":"x"}', 'VALIDATION_ERROR', /other: Unrecognized field/);
    await rejects('{"resourceType":3}', 'VALIDATION_ERROR', /resourceType: Expected string/);
    await rejects('{"data":null}', 'VALIDATION_ERROR', /data: Expected string/);
  });

  test('invalid UTF-8 inside data → 400', async () => {
    const body = Buffer.concat([Buffer.from('{"data":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    await assert.rejects(read(body, 3), (error: unknown) => error instanceof ApiError && error.code === 'INVALID_JSON');
  });
});
