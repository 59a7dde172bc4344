/**
 * Before register (docs/protocol.md §2.2): a plain peer's data frames are accepted and
 * dropped within bounds (count, bytes, time); over a bound the link is refused with a
 * clear error frame and closed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionRegistry } from '../../../src/gateway/tunnel/session-registry.js';
import { TunnelEndpoint } from '../../../src/gateway/tunnel/tunnel-endpoint.js';
import { PRE_REGISTER_MAX_FRAMES, REGISTER_TIMEOUT_MS } from '../../../src/gateway/tunnel/register-frame.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { TransportCloseInfo, TunnelLink } from '../../../src/transport/transport.js';
import { FakeTunnelPeer } from '../../helpers/gateway-fake-peer.js';
import { ECHO_SERVER, startHarness, T, withHarness } from '../../helpers/gateway-harness.js';
import { ManualClock } from '../../helpers/gateway-fake-ports.js';
import { captureLogs } from '../../client/log-capture.js';

const initAnswer = (i: number, pad = '') => ({ jsonrpc: '2.0', id: `init-${i}`, result: { protocolVersion: '2024-11-05', capabilities: {}, serverInfo: { name: 'x', version: '1' }, pad } });

test(`a plain peer may send up to ${PRE_REGISTER_MAX_FRAMES} data frames before register; they are dropped with a DEBUG line each`, T, async () => {
  const logs = captureLogs();
  const h = await startHarness({}, logs.logger);
  try {
    const token = await h.token('carol');
    const peer = await FakeTunnelPeer.connect(h.gw.url, token, { reliable: false });
    for (let i = 0; i < PRE_REGISTER_MAX_FRAMES - 1; i++) peer.sendData(initAnswer(i));
    peer.sendData({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'early' } });
    const ack = await peer.register(ECHO_SERVER);
    assert.equal(ack.type, 'register_ack');
    const client = await h.mcpClient('echo', token);
    assert.equal((await client.listTools()).tools.length, 1);
    const dropped = logs.records.filter((r) => r.event === 'early_frame_dropped');
    assert.equal(dropped.length, PRE_REGISTER_MAX_FRAMES);
    assert.ok(dropped.every((r) => r.level === 20), 'DEBUG');
    assert.equal(dropped[0]!.id, 'init-0');
    await peer.close();
  } finally {
    await h.close();
  }
});

test('one data frame too many before register: pre_register_limit, link closed', T, async () => {
  await withHarness(async (h) => {
    const peer = await FakeTunnelPeer.connect(h.gw.url, await h.token('carol'), { reliable: false });
    for (let i = 0; i <= PRE_REGISTER_MAX_FRAMES; i++) peer.sendData(initAnswer(i));
    const err = await peer.next((f) => f.type === 'error');
    assert.equal(err.code, 'pre_register_limit');
    assert.match(err.message, new RegExp(`more than ${PRE_REGISTER_MAX_FRAMES} data frames before "register"`));
    await peer.whenClosed();
  });
});

test('more bytes of data before register than one maximum frame: pre_register_limit', T, async () => {
  await withHarness(
    async (h) => {
      const peer = await FakeTunnelPeer.connect(h.gw.url, await h.token('carol'), { reliable: false });
      peer.sendData(initAnswer(1, 'p'.repeat(3000)));
      peer.sendData(initAnswer(2, 'p'.repeat(3000)));
      const err = await peer.next((f) => f.type === 'error');
      assert.equal(err.code, 'pre_register_limit');
      assert.match(err.message, /more than 4096 bytes of data frames before "register" \(--max-frame-bytes\)/);
      await peer.whenClosed();
    },
    { maxFrameBytes: 4096 },
  );
});

test('before register only plain data frames: a frame with seq, an ack or junk is refused with invalid_register', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('carol');
    for (const [frame, why] of [
      [{ type: 'response', seq: 1, payload: initAnswer(1) }, /got "response" with a seq/],
      [{ type: 'ack', ack: 0 }, /got "ack"/],
      ['not json', /not valid JSON/],
    ] as const) {
      const peer = await FakeTunnelPeer.connect(h.gw.url, token, { reliable: false });
      peer.sendRaw(frame);
      const err = await peer.next((f) => f.type === 'error');
      assert.equal(err.code, 'invalid_register');
      assert.match(err.message, why);
      await peer.whenClosed();
    }
  });
});

class MemoryLink implements TunnelLink {
  readonly kind = 'ws' as const;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  readonly sent: any[] = [];
  closedWith: string | undefined;
  send(frame: string): boolean {
    this.sent.push(JSON.parse(frame));
    return true;
  }
  close(reason = 'closed'): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    this.onclose?.({ reason });
  }
}

function endpoint(clock: ManualClock): TunnelEndpoint {
  const registry = new SessionRegistry({
    resumeWindowMs: 1000,
    requestTimeoutMs: 1000,
    maxQueueBytes: 1 << 20,
    maxFrameBytes: 1 << 20,
    maxSessionsPerUser: 5,
    logger: silentLogger,
  });
  return new TunnelEndpoint({ registry, maxFrameBytes: 1 << 20, logger: silentLogger, clock });
}

test(`a link that has not registered ${REGISTER_TIMEOUT_MS / 1000} s after opening is refused with register_timeout, even if it keeps talking`, () => {
  const clock = new ManualClock();
  const link = new MemoryLink();
  endpoint(clock).acceptLink(link, { subject: 'carol', isAdmin: false });
  // Early data every 10 s keeps the idle guard quiet but does not extend the deadline.
  for (let t = 0; t < 2; t++) {
    clock.advance(10_000);
    link.onmessage!(JSON.stringify({ type: 'response', payload: initAnswer(t) }));
  }
  clock.advance(REGISTER_TIMEOUT_MS - 20_001);
  assert.equal(link.closedWith, undefined);
  clock.advance(1);
  assert.deepEqual(link.sent.at(-1), { type: 'error', code: 'register_timeout', message: `no "register" within ${REGISTER_TIMEOUT_MS / 1000} s of opening the link` });
  assert.match(link.closedWith!, /no "register" within 30 s/);
});

test('a register in time cancels the deadline', () => {
  const clock = new ManualClock();
  const link = new MemoryLink();
  endpoint(clock).acceptLink(link, { subject: 'carol', isAdmin: false });
  link.onmessage!(JSON.stringify({ type: 'register', server: ECHO_SERVER, keepalive: 1000 }));
  assert.equal(link.sent[0].type, 'register_ack');
  clock.advance(REGISTER_TIMEOUT_MS * 2);
  assert.equal(link.closedWith, undefined);
  assert.equal(link.sent.length, 1);
});
