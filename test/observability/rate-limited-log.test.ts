/** clip() and RateLimitedLog: the two guards against peer-driven log amplification. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clip, LOG_TEXT_MAX_CHARS } from '../../src/observability/log-text.js';
import { RateLimitedLog } from '../../src/observability/rate-limited-log.js';
import { ManualClock } from '../helpers/gateway-fake-ports.js';

test('clip keeps short text, bounds long text and says how much was cut; non-strings are JSON', () => {
  assert.equal(clip('short'), 'short');
  assert.equal(clip(undefined), undefined);
  const long = clip('r'.repeat(100_000))!;
  assert.equal(long, `${'r'.repeat(LOG_TEXT_MAX_CHARS)}… [${100_000 - LOG_TEXT_MAX_CHARS} more chars]`);
  assert.equal(clip({ code: -1, message: 'm' }), '{"code":-1,"message":"m"}');
  assert.ok(clip({ pad: 'x'.repeat(10_000) })!.length < LOG_TEXT_MAX_CHARS + 40);
  assert.equal(clip('abcdef', 3), 'abc… [3 more chars]');
});

test('first `burst` lines per key and interval, then one summary line when the interval ends', () => {
  const clock = new ManualClock();
  const summaries: Array<[string, number]> = [];
  const log = new RateLimitedLog({ burst: 3, intervalMs: 60_000, clock, summary: (key, n) => summaries.push([key, n]) });
  const allowed = Array.from({ length: 10 }, () => log.allow('mallory'));
  assert.deepEqual(allowed, [true, true, true, false, false, false, false, false, false, false]);
  assert.equal(log.allow('alice'), true, 'keys are independent');
  clock.advance(59_999);
  assert.deepEqual(summaries, []);
  clock.advance(1);
  assert.deepEqual(summaries, [['mallory', 7]], 'one summary for the suppressed lines; none for a key that was never over');
  assert.equal(log.size, 0, 'windows are forgotten when they end');
  assert.equal(log.allow('mallory'), true, 'a new interval starts afresh');
});
