/**
 * The register handshake's word about eras: a 2026-07-28 server registered with a gateway
 * whose register_ack does not say it bridges that era (an older gateway) gets one WARN
 * with what to do; a gateway that says so, or a 2025-era server, gets none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerOn } from '../../src/client/register-handshake.js';
import type { RegisterEnvelope } from '../../src/protocol/envelope.js';
import { TransportBase } from '../../src/transport/transport-base.js';
import type { InboundFrame } from '../../src/transport/transport.js';
import { FakeClock } from '../protocol/fake-clock.js';
import { captureLogs } from './log-capture.js';

/** A gateway end that answers register with this ack. */
class AckingTransport extends TransportBase {
  readonly kind = 'ws' as const;
  handler: ((f: InboundFrame) => void) | undefined;
  constructor(private readonly ack: object) {
    super();
  }
  async start(): Promise<void> {}
  send(): boolean {
    queueMicrotask(() => this.handler?.(JSON.stringify(this.ack)));
    return true;
  }
  async close(): Promise<void> {}
}

async function register(era: 'legacy' | 'modern' | undefined, eras: string[] | undefined) {
  const logs = captureLogs();
  const ack = { type: 'register_ack', sessionId: 's', status: 'success', ...(eras ? { eras } : {}) };
  const transport = new AckingTransport(ack);
  const reg: RegisterEnvelope = { type: 'register', server: { name: 'x', ...(era ? { era } : {}) } };
  for (let i = 0; i < 2; i++) {
    await registerOn({
      transport,
      register: reg,
      closed: new Promise(() => {}),
      setHandler: (h) => (transport.handler = h),
      early: [],
      timeoutMs: 1000,
      clock: new FakeClock(),
      parse: (f) => JSON.parse(f as string),
      log: logs.logger,
    });
  }
  return logs.records.filter((r) => r.event === 'gateway_lacks_modern');
}

test('a 2026-07-28 server and a gateway that does not announce the era: one WARN (not one per reconnect)', async () => {
  const warned = await register('modern', undefined);
  assert.equal(warned.length, 1);
  assert.match(warned[0]!.msg, /--server-era legacy/);
});

test('no WARN when the gateway bridges the era, or the server is 2025-era', async () => {
  assert.equal((await register('modern', ['legacy', 'modern'])).length, 0);
  assert.equal((await register('legacy', undefined)).length, 0);
  assert.equal((await register(undefined, undefined)).length, 0);
});
