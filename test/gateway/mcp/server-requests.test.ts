/**
 * Routing of server→client requests by principal (server-requests.ts): never to a client
 * of a user other than the one whose request can have caused it; ambiguity across users
 * is an error to the server, same-user ambiguity keeps the newest-request heuristic.
 * And the initialize answer's protocol version (protocol-version.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { Multiplexer } from '../../../src/gateway/mcp/multiplexer.js';
import { RpcErrorCode } from '../../../src/protocol/jsonrpc.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { FakeClientPort, FakeTunnelPort, ManualClock, flush } from '../../helpers/gateway-fake-ports.js';

function setup(principals: Record<string, string>) {
  const mux = new Multiplexer({ serverName: 'shared', requestTimeoutMs: 1000, logger: silentLogger, clock: new ManualClock() });
  const tunnel = new FakeTunnelPort();
  mux.attachTunnel(tunnel);
  const clients: Record<string, FakeClientPort> = {};
  for (const [id, principal] of Object.entries(principals)) {
    const c = new FakeClientPort(id, principal);
    mux.addClient(c);
    mux.fromClient(id, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { sampling: {}, roots: {} }, clientInfo: { name: id, version: '1' } } });
    clients[id] = c;
  }
  return { mux, tunnel, clients };
}

const sampling = (id: string) => ({ jsonrpc: '2.0' as const, id, method: 'sampling/createMessage', params: { messages: [] } });
const asked = (c: FakeClientPort): string[] => c.messages.filter((m) => m.method !== undefined).map((m) => m.method as string);

test('requests of two users in flight: the server gets an error, no client is asked', async () => {
  const { mux, tunnel, clients } = setup({ a1: 'alice', b1: 'bob' });
  mux.fromClient('a1', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} });
  mux.fromClient('b1', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} });
  mux.fromServer(tunnel, sampling('s1'));
  await flush();
  const answer = tunnel.pushed.at(-1);
  assert.equal(answer.id, 's1');
  assert.equal(answer.error.code, RpcErrorCode.InternalError);
  assert.match(answer.error.message, /cannot tell which user sampling\/createMessage from server shared is for \(requests of 2 users are in flight\); run one server per user/);
  assert.deepEqual([asked(clients.a1!), asked(clients.b1!)], [[], []]);
});

test('a busy user without the capability still counts: its request is never answered by another user', async () => {
  const { mux, tunnel, clients } = setup({ a1: 'alice' });
  const bob = new FakeClientPort('b1', 'bob');
  mux.addClient(bob);
  mux.fromClient('b1', { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'b1', version: '1' } } });
  mux.fromClient('b1', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} });
  mux.fromServer(tunnel, sampling('s1'));
  await flush();
  assert.equal(tunnel.pushed.at(-1).error.code, RpcErrorCode.MethodNotFound);
  assert.match(tunnel.pushed.at(-1).error.message, /no connected MCP client of the user whose request is in flight supports sampling/);
  assert.deepEqual(asked(clients.a1!), []);
});

test('one user busy on two clients: the newest of them is asked (same-user heuristic)', async () => {
  const { mux, tunnel, clients } = setup({ a1: 'alice', a2: 'alice', b1: 'bob' });
  mux.fromClient('a1', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} });
  mux.fromClient('a2', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} });
  mux.fromServer(tunnel, sampling('s1'));
  await flush();
  assert.deepEqual([asked(clients.a1!), asked(clients.a2!), asked(clients.b1!)], [[], ['sampling/createMessage'], []]);
});

test('nothing in flight: asked only when every capable client belongs to one user', async () => {
  const two = setup({ a1: 'alice', b1: 'bob' });
  two.mux.fromServer(two.tunnel, { jsonrpc: '2.0', id: 'r1', method: 'roots/list' });
  assert.match(two.tunnel.pushed.at(-1).error.message, /\(clients of 2 users could answer it\)/);

  const one = setup({ a1: 'alice', a2: 'alice' });
  one.mux.fromServer(one.tunnel, { jsonrpc: '2.0', id: 'r1', method: 'roots/list' });
  await flush();
  assert.deepEqual(asked(one.clients.a1!), ['roots/list']);
});

test('initialize answers with the client\'s protocol version when supported, else the latest', async () => {
  const { mux, clients } = setup({});
  for (const [i, version] of [...SUPPORTED_PROTOCOL_VERSIONS, '1999-01-01', undefined].entries()) {
    const c = new FakeClientPort(`c${i}`);
    clients[c.id] = c;
    mux.addClient(c);
    mux.fromClient(c.id, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    await flush();
    assert.equal(c.messages[0].result.protocolVersion, version !== undefined && SUPPORTED_PROTOCOL_VERSIONS.includes(version) ? version : LATEST_PROTOCOL_VERSION);
  }
});

test('a notifications-only client (a 2026-07-28 listen stream) is never asked, even for a method no capability names', async () => {
  const mux = new Multiplexer({ serverName: 'shared', requestTimeoutMs: 1000, logger: silentLogger, clock: new ManualClock() });
  const tunnel = new FakeTunnelPort();
  mux.attachTunnel(tunnel);
  const listen = Object.assign(new FakeClientPort('l1', 'alice'), { notificationsOnly: true });
  mux.addClient(listen, {});
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: 's9', method: 'custom/ask', params: {} });
  await flush();
  assert.equal(tunnel.pushed.at(-1).id, 's9');
  assert.equal(tunnel.pushed.at(-1).error.code, RpcErrorCode.MethodNotFound);
  assert.deepEqual(asked(listen), []);
});
