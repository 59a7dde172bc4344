/**
 * The gateway end to end on 127.0.0.1: a hand-written tunnel peer over a real WebSocket
 * on one side, the real MCP SDK client over Streamable HTTP on the other. Auth, HTTP
 * routes and the MCP relay; tunnel-session lifecycle is in tunnel-sessions.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../../src/gateway/index.js';
import { GATEWAY_DEFAULTS } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/observability/logger.js';
import { FakeTunnelPeer, FAKE_SERVER_INFO, FAKE_TOOLS, upgradeStatus, type Frame } from '../helpers/gateway-fake-peer.js';
import { ECHO_SERVER, registeredPeer, T, withHarness } from '../helpers/gateway-harness.js';

test('startGateway refuses to run without a secret unless --no-auth', async () => {
  await assert.rejects(startGateway({ ...GATEWAY_DEFAULTS, port: 0 }, silentLogger), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /--jwt-secret/);
    assert.match(err.message, /JWT_SECRET_KEY/);
    assert.match(err.message, /--no-auth/);
    return true;
  });
});

test('healthz needs no token; API routes and the tunnel upgrade need one', T, async () => {
  await withHarness(async (h) => {
    assert.equal(h.gw.url.startsWith('http://127.0.0.1:'), true);
    assert.notEqual(h.gw.url, 'http://127.0.0.1:0');
    const health = await h.api('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    for (const path of ['/servers', '/reverse-proxy/sessions']) {
      const res = await h.api(path);
      assert.equal(res.status, 401, path);
      assert.equal(typeof ((await res.json()) as { error: string }).error, 'string');
    }
    assert.equal((await h.api('/servers', { token: 'not-a-jwt' })).status, 401);
    assert.equal((await h.api('/servers/echo/mcp', { method: 'POST', body: '{}' })).status, 401);
    assert.equal((await h.api('/nope', { token: await h.token('alice') })).status, 404);
    assert.equal((await h.api('/servers', { method: 'PUT', token: await h.token('alice') })).status, 405);
    assert.equal(await upgradeStatus(h.gw.url), 401);
    assert.equal(await upgradeStatus(h.gw.url, { Authorization: 'Bearer junk' }), 401);
    assert.equal(await upgradeStatus(h.gw.url, { Authorization: `Bearer ${await h.token('alice')}` }), 101);
  });
});

test('MCP SDK client lists and calls tools through the tunnel', T, async () => {
  await withHarness(async (h) => {
    const { peer, ack, token } = await registeredPeer(h);
    assert.equal(ack.status, 'success');
    assert.equal(ack.resumed, false);
    assert.equal(ack.reliability, 'seq-ack/1');
    assert.match(ack.sessionId, /^[0-9a-f-]{36}$/);

    const client = await h.mcpClient('echo', token);
    assert.deepEqual(client.getServerVersion(), FAKE_SERVER_INFO);
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name), FAKE_TOOLS.map((t) => t.name));
    const result = await client.callTool({ name: 'echo', arguments: { hello: 'world' } });
    assert.deepEqual(result.content, [{ type: 'text', text: '{"hello":"world"}' }]);
    await client.ping();

    // The gateway answered initialize itself: the peer only saw the relayed requests.
    const methods = peer.frames.filter((f) => f.type === 'request').map((f) => f.payload.method);
    assert.deepEqual(methods, ['tools/list', 'tools/call']);
    assert.ok(peer.frames.filter((f) => f.type === 'request').every((f) => typeof f.seq === 'number'));

    const servers = (await (await h.api('/servers', { token })).json()) as { servers: Frame[] };
    assert.equal(servers.servers.length, 1);
    assert.equal(servers.servers[0]!.name, 'echo');
    assert.equal(servers.servers[0]!.connected, true);
    assert.equal(servers.servers[0]!.transport, 'ws');
    assert.deepEqual(servers.servers[0]!.serverInfo, FAKE_SERVER_INFO);
    await peer.close();
  });
});

test('two concurrent MCP clients get their own answers', T, async () => {
  await withHarness(async (h) => {
    const { peer, token } = await registeredPeer(h);
    const c1 = await h.mcpClient('echo', token);
    const c2 = await h.mcpClient('echo', token);
    peer.handler = undefined; // answer by hand, in reverse order of arrival
    const p1 = c1.callTool({ name: 'echo', arguments: { from: 'c1' } });
    const p2 = c2.callTool({ name: 'echo', arguments: { from: 'c2' } });
    const r1 = await peer.nthRequest(0);
    const r2 = await peer.nthRequest(1);
    assert.notEqual(r1.payload.id, r2.payload.id);
    for (const r of [r2, r1]) {
      peer.respond(r.payload.id, { content: [{ type: 'text', text: JSON.stringify(r.payload.params.arguments) }] });
    }
    assert.deepEqual((await p1).content, [{ type: 'text', text: '{"from":"c1"}' }]);
    assert.deepEqual((await p2).content, [{ type: 'text', text: '{"from":"c2"}' }]);
    await peer.close();
  });
});

test('POST /reverse-proxy/sessions/{id}/request relays one JSON-RPC message', T, async () => {
  await withHarness(async (h) => {
    const { peer, ack, token } = await registeredPeer(h);
    const res = await h.api(`/reverse-proxy/sessions/${ack.sessionId}/request`, {
      method: 'POST',
      token,
      body: JSON.stringify({ jsonrpc: '2.0', id: 'abc', method: 'tools/list' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 'abc', result: { tools: FAKE_TOOLS } });
    const note = await h.api(`/reverse-proxy/sessions/${ack.sessionId}/request`, {
      method: 'POST',
      token,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }),
    });
    assert.equal(note.status, 202);
    await peer.next((f) => f.payload?.method === 'notifications/roots/list_changed');
    await peer.close();
  });
});

test('sessions: owners see and delete their own, admins all, others get 403', T, async () => {
  await withHarness(async (h) => {
    const { peer, ack, token: alice } = await registeredPeer(h, 'alice');
    const bob = await h.token('bob');
    const admin = await h.token('root', true);
    const list = async (token: string) =>
      ((await (await h.api('/reverse-proxy/sessions', { token })).json()) as { sessions: Frame[] }).sessions;

    const mine = await list(alice);
    assert.equal(mine.length, 1);
    assert.deepEqual(
      { sessionId: mine[0]!.sessionId, name: mine[0]!.name, owner: mine[0]!.owner, connected: mine[0]!.connected, mode: mine[0]!.mode, transport: mine[0]!.transport },
      { sessionId: ack.sessionId, name: 'echo', owner: 'alice', connected: true, mode: 'reliable', transport: 'ws' },
    );
    assert.deepEqual(await list(bob), []);
    assert.equal((await list(admin)).length, 1);
    assert.deepEqual(((await (await h.api('/servers', { token: bob })).json()) as { servers: Frame[] }).servers, []);

    // Bob cannot take the name either.
    const bobPeer = await FakeTunnelPeer.connect(h.gw.url, bob);
    const refused = await bobPeer.register(ECHO_SERVER);
    assert.equal(refused.type, 'error');
    assert.equal(refused.message, 'server name echo is registered by another user');
    await bobPeer.whenClosed();

    assert.equal((await h.api(`/reverse-proxy/sessions/${ack.sessionId}`, { method: 'DELETE', token: bob })).status, 403);
    assert.equal((await h.api('/reverse-proxy/sessions/no-such-id', { method: 'DELETE', token: alice })).status, 404);
    const del = await h.api(`/reverse-proxy/sessions/${ack.sessionId}`, { method: 'DELETE', token: admin });
    assert.equal(del.status, 200);
    const told = await peer.next((f) => f.type === 'error');
    assert.equal(told.code, 'session_deleted');
    assert.equal(told.message, 'session deleted by root');
    await peer.whenClosed();
    assert.deepEqual(await list(admin), []);
  });
});

test('--no-auth: every request is an anonymous admin', T, async () => {
  await withHarness(
    async (h) => {
      const peer = await FakeTunnelPeer.connect(h.gw.url, undefined);
      const ack = await peer.register(ECHO_SERVER);
      assert.equal(ack.type, 'register_ack');
      const res = await h.api('/reverse-proxy/sessions');
      assert.equal(res.status, 200);
      const sessions = ((await res.json()) as { sessions: Frame[] }).sessions;
      assert.equal(sessions[0]!.owner, 'anonymous');
      await peer.close();
    },
    { noAuth: true, jwtSecret: undefined },
  );
});

test('MCP endpoint: unknown server 404, unknown session 404, non-initialize without session 400', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('alice');
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    assert.equal((await h.api('/servers/nope/mcp', { method: 'POST', token, headers, body: init })).status, 404);
    const { peer } = await registeredPeer(h);
    const unknown = await h.api('/servers/echo/mcp', { method: 'POST', token, headers: { ...headers, 'mcp-session-id': 'made-up' }, body: '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' });
    assert.equal(unknown.status, 404);
    const noSession = await h.api('/servers/echo/mcp', { method: 'POST', token, headers, body: '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' });
    assert.equal(noSession.status, 400);
    await peer.close();
  });
});

// HTTPS itself is covered by tls.test.ts.
test('gateway TLS files that cannot be read are a clear ConfigError', async () => {
  await assert.rejects(
    startGateway({ ...GATEWAY_DEFAULTS, port: 0, jwtSecret: 's', tlsCert: 'cert.pem', tlsKey: 'key.pem' }, silentLogger),
    (err: unknown) => err instanceof ConfigError && /--tls-cert/.test(err.message) && /cert\.pem/.test(err.message),
  );
});
