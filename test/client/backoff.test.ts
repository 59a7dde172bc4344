import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_CAP_MS, backoffDelay } from '../../src/client/backoff.js';

test('first retry is within the base delay; growth is exponential with equal jitter; capped', () => {
  const lo = { baseMs: 1000, capMs: BACKOFF_CAP_MS, random: () => 0 };
  const hi = { baseMs: 1000, capMs: BACKOFF_CAP_MS, random: () => 1 };
  assert.equal(backoffDelay(lo, 1), 500);
  assert.equal(backoffDelay(hi, 1), 1000);
  assert.equal(backoffDelay(hi, 2), 2000);
  assert.equal(backoffDelay(hi, 4), 8000);
  assert.equal(backoffDelay(lo, 4), 4000);
  assert.equal(backoffDelay(hi, 50), 60_000);
  assert.equal(backoffDelay(lo, 50), 30_000);
});
