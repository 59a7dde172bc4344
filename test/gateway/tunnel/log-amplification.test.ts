/**
 * A peer must not turn frames into log volume: peer-supplied strings are clipped in every
 * log line, and repeated refusals of one subject are rate-limited (first few, then one
 * summary per interval).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionRegistry } from '../../../src/gateway/tunnel/session-registry.js';
import { TunnelEndpoint } from '../../../src/gateway/tunnel/tunnel-endpoint.js';
import { PEER_LOG_BURST, REFUSAL_LOG_BURST, REFUSAL_LOG_INTERVAL_MS } from '../../../src/observability/rate-limited-log.js';
import type { TransportCloseInfo, TunnelLink } from '../../../src/transport/transport.js';
import { FakeTunnelPeer } from '../../helpers/gateway-fake-peer.js';
import { ECHO_SERVER, startHarness, T } from '../../helpers/gateway-harness.js';
import { ManualClock } from '../../helpers/gateway-fake-ports.js';
import { captureLogs, type LogRecord } from '../../client/log-capture.js';

const HUGE = 'A'.repeat(100_000);
/** Longest log line we accept for a frame that carried 100 KB of text. */
const MAX_LINE = 2_000;

const longest = (records: LogRecord[]): number => Math.max(...records.map((r) => JSON.stringify(r).length));

test('100 KB of peer text in server_status, error, bad frames, unknown types and register fields: every log line stays short', T, async () => {
  const logs = captureLogs();
  const h = await startHarness({}, logs.logger);
  try {
    const token = await h.token('mallory');
    const peer = await FakeTunnelPeer.connect(h.gw.url, token);
    assert.equal((await peer.register({ ...ECHO_SERVER, description: HUGE }, { reliability: 'seq-ack/1', keepalive: 30, junk: HUGE })).type, 'register_ack');
    peer.sendRaw({ type: 'server_status', available: false, reason: HUGE });
    peer.sendRaw({ type: 'error', code: HUGE, message: HUGE });
    peer.sendRaw(`{${HUGE}`);
    peer.sendRaw({ type: HUGE });
    peer.sendRaw({ type: 'server_status', available: true });
    await logs.waitFor((r) => r.event === 'server_available');
    const odd = await FakeTunnelPeer.connect(h.gw.url, token);
    assert.equal((await odd.register({ ...ECHO_SERVER, name: 'odd' }, { reliability: HUGE })).type, 'register_ack');
    const refused = await FakeTunnelPeer.connect(h.gw.url, token);
    assert.equal((await refused.register({ ...ECHO_SERVER, name: HUGE })).code, 'invalid_name');
    await refused.whenClosed();
    for (const event of ['server_unavailable', 'client_error', 'bad_frame', 'register_refused']) {
      assert.ok(logs.records.some((r) => r.event === event), event);
    }
    const unavailable = logs.records.find((r) => r.event === 'server_unavailable')!;
    assert.match(String(unavailable.reason), /^A{200}… \[99800 more chars\]$/);
    assert.ok(longest(logs.records) < MAX_LINE, `longest log line: ${longest(logs.records)} chars`);
    await Promise.all([peer.close(), odd.close()]);
  } finally {
    await h.close();
  }
});

test(`a peer repeating a bad frame gets ${PEER_LOG_BURST} WARN lines, not one per frame`, T, async () => {
  const logs = captureLogs();
  const h = await startHarness({}, logs.logger);
  try {
    const token = await h.token('mallory');
    const peer = await FakeTunnelPeer.connect(h.gw.url, token);
    await peer.register(ECHO_SERVER);
    for (let i = 0; i < 50; i++) peer.sendRaw('not json');
    let errors = 0;
    await peer.next((f) => f.type === 'error' && ++errors === 50);
    assert.equal(logs.records.filter((r) => r.event === 'bad_frame').length, PEER_LOG_BURST);
    await peer.close();
  } finally {
    await h.close();
  }
});

test(`refused registers: ${REFUSAL_LOG_BURST} WARN lines per subject, then one summary per interval`, T, async () => {
  const logs = captureLogs();
  const h = await startHarness({}, logs.logger);
  try {
    const token = await h.token('mallory');
    for (let i = 0; i < 20; i++) {
      const peer = await FakeTunnelPeer.connect(h.gw.url, token);
      assert.equal((await peer.register({ ...ECHO_SERVER, name: 'bad/name' })).code, 'invalid_name');
      await peer.whenClosed();
    }
    const other = await FakeTunnelPeer.connect(h.gw.url, await h.token('alice'));
    await other.register({ ...ECHO_SERVER, name: 'bad/name' });
    await other.whenClosed();
    const lines = logs.records.filter((r) => r.event === 'register_refused');
    assert.equal(lines.filter((r) => r.owner === 'mallory').length, REFUSAL_LOG_BURST);
    assert.equal(lines.filter((r) => r.owner === 'alice').length, 1, 'another subject is logged on its own budget');
  } finally {
    await h.close();
  }
});

class MemoryLink implements TunnelLink {
  readonly kind = 'ws' as const;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  send(): boolean {
    return true;
  }
  close(reason = 'closed'): void {
    this.onclose?.({ reason });
    this.onclose = undefined;
  }
}

test('the refusal summary comes when the interval ends (fake clock)', () => {
  const logs = captureLogs();
  const clock = new ManualClock();
  const registry = new SessionRegistry({ resumeWindowMs: 1, requestTimeoutMs: 1, maxQueueBytes: 1 << 20, maxFrameBytes: 1 << 20, maxSessionsPerUser: 1, logger: logs.logger });
  const endpoint = new TunnelEndpoint({ registry, maxFrameBytes: 1 << 20, logger: logs.logger, clock });
  for (let i = 0; i < 12; i++) {
    const link = new MemoryLink();
    endpoint.acceptLink(link, { subject: 'mallory', isAdmin: false });
    link.onmessage!('{"type":"heartbeat"}');
  }
  assert.equal(logs.records.filter((r) => r.event === 'register_refused').length, REFUSAL_LOG_BURST);
  assert.equal(logs.records.filter((r) => r.event === 'register_refused_summary').length, 0);
  clock.advance(REFUSAL_LOG_INTERVAL_MS);
  const summary = logs.records.filter((r) => r.event === 'register_refused_summary');
  assert.equal(summary.length, 1);
  assert.equal(summary[0]!.suppressed, 12 - REFUSAL_LOG_BURST);
  assert.equal(summary[0]!.owner, 'mallory');
});
