import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoInstant } from '../../src/store/database.js';

test('isoInstant formats PostgreSQL UTC timestamptz text as ISO 8601, truncating to the digits asked for', () => {
  assert.equal(isoInstant('2024-03-01 10:00:00+00', 3), '2024-03-01T10:00:00.000Z');
  assert.equal(isoInstant('2024-03-01 10:00:00+00', 6), '2024-03-01T10:00:00.000000Z');
  assert.equal(isoInstant('2024-03-01 10:00:00.5+00', 3), '2024-03-01T10:00:00.500Z');
  assert.equal(isoInstant('2024-03-01 23:59:59.123456+00', 3), '2024-03-01T23:59:59.123Z');
  assert.equal(isoInstant('2024-03-01 23:59:59.123456+00', 6), '2024-03-01T23:59:59.123456Z');
  assert.equal(isoInstant('0001-01-01 00:00:00+00', 3), '0001-01-01T00:00:00.000Z');
});

test('isoInstant refuses text a UTC, ISO-DateStyle connection would not print', () => {
  for (const text of ['2024-03-01 10:00:00+02', '2024-03-01T10:00:00Z', 'infinity', '10000-01-01 00:00:00+00', '2024-03-01 10:00:00.1234567+00']) {
    assert.throws(() => isoInstant(text, 3), /unexpected timestamptz text/, text);
  }
});
