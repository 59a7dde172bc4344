import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFailure, RestartBudget, type RestartPolicy } from '../../src/client/restart-policy.js';

const policy = (over: Partial<RestartPolicy> = {}): RestartPolicy => ({
  mode: 'on-failure',
  maxRestarts: 3,
  windowMs: 60_000,
  baseDelayMs: 200,
  capMs: 30_000,
  random: () => 1, // upper bound of the jitter: delays are exactly base * 2^(n-1)
  ...over,
});
const crash = { code: 3, signal: null };
const clean = { code: 0, signal: null };
const killed = { code: null, signal: 'SIGKILL' };

describe('RestartBudget', () => {
  it('never: no restart, whatever the exit', () => {
    const b = new RestartBudget(policy({ mode: 'never' }));
    assert.deepEqual(b.decide(crash, 0), { restart: false, reason: 'restart policy is never' });
  });

  it('on-failure restarts after a non-zero code or a signal, not after code 0', () => {
    const b = new RestartBudget(policy());
    assert.equal(isFailure(crash), true);
    assert.equal(isFailure(killed), true);
    assert.equal(isFailure(clean), false);
    assert.equal(b.decide(killed, 0).restart, true);
    const d = b.decide(clean, 0);
    assert.equal(d.restart, false);
    assert.match((d as { reason: string }).reason, /code 0/);
  });

  it('always restarts after code 0 too', () => {
    assert.equal(new RestartBudget(policy({ mode: 'always' })).decide(clean, 0).restart, true);
  });

  it('backs off exponentially within the window and stops at the budget', () => {
    const b = new RestartBudget(policy());
    const delays = [0, 1, 2].map((t) => b.decide(crash, t));
    assert.deepEqual(delays, [
      { restart: true, delayMs: 200, attempt: 1 },
      { restart: true, delayMs: 400, attempt: 2 },
      { restart: true, delayMs: 800, attempt: 3 },
    ]);
    const over = b.decide(crash, 3);
    assert.equal(over.restart, false);
    assert.match((over as { reason: string }).reason, /restart budget used up \(3 restarts within 60 s\)/);
  });

  it('the window slides: old restarts stop counting, and the delay starts over', () => {
    const b = new RestartBudget(policy({ maxRestarts: 2, windowMs: 1000 }));
    assert.equal(b.decide(crash, 0).restart, true);
    assert.equal(b.decide(crash, 500).restart, true);
    assert.equal(b.decide(crash, 900).restart, false);
    assert.equal(b.recent(1000), 1, 'the restart at t=0 left the window');
    assert.deepEqual(b.decide(crash, 1000), { restart: true, delayMs: 400, attempt: 2 });
    assert.deepEqual(b.decide(crash, 5000), { restart: true, delayMs: 200, attempt: 1 });
  });

  it('the delay is capped', () => {
    const b = new RestartBudget(policy({ maxRestarts: 100, capMs: 1000 }));
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const d = b.decide(crash, i);
      assert.equal(d.restart, true);
      last = (d as { delayMs: number }).delayMs;
    }
    assert.equal(last, 1000);
  });
});
