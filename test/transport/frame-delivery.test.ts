/**
 * FrameDelivery (src/transport/frame-delivery.ts): frames that arrive together (register_ack
 * and the replay behind it, in one SSE chunk or poll answer) reach the consumer one per
 * task, so the consumer's `await` on the first has resumed before the second arrives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDelivery } from '../../src/transport/frame-delivery.js';

test('frames pushed together: the await on the first resumes before the second is delivered', async () => {
  const seen: string[] = [];
  let handler: (f: string) => void = () => undefined;
  const delivery = new FrameDelivery((f) => handler(f));
  const ack = new Promise<string>((resolve) => {
    handler = (f) => resolve(f);
  });
  delivery.push('ack');
  delivery.push('replay-1');
  delivery.push('replay-2');
  assert.equal(await ack, 'ack');
  // What TunnelClient does after `await register()`: install the session handler.
  handler = (f) => seen.push(f);
  for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ['replay-1', 'replay-2'], 'nothing delivered to the old handler, order kept');
});

test('end() hands over what is queued at once (a last error frame before a close), then drops later pushes', () => {
  const seen: string[] = [];
  const delivery = new FrameDelivery((f) => seen.push(f));
  delivery.push('a');
  delivery.push('session_deleted');
  delivery.end();
  assert.deepEqual(seen, ['a', 'session_deleted']);
  delivery.push('late');
  delivery.end();
  assert.deepEqual(seen, ['a', 'session_deleted']);
});
