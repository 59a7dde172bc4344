import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleGuardedLink, idleTimeoutMs } from '../../../../src/gateway/tunnel/links/idle-guard.js';
import type { TransportCloseInfo, TunnelLink } from '../../../../src/transport/transport.js';
import { ManualClock } from '../../../helpers/gateway-fake-ports.js';

class MemoryLink implements TunnelLink {
  readonly kind = 'ws' as const;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  closedWith: string | undefined;
  send(): boolean {
    return true;
  }
  close(reason = 'closed'): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    this.onclose?.({ reason });
  }
}

test('idle timeout is 2.5 keepalives, 30 s keepalive by default', () => {
  assert.equal(idleTimeoutMs(undefined), 75_000);
  assert.equal(idleTimeoutMs(10), 25_000);
  assert.equal(idleTimeoutMs(0), 75_000);
});

test('a silent link is closed; every frame pushes the deadline back', () => {
  const clock = new ManualClock();
  const inner = new MemoryLink();
  const guard = new IdleGuardedLink(inner, 1000, clock);
  const seen: string[] = [];
  const closes: TransportCloseInfo[] = [];
  guard.onmessage = (f) => seen.push(f);
  guard.onclose = (info) => closes.push(info);

  clock.advance(900);
  inner.onmessage!('a');
  clock.advance(900); // 1800 total, but only 900 since the last frame
  assert.equal(closes.length, 0);
  assert.deepEqual(seen, ['a']);
  clock.advance(100);
  assert.equal(closes.length, 1, 'closed after 1000 ms of silence');
  assert.match(closes[0]!.reason, /presumed dead/);
  assert.ok(inner.closedWith);
});

test('setIdleTimeout re-arms from the last frame', () => {
  const clock = new ManualClock();
  const inner = new MemoryLink();
  const guard = new IdleGuardedLink(inner, 75_000, clock);
  clock.advance(100);
  guard.setIdleTimeout(500);
  clock.advance(399);
  assert.equal(inner.closedWith, undefined);
  clock.advance(1);
  assert.ok(inner.closedWith);
});
