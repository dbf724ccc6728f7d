import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CursorPosition } from '../../src/store/search-query.js';
import { decodeSystemCursor, encodeSystemCursor, mergePages, type TypePage } from '../../src/fhir/search/system.js';

/** A type's page of rows named `type/id`, at the given (second-precision) instants. */
function page(type: string, rows: Array<[id: string, second: number]>, hasMore = false): TypePage<string> {
  const positions: CursorPosition[] = rows.map(([id, second]) => ({ values: [`2024-01-01T00:00:${String(second).padStart(2, '0')}.000000Z`], id }));
  return { type, rows: rows.map(([id]) => `${type}/${id}`), positions, hasMore };
}

describe('mergePages (system search)', () => {
  it('merges by time, then type, then id, and keeps the position of each type\'s last used row', () => {
    const merged = mergePages([page('Patient', [['a', 1], ['b', 3], ['c', 5]], true), page('Observation', [['x', 2], ['y', 3], ['z', 9]])], 4, 'asc');
    assert.deepEqual(merged.rows, ['Patient/a', 'Observation/x', 'Observation/y', 'Patient/b']);
    assert.deepEqual([...merged.remaining.keys()], ['Patient', 'Observation']);
    assert.equal(merged.remaining.get('Patient')!.id, 'b');
    assert.equal(merged.remaining.get('Observation')!.id, 'y');
  });

  it('drops exhausted types and keeps unused ones without a position', () => {
    const merged = mergePages([page('Patient', [['a', 1]]), page('Group', [['g', 8]], true), page('Device', [])], 1, 'asc');
    assert.deepEqual(merged.rows, ['Patient/a']);
    assert.deepEqual([...merged.remaining.entries()], [['Group', undefined]]);
  });

  it('descending order reverses the comparison, ties included', () => {
    const merged = mergePages([page('Patient', [['b', 5], ['a', 5]]), page('Observation', [['z', 5]])], 3, 'desc');
    assert.deepEqual(merged.rows, ['Patient/b', 'Patient/a', 'Observation/z']);
    assert.equal(merged.remaining.size, 0);
  });
});

describe('system cursors', () => {
  it('round-trip, and anything else (or another type set) decodes to undefined', () => {
    const cursors = new Map<string, string | null>([['Patient', 'abc'], ['Observation', null]]);
    assert.deepEqual(decodeSystemCursor(encodeSystemCursor(cursors), ['Patient', 'Observation']), cursors);
    assert.equal(decodeSystemCursor(encodeSystemCursor(cursors), ['Patient']), undefined);
    for (const bad of ['', 'x', '!!', Buffer.from('[1,{"Patient":5}]').toString('base64url'), Buffer.from('[2,{}]').toString('base64url')]) {
      assert.equal(decodeSystemCursor(bad, ['Patient']), undefined, bad);
    }
  });
});
