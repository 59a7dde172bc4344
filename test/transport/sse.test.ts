/**
 * The `sse` client transport (src/transport/sse.ts) against a real in-process gateway:
 * open on the session event, NDJSON POSTs coalesced, the stream reopened with
 * Last-Event-ID after a cut, a clear end when the gateway is gone, the first-event
 * deadline, and 401 classified as an auth failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { AuthRejectedError, TransportError } from '../../src/errors.js';
import { SseTransport } from '../../src/transport/sse.js';
import { FaultRelay } from '../helpers/fault-relay.js';
import { startHarness, T } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/system.js';
import { Collector, instrumentGateway, registerFrame } from './network-parts.js';

const HEARTBEAT = JSON.stringify({ type: 'heartbeat' });

function sse(base: string, token: string | undefined, dispatcher: Agent, openTimeoutMs = 5_000): SseTransport {
  return new SseTransport({ base, dispatcher, openTimeoutMs, ...(token ? { token } : {}) });
}

test('sse: opens on the session event, registers, and coalesces a burst into few POSTs', T, async () => {
  const h = await startHarness();
  const probe = instrumentGateway(h.gw.server);
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    const t = sse(h.gw.url, await h.token('alice'), agent);
    const c = new Collector(t);
    await t.start();
    assert.ok(probe.paths.includes('GET /reverse-proxy/sse'), probe.paths.join(', '));
    t.send(registerFrame('sse'));
    const ack = await c.next((f) => f.type === 'register_ack', 0, 'register_ack');
    assert.equal(ack.status, 'success');
    await waitFor(() => t.uplinkIdle, 'the register POST to be accepted');

    const postsBefore = probe.paths.filter((p) => p.startsWith('POST ')).length;
    for (let i = 0; i < 50; i++) t.send(HEARTBEAT);
    await waitFor(() => c.count('heartbeat') >= 50, '50 heartbeats answered');
    const posts = probe.paths.filter((p) => p.startsWith('POST ')).length - postsBefore;
    assert.ok(posts >= 1 && posts < 50, `50 frames went up in ${posts} POSTs`);
    assert.ok(probe.paths.every((p) => !p.includes('/reverse-proxy/ws')), 'never asked for the WebSocket');
    await t.close();
    assert.equal(c.closed?.error, undefined, 'a local close carries no error');
  } finally {
    await agent.close();
    await h.close();
  }
});

test('sse: a cut stream is reopened with ?link= and Last-Event-ID; the link survives, nothing is lost', T, async () => {
  const h = await startHarness();
  const probe = instrumentGateway(h.gw.server);
  const relay = new FaultRelay(Number(new URL(h.gw.url).port));
  const port = await relay.listen();
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    const t = sse(`http://127.0.0.1:${port}`, await h.token('alice'), agent);
    const c = new Collector(t);
    await t.start();
    t.send(registerFrame('sse'));
    await c.next((f) => f.type === 'register_ack', 0, 'register_ack');
    t.send(HEARTBEAT);
    await c.next((f) => f.type === 'heartbeat', 0, 'first heartbeat answer');
    await waitFor(() => t.uplinkIdle, 'no POST in flight');

    const seen = c.frames.length;
    assert.ok(relay.cutAll('rst') >= 1, 'the stream connection was cut');
    const reopen = await waitFor(
      () => probe.paths.find((p) => p.startsWith(`GET /reverse-proxy/sse?link=${encodeURIComponent(t.link!)}`)),
      'the stream to be reopened on the same link',
    );
    assert.match(reopen, new RegExp(` last-event-id=${seen}$`), 'continues after the last event seen');
    // A reset may also have hit a pooled POST connection; a POST is never retried blindly
    // (the transport would end), so the next frames go once the pool has noticed.
    await waitFor(() => t.uplinkIdle, 'no POST in flight');
    for (let i = 0; i < 5; i++) t.send(HEARTBEAT);
    await waitFor(() => c.count('heartbeat') >= 6 || c.closed, 'heartbeats answered after the reopen');
    assert.equal(c.closed, undefined, `the transport stayed open: ${c.closed?.reason}`);
    assert.equal(c.count('register_ack'), 1, 'no frame delivered twice');
    await t.close();
  } finally {
    await agent.close();
    await relay.close();
    await h.close();
  }
});

test('sse: the gateway going away ends the transport with an error (bounded reopen attempts)', T, async () => {
  const h = await startHarness();
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    const t = sse(h.gw.url, await h.token('alice'), agent);
    const c = new Collector(t);
    await t.start();
    t.send(registerFrame('sse'));
    await c.next((f) => f.type === 'register_ack', 0, 'register_ack');
    await h.close();
    const info = await c.whenClosed();
    assert.ok(info.error instanceof TransportError, `closed with a TransportError: ${info.reason}`);
  } finally {
    await agent.close();
    await h.close();
  }
});

test('sse: no session event within the first-event deadline → ERR_TRANSPORT_BLOCKED (try poll)', T, async () => {
  const h = await startHarness();
  const relay = new FaultRelay(Number(new URL(h.gw.url).port));
  const port = await relay.listen();
  relay.mode = 'blackhole';
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    const t = sse(`http://127.0.0.1:${port}`, await h.token('alice'), agent, 300);
    const c = new Collector(t);
    await assert.rejects(t.start(), (err: unknown) => {
      assert.ok(err instanceof TransportError);
      assert.equal(err.code, 'ERR_TRANSPORT_BLOCKED');
      assert.match(err.message, /buffers the event stream/);
      return true;
    });
    assert.ok(c.closed?.error, 'onclose fired after the failed start');
  } finally {
    await agent.close();
    await relay.close();
    await h.close();
  }
});

test('sse: a wrong token is an auth failure (AuthRejectedError), not a blocked transport', T, async () => {
  const h = await startHarness();
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    for (const token of [undefined, 'not-a-jwt']) {
      const t = sse(h.gw.url, token, agent);
      await assert.rejects(t.start(), (err: unknown) => err instanceof AuthRejectedError && err.status === 401);
    }
  } finally {
    await agent.close();
    await h.close();
  }
});
