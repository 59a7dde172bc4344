/** The iterative depth bound every gateway entry point applies to parsed JSON. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exceedsDepth, MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';

const arrays = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));
const objects = (levels: number): unknown => JSON.parse('{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1));

test('scalars have depth 0; an object or array is level 1', () => {
  for (const v of [null, 1, 'x', true, undefined]) assert.equal(exceedsDepth(v, 0), false);
  assert.equal(exceedsDepth({}, 0), true);
  assert.equal(exceedsDepth([], 1), false);
});

test('exactly the limit passes, one more level does not, for arrays, objects and mixes', () => {
  for (const build of [arrays, objects]) {
    assert.equal(exceedsDepth(build(MAX_JSON_DEPTH)), false);
    assert.equal(exceedsDepth(build(MAX_JSON_DEPTH + 1)), true);
  }
  const mixed = { a: [1, { b: [2, [3, { c: arrays(MAX_JSON_DEPTH - 6) }]] }] };
  assert.equal(exceedsDepth(mixed), false);
  assert.equal(exceedsDepth({ wide: [...Array.from({ length: 1000 }, () => ({})), { a: mixed }] }), true);
});

test('no recursion: 1,000,000 levels are judged without a stack overflow', () => {
  assert.equal(exceedsDepth(arrays(1_000_000)), true);
});
