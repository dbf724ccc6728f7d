import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prefixedId, uuidv7 } from '../../src/ids.js';

// Enough ids to refill the random pool (4 KB) several times over.
const MANY = 2_000;

test('uuidv7: version 7, variant 10, the time in its first 48 bits, unique', () => {
  const now = Date.UTC(2026, 10, 28, 12, 0, 0);
  const ids = Array.from({ length: MANY }, () => uuidv7(now));
  for (const id of ids) {
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), now);
  }
  assert.equal(new Set(ids).size, MANY);
});

test('prefixedId: the prefix, then lower-case alphanumerics of the length asked for, unique', () => {
  const ids = Array.from({ length: MANY }, () => prefixedId('req', 16));
  for (const id of ids) assert.match(id, /^req_[a-z0-9]{16}$/);
  assert.equal(new Set(ids).size, MANY);
  assert.match(prefixedId('big', 5000), /^big_[a-z0-9]{5000}$/);
});
