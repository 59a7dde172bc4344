/**
 * TransportNegotiator (src/transport/negotiator.ts) with a real in-process gateway and
 * the real binary: pinned modes make no other attempt, auto walks ws → sse → poll only
 * for "blocked", auth failures never walk, an unreachable gateway stays on its rung, and
 * the background re-probe moves a live session back up to ws.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Agent } from 'undici';
import { AuthRejectedError, TransportError } from '../../src/errors.js';
import { TransportNegotiator } from '../../src/transport/negotiator.js';
import type { TransportMode } from '../../src/config/types.js';
import { startHarness, type Harness } from '../helpers/gateway-harness.js';
import { CHATTY_NAME, eventsNamed, logDigest, startTunnel } from '../helpers/network-rig.js';
import { firstText, stopAll, waitForServer } from '../helpers/system.js';
import { captureLogs } from '../client/log-capture.js';
import { Collector, instrumentGateway, registerFrame, startBufferingFront, type GatewayProbe } from './network-parts.js';

const T = { timeout: 60_000 };

async function echo(h: Harness, token: string, message: string): Promise<void> {
  const mcp = await h.mcpClient(CHATTY_NAME, token);
  assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message } })), `Echo: ${message}`);
}

function negotiator(gateway: string, mode: TransportMode, token: string | undefined, dispatcher: Agent, logger = captureLogs().logger) {
  return new TransportNegotiator({
    mode,
    gateway,
    dispatcher,
    handshakeTimeoutMs: 3_000,
    firstEventTimeoutMs: 1_000,
    reprobeIntervalMs: 0,
    logger,
    ...(token ? { token } : {}),
  });
}

const wsRequests = (probe: GatewayProbe): string[] => probe.paths.filter((p) => p.includes('/reverse-proxy/ws'));

describe('pinned transports through the real binary', () => {
  after(stopAll);
  for (const mode of ['sse', 'poll'] as const) {
    test(`--transport ${mode}: MCP calls work and /reverse-proxy/ws is never requested`, T, async () => {
      const h = await startHarness();
      const probe = instrumentGateway(h.gw.server);
      try {
        const token = await h.token('alice');
        const client = startTunnel(h.gw.url, token, ['--transport', mode, '--keepalive', '2']);
        const entry = await waitForServer(h.gw.url, token, CHATTY_NAME);
        assert.equal(entry.transport, mode, logDigest(client));
        await echo(h, token, `over ${mode}`);
        await client.stop();
        assert.deepEqual(wsRequests(probe), [], 'no WebSocket attempt at all');
        const opener = mode === 'sse' ? 'GET /reverse-proxy/sse' : 'GET /reverse-proxy/poll';
        assert.ok(probe.paths.includes(opener), `${opener} requested: ${probe.paths.slice(0, 5).join(', ')}`);
        assert.deepEqual(eventsNamed(client, 'transport_fallback'), []);
      } finally {
        await h.close();
      }
    });
  }
});

describe('auto mode', () => {
  after(stopAll);

  test('behind a store-and-forward front: WebSocket and SSE blocked → long-poll, one INFO line per step', T, async () => {
    const h = await startHarness();
    const front = await startBufferingFront(h.gw.url);
    try {
      const token = await h.token('alice');
      const client = startTunnel(front.url, token, ['--keepalive', '2', '--first-event-timeout', '0.5']);
      const entry = await waitForServer(h.gw.url, token, CHATTY_NAME);
      assert.equal(entry.transport, 'poll', logDigest(client));
      await echo(h, token, 'through the front');
      const steps = eventsNamed(client, 'transport_fallback');
      assert.deepEqual(steps.map((e) => `${String(e.from)}→${String(e.to)}`), ['ws→sse', 'sse→poll']);
      assert.match(String(steps[0]!.msg), /WebSocket blocked \(upgrade answered 426.*\) → trying SSE\+POST/);
      assert.match(String(steps[1]!.msg), /buffers the event stream.* → trying long-poll\+POST/);
      await client.stop();
    } finally {
      await front.close();
      await h.close();
    }
  });

  test('a wrong token is an auth failure on ws and on sse, never a step down', T, async () => {
    const h = await startHarness();
    const probe = instrumentGateway(h.gw.server);
    const agent = new Agent({ bodyTimeout: 0 });
    try {
      const logs = captureLogs();
      await assert.rejects(negotiator(h.gw.url, 'auto', 'not-a-jwt', agent, logs.logger).open(() => undefined), AuthRejectedError);
      assert.deepEqual(logs.records.filter((r) => r.event === 'transport_fallback'), []);
      assert.deepEqual(probe.paths.filter((p) => p.includes('/sse') || p.includes('/poll')), [], 'stopped at ws');
      // WebSocket blocked: the 401 then comes from the SSE stream, and is still an auth failure.
      probe.blockUpgrades = true;
      await assert.rejects(negotiator(h.gw.url, 'auto', 'not-a-jwt', agent).open(() => undefined), (err: unknown) => err instanceof AuthRejectedError && err.status === 401);
      await assert.rejects(negotiator(h.gw.url, 'sse', undefined, agent).open(() => undefined), AuthRejectedError);
    } finally {
      await agent.close();
      await h.close();
    }
  });

  test('gateway unreachable: retryable, no step down (the reconnect loop backs off on the same rung)', T, async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const agent = new Agent({ bodyTimeout: 0 });
    const logs = captureLogs();
    try {
      await assert.rejects(negotiator(`http://127.0.0.1:${port}`, 'auto', 'x', agent, logs.logger).open(() => undefined), (err: unknown) => {
        assert.ok(err instanceof TransportError, String(err));
        assert.equal(err.code, 'ERR_TRANSPORT');
        assert.match(err.message, /ECONNREFUSED/);
        return true;
      });
      assert.deepEqual(logs.records.filter((r) => r.event === 'transport_fallback'), []);
    } finally {
      await agent.close();
    }
  });

  test('re-probe: ws blocked → sse; once ws gets through, reprobe() moves up (no register on the probe)', T, async () => {
    const h = await startHarness();
    const probe = instrumentGateway(h.gw.server);
    probe.blockUpgrades = true;
    const agent = new Agent({ bodyTimeout: 0 });
    try {
      const n = negotiator(h.gw.url, 'auto', await h.token('alice'), agent);
      const upgrades: string[] = [];
      n.onupgrade = (to) => upgrades.push(to);
      let c: Collector | undefined;
      const t = await n.open((x) => (c = new Collector(x)));
      assert.equal(t.kind, 'sse');
      t.send(registerFrame('sse'));
      await c!.next((f) => f.type === 'register_ack', 0, 'register_ack on sse');
      assert.equal(await n.reprobe(), false, 'still blocked');
      assert.deepEqual(upgrades, []);
      probe.blockUpgrades = false;
      assert.equal(await n.reprobe(), true, 'ws gets through now');
      assert.deepEqual(upgrades, ['ws']);
      assert.equal(n.current, 'ws', 'reconnects start from ws');
      assert.equal(c!.closed, undefined, 'the probe left the live transport alone');
      await t.close();
      await n.dispose();
    } finally {
      await agent.close();
      await h.close();
    }
  });

  test('re-probe through the real binary: the live session moves up to ws and resumes', T, async () => {
    const h = await startHarness();
    const probe = instrumentGateway(h.gw.server);
    probe.blockUpgrades = true;
    try {
      const token = await h.token('alice');
      const client = startTunnel(h.gw.url, token, ['--keepalive', '2', '--reprobe-interval', '0.2']);
      const first = await waitForServer(h.gw.url, token, CHATTY_NAME);
      assert.equal(first.transport, 'sse', logDigest(client));
      await echo(h, token, 'on sse');
      probe.blockUpgrades = false;
      const moved = await waitForServer(h.gw.url, token, CHATTY_NAME, (s) => s.transport === 'ws');
      assert.equal(moved.sessionId, first.sessionId, 'same tunnel session');
      await echo(h, token, 'on ws');
      assert.equal(eventsNamed(client, 'transport_upgrade').length, 1, logDigest(client));
      const connected = eventsNamed(client, 'connected').map((e) => `${String(e.transport)}${e.resumed === true ? '+resumed' : ''}`);
      assert.deepEqual(connected, ['sse', 'ws+resumed']);
      await client.stop();
    } finally {
      await h.close();
    }
  });
});

describe('auto mode, SSE buffered after its start', () => {
  after(stopAll);

  test('the session event gets through but nothing after it: the tunnel steps down to long-poll', T, async () => {
    const h = await startHarness();
    // The gateway's 2 KiB padding comment (2049 bytes) and the session event (~110 bytes)
    // pass; register_ack, right behind them, does not.
    const front = await startBufferingFront(h.gw.url, { passFirstBytes: 2200 });
    try {
      const token = await h.token('alice');
      const client = startTunnel(front.url, token, ['--keepalive', '2', '--first-event-timeout', '1']);
      // The gateway lists the session on sse for a moment: it got the register.
      await waitForServer(h.gw.url, token, CHATTY_NAME, (s) => s.transport === 'poll').catch((err: unknown) => {
        throw new Error(`${String(err)}\n${logDigest(client)}`);
      });
      await echo(h, token, 'after the step down');
      const steps = eventsNamed(client, 'transport_fallback').map((e) => `${String(e.from)}→${String(e.to)}`);
      assert.deepEqual(steps, ['ws→sse', 'sse→poll'], logDigest(client));
      await client.stop();
    } finally {
      await front.close();
      await h.close();
    }
  });
});
