/**
 * The `poll` client transport (src/transport/poll.ts) against a real in-process gateway:
 * link creation, the long-poll loop, a failed poll retried with the same `after`, a clear
 * end when the gateway is gone, 401 as an auth failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { AuthRejectedError, TransportError } from '../../src/errors.js';
import { PollTransport } from '../../src/transport/poll.js';
import { FaultRelay } from '../helpers/fault-relay.js';
import { startHarness, T } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/system.js';
import { Collector, instrumentGateway, registerFrame } from './network-parts.js';

const HEARTBEAT = JSON.stringify({ type: 'heartbeat' });

function poll(base: string, token: string | undefined, dispatcher: Agent, keepaliveMs = 2_000): PollTransport {
  return new PollTransport({ base, dispatcher, openTimeoutMs: 5_000, keepaliveMs, ...(token ? { token } : {}) });
}

test('poll: creates a link, registers, long-polls with after/wait, answers flow in order', T, async () => {
  const h = await startHarness();
  const probe = instrumentGateway(h.gw.server);
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    const t = poll(h.gw.url, await h.token('alice'), agent);
    const c = new Collector(t);
    await t.start();
    t.send(registerFrame('poll'));
    await c.next((f) => f.type === 'register_ack', 0, 'register_ack');
    for (let i = 0; i < 20; i++) t.send(HEARTBEAT);
    await waitFor(() => c.count('heartbeat') >= 20, '20 heartbeats answered');
    assert.equal(c.parsed, c.frames.length, 'each frame parsed once, with its poll answer, and handed over as a value');
    const polls = probe.paths.filter((p) => /^GET \/reverse-proxy\/links\/[^/]+\/poll\?after=\d+&wait=2$/.test(p));
    assert.ok(polls.length >= 2, `long polls with after and wait=min(25, keepalive): ${probe.paths.join(', ')}`);
    const afters = polls.map((p) => Number(/after=(\d+)/.exec(p)![1]));
    assert.deepEqual([...afters].sort((a, b) => a - b), afters, '`after` never goes back');
    assert.ok(probe.paths.every((p) => !p.includes('/reverse-proxy/ws') && !p.includes('/reverse-proxy/sse')), 'only poll requests');
    await t.close();
    assert.equal(c.closed?.error, undefined);
  } finally {
    await agent.close();
    await h.close();
  }
});

test('poll: a cut poll is retried with the same `after`; the link survives', T, async () => {
  const h = await startHarness();
  const probe = instrumentGateway(h.gw.server);
  const relay = new FaultRelay(Number(new URL(h.gw.url).port));
  const port = await relay.listen();
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    const t = poll(`http://127.0.0.1:${port}`, await h.token('alice'), agent, 10_000);
    const c = new Collector(t);
    await t.start();
    t.send(registerFrame('poll'));
    await c.next((f) => f.type === 'register_ack', 0, 'register_ack');
    await waitFor(() => t.uplinkIdle, 'no POST in flight');
    // Wait until a poll is parked at the gateway, then cut it.
    const pollsBefore = await waitFor(() => {
      const n = probe.paths.filter((p) => p.includes('/poll?after=')).length;
      return n >= 2 ? n : undefined;
    }, 'a parked poll after the register_ack');
    const lastAfter = /after=(\d+)/.exec(probe.paths.filter((p) => p.includes('/poll?after=')).at(-1)!)![1];
    assert.ok(relay.cutAll('rst') >= 1);
    const retried = await waitFor(
      () => probe.paths.filter((p) => p.includes('/poll?after=')).slice(pollsBefore)[0],
      'the poll to be retried',
    );
    assert.match(retried, new RegExp(`after=${lastAfter}&`), 'same after');
    await waitFor(() => t.uplinkIdle, 'no POST in flight');
    t.send(HEARTBEAT);
    await waitFor(() => c.count('heartbeat') >= 1 || c.closed, 'heartbeat answered after the cut');
    assert.equal(c.closed, undefined, `the transport stayed open: ${c.closed?.reason}`);
    assert.equal(c.count('register_ack'), 1, 'no frame delivered twice');
    await t.close();
  } finally {
    await agent.close();
    await relay.close();
    await h.close();
  }
});

test('poll: the gateway going away ends the transport with an error after bounded retries', T, async () => {
  const h = await startHarness();
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    const t = poll(h.gw.url, await h.token('alice'), agent);
    const c = new Collector(t);
    await t.start();
    t.send(registerFrame('poll'));
    await c.next((f) => f.type === 'register_ack', 0, 'register_ack');
    await h.close();
    const info = await c.whenClosed();
    assert.ok(info.error instanceof TransportError, `closed with a TransportError: ${info.reason}`);
  } finally {
    await agent.close();
    await h.close();
  }
});

test('poll: a wrong token is an auth failure (AuthRejectedError)', T, async () => {
  const h = await startHarness();
  const agent = new Agent({ bodyTimeout: 0 });
  try {
    const t = poll(h.gw.url, 'not-a-jwt', agent);
    await assert.rejects(t.start(), (err: unknown) => err instanceof AuthRejectedError && err.status === 401);
  } finally {
    await agent.close();
    await h.close();
  }
});
