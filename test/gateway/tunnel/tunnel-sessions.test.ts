/**
 * Tunnel-session lifecycle against a real gateway on 127.0.0.1: resume and replay,
 * resume-window expiry, replacement, unregister, dead-peer detection, plain peers,
 * bad frames and size limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcErrorCode } from '../../../src/protocol/jsonrpc.js';
import { FakeTunnelPeer, FAKE_SERVER_INFO, type Frame } from '../../helpers/gateway-fake-peer.js';
import { ECHO_SERVER, registeredPeer, T, waitForSession, withHarness } from '../../helpers/gateway-harness.js';

test('link drop + resume: in-flight and queued MCP requests are answered after resume', T, async () => {
  await withHarness(async (h) => {
    const { peer, ack, token } = await registeredPeer(h);
    const client = await h.mcpClient('echo', token);
    peer.handler = undefined;
    const inFlight = client.callTool({ name: 'echo', arguments: { n: 1 } });
    inFlight.catch(() => {}); // awaited below; a failed assertion before that must not turn into an unhandled rejection
    const first = await peer.nthRequest(0);
    const lastSeenSeq = peer.inboundAck;
    await peer.terminate(); // the request was received but never acknowledged

    await waitForSession(h, token, ack.sessionId, (s) => !s.connected);
    const queued = client.callTool({ name: 'echo', arguments: { n: 2 } });
    queued.catch(() => {});
    await waitForSession(h, token, ack.sessionId, (s) => s.queuedFrames === 2);

    const peer2 = await FakeTunnelPeer.connect(h.gw.url, token);
    peer2.handler = undefined;
    // Pretend the first request was lost: ack only what came before it.
    const resumedAck = await peer2.register(ECHO_SERVER, { resume: { sessionId: ack.sessionId, ack: lastSeenSeq - 1 } });
    assert.equal(resumedAck.type, 'register_ack');
    assert.equal(resumedAck.resumed, true);
    assert.equal(resumedAck.sessionId, ack.sessionId);
    assert.equal(resumedAck.ack, 0, 'the gateway acknowledges what it received from us');
    assert.equal(peer2.frames.indexOf(resumedAck), 0, 'register_ack comes before the replay');

    const replayed = [await peer2.nthRequest(0), await peer2.nthRequest(1)];
    assert.deepEqual(replayed.map((f) => f.seq), [first.seq, first.seq + 1]);
    assert.deepEqual(replayed.map((f) => f.payload.params.arguments), [{ n: 1 }, { n: 2 }]);
    for (const r of replayed) {
      peer2.respond(r.payload.id, { content: [{ type: 'text', text: `answer ${r.payload.params.arguments.n}` }] });
    }
    assert.deepEqual((await inFlight).content, [{ type: 'text', text: 'answer 1' }]);
    assert.deepEqual((await queued).content, [{ type: 'text', text: 'answer 2' }]);
    await peer2.close();
  });
});

test('resume window expiry fails pending requests with -32001', T, async () => {
  await withHarness(
    async (h) => {
      const { peer, token } = await registeredPeer(h);
      const client = await h.mcpClient('echo', token);
      peer.handler = undefined;
      const pending = client.callTool({ name: 'echo', arguments: {} });
      await peer.nthRequest(0);
      await peer.terminate();
      await assert.rejects(pending, (err: Error & { code?: number }) => {
        assert.equal(err.code, RpcErrorCode.TunnelUnavailable);
        assert.match(err.message, /tunnel to echo did not come back within 0\.2 s/);
        return true;
      });
      // The server is gone now: new requests fail at once, never hang.
      await assert.rejects(client.listTools(), (err: Error & { code?: number }) => err.code === RpcErrorCode.TunnelUnavailable);
      assert.deepEqual(((await (await h.api('/servers', { token })).json()) as { servers: Frame[] }).servers, []);
    },
    { resumeWindow: 0.2 },
  );
});

test('a plain peer without serverInfo is initialized by the gateway through the tunnel', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('carol');
    const peer = await FakeTunnelPeer.connect(h.gw.url, token, { reliable: false });
    // ContextForge's order: its own initialize answer first (dropped by the gateway), then register.
    peer.initializeOwnServer();
    const ack = await peer.register({ name: 'cf', description: 'ContextForge-style', protocol: 'stdio' });
    assert.equal(ack.type, 'register_ack');
    assert.equal('reliability' in ack, false);

    const init = await peer.next((f) => f.payload?.method === 'initialize');
    assert.equal(init.type, 'request');
    assert.equal(init.seq, undefined, 'plain mode: no seq');
    assert.equal(init.payload.params.clientInfo.name, 'mcp-reverse-proxy-gateway');
    assert.deepEqual(init.payload.params.capabilities, {});
    await peer.next((f) => f.payload?.method === 'notifications/initialized');

    // The SDK client connecting after the handshake sees the server's own InitializeResult.
    const sessions = ((await (await h.api('/reverse-proxy/sessions', { token })).json()) as { sessions: Frame[] }).sessions;
    assert.equal(sessions[0]!.mode, 'plain');
    const client = await h.mcpClient('cf', token);
    assert.deepEqual(client.getServerVersion(), FAKE_SERVER_INFO);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['echo']);
    await peer.close();
  });
});

test('a plain peer that answers every heartbeat with one (ContextForge) does not ping-pong with the gateway', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('carol');
    const peer = await FakeTunnelPeer.connect(h.gw.url, token, { reliable: false });
    assert.equal((await peer.register(ECHO_SERVER)).type, 'register_ack');
    const client = await h.mcpClient('echo', token);
    peer.sendRaw({ type: 'heartbeat', sessionId: peer.ownSessionId });
    await peer.next((f) => f.type === 'heartbeat'); // answered; the peer answers that one in turn
    // Two round trips through the same socket: a gateway answer to the peer's echo would arrive before them.
    await client.callTool({ name: 'echo', arguments: { n: 1 } });
    await client.callTool({ name: 'echo', arguments: { n: 2 } });
    assert.equal(peer.frames.filter((f) => f.type === 'heartbeat').length, 1);
    await peer.close();
  });
});

test('bad frames get an error frame and the session goes on; heartbeats are answered', T, async () => {
  await withHarness(async (h) => {
    const { peer, token } = await registeredPeer(h);
    peer.sendRaw('this is not json');
    const err = await peer.next((f) => f.type === 'error');
    assert.match(err.message, /not valid JSON/);
    peer.sendRaw({ type: 'heartbeat' });
    const hb = await peer.next((f) => f.type === 'heartbeat');
    assert.equal(typeof hb.timestamp, 'string');
    const client = await h.mcpClient('echo', token);
    assert.equal((await client.listTools()).tools.length, 1);
    await peer.close();
  });
});

test('the first frame must be register', T, async () => {
  await withHarness(async (h) => {
    const peer = await FakeTunnelPeer.connect(h.gw.url, await h.token('alice'));
    peer.sendRaw({ type: 'heartbeat' });
    const err = await peer.next((f) => f.type === 'error');
    assert.equal(err.code, 'invalid_register');
    assert.match(err.message, /first frame must be "register"/);
    await peer.whenClosed();
  });
});

test('a second register of the same name by the same user replaces the old session', T, async () => {
  await withHarness(async (h) => {
    const { peer, ack, token } = await registeredPeer(h);
    const client = await h.mcpClient('echo', token);
    peer.handler = undefined;
    const pending = client.callTool({ name: 'echo', arguments: {} });
    pending.catch(() => {});
    await peer.nthRequest(0);

    const peer2 = await FakeTunnelPeer.connect(h.gw.url, token);
    const ack2 = await peer2.register(ECHO_SERVER);
    assert.equal(ack2.resumed, false);
    assert.notEqual(ack2.sessionId, ack.sessionId);
    const told = await peer.next((f) => f.type === 'error');
    assert.equal(told.code, 'session_replaced');
    await peer.whenClosed();
    await assert.rejects(pending, (err: Error & { code?: number }) => err.code === RpcErrorCode.SessionClosed);
    // The same MCP client session goes on with the new tunnel.
    assert.equal((await client.listTools()).tools.length, 1);
    await peer2.close();
  });
});

test('unregister ends the session at once (no resume window)', T, async () => {
  await withHarness(async (h) => {
    const { peer, ack, token } = await registeredPeer(h);
    peer.sendRaw({ type: 'unregister' });
    await peer.whenClosed();
    const resumer = await FakeTunnelPeer.connect(h.gw.url, token);
    const again = await resumer.register(ECHO_SERVER, { resume: { sessionId: ack.sessionId, ack: 0 } });
    assert.equal(again.resumed, false, 'an unregistered session cannot be resumed');
    assert.notEqual(again.sessionId, ack.sessionId);
    await resumer.close();
  });
});

test('a peer silent for 2.5 keepalives is disconnected', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('alice');
    const peer = await FakeTunnelPeer.connect(h.gw.url, token);
    const ack = await peer.register(ECHO_SERVER, { keepalive: 0.04 }); // configuration: 100 ms of silence allowed
    await peer.whenClosed();
    const s = await waitForSession(h, token, ack.sessionId, (x) => !x.connected);
    assert.equal(s.connected, false);
  });
});

test('size limits: MCP bodies over maxFrameBytes get 413, tunnel frames over it close with 1009', T, async () => {
  await withHarness(
    async (h) => {
      const { peer, token } = await registeredPeer(h);
      const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(10_000) } });
      const res = await h.api('/servers/echo/mcp', {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body: big,
      });
      assert.equal(res.status, 413);
      const body = (await res.json()) as Frame;
      assert.equal(body.error.code, RpcErrorCode.MessageTooLarge);
      peer.sendRaw(JSON.stringify({ type: 'notification', payload: { jsonrpc: '2.0', method: 'x', params: { pad: 'y'.repeat(10_000) } } }));
      await peer.whenClosed();
      assert.equal(peer.closeCode, 1009);
    },
    { maxFrameBytes: 4096 },
  );
});
