import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Multiplexer } from '../../../src/gateway/mcp/multiplexer.js';
import { RpcErrorCode } from '../../../src/protocol/jsonrpc.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { FakeClientPort, FakeTunnelPort, ManualClock, flush, FAKE_INIT } from '../../helpers/gateway-fake-ports.js';

function setup(requestTimeoutMs = 1000) {
  const clock = new ManualClock();
  const mux = new Multiplexer({ serverName: 'fake', requestTimeoutMs, logger: silentLogger, clock });
  const tunnel = new FakeTunnelPort();
  mux.attachTunnel(tunnel);
  const a = new FakeClientPort('client-a');
  const b = new FakeClientPort('client-b');
  mux.addClient(a);
  mux.addClient(b);
  return { clock, mux, tunnel, a, b };
}

function initialize(mux: Multiplexer, client: FakeClientPort, capabilities: Record<string, unknown> = {}): void {
  mux.fromClient(client.id, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: client.id, version: '1' } } });
  mux.fromClient(client.id, { jsonrpc: '2.0', method: 'notifications/initialized' });
}

test('initialize and ping are answered locally from the registered InitializeResult', async () => {
  const { mux, tunnel, a } = setup();
  initialize(mux, a);
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 9, method: 'ping' });
  await flush();
  assert.deepEqual(a.messages, [
    { jsonrpc: '2.0', id: 0, result: FAKE_INIT },
    { jsonrpc: '2.0', id: 9, result: {} },
  ]);
  assert.deepEqual(tunnel.pushed, [], 'nothing reaches the tunnel');
});

test('two clients using the same id get distinct tunnel ids and their own responses', async () => {
  const { mux, tunnel, a, b } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { who: 'a' } } });
  mux.fromClient(b.id, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { who: 'b' } } });
  assert.equal(tunnel.pushed.length, 2);
  const [ta, tb] = tunnel.pushed;
  assert.notEqual(ta.id, tb.id, 'tunnel ids are unique');
  assert.deepEqual(ta.params.arguments, { who: 'a' });
  // Answer in reverse order.
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: tb.id, result: { who: 'b' } });
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: ta.id, result: { who: 'a' } });
  await flush();
  assert.deepEqual(a.received, [{ msg: { jsonrpc: '2.0', id: 1, result: { who: 'a' } }, related: 1 }]);
  assert.deepEqual(b.received, [{ msg: { jsonrpc: '2.0', id: 1, result: { who: 'b' } }, related: 1 }]);
  assert.equal(mux.pendingCount, 0);
});

test('a response nobody asked for is ignored', async () => {
  const { mux, tunnel, a, b } = setup();
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: 4242, result: {} });
  await flush();
  assert.equal(a.received.length + b.received.length, 0);
});

test('notifications/cancelled from a client is rewritten to the tunnel id; the late response is dropped', async () => {
  const { mux, tunnel, a } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 'req-7', method: 'tools/call', params: { name: 'slow' } });
  const tunnelId = tunnel.pushed[0].id;
  mux.fromClient(a.id, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'req-7', reason: 'user hit stop' } });
  assert.deepEqual(tunnel.pushed[1], {
    jsonrpc: '2.0',
    method: 'notifications/cancelled',
    params: { requestId: tunnelId, reason: 'user hit stop' },
  });
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: tunnelId, result: {} });
  await flush();
  assert.deepEqual(a.received, []);
});

test('a client going away cancels its outstanding requests upstream', () => {
  const { mux, tunnel, a } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'tools/call' });
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 2, method: 'tools/call' });
  const ids = tunnel.pushed.map((m) => m.id);
  mux.removeClient(a.id);
  const cancelled = tunnel.pushed.slice(2).map((m) => [m.method, m.params.requestId]);
  assert.deepEqual(cancelled.sort(), ids.map((id) => ['notifications/cancelled', id]).sort());
  assert.equal(mux.pendingCount, 0);
});

test('server→client request goes to a client that declared the capability; its answer returns with the server id', async () => {
  const { mux, tunnel, a, b } = setup();
  initialize(mux, a, {});
  initialize(mux, b, { sampling: {} });
  await flush();
  a.received.length = 0;
  b.received.length = 0;
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { messages: [] } });
  await flush();
  assert.equal(a.received.length, 0, 'the client without sampling is not asked');
  assert.equal(b.received.length, 1);
  const asked = b.messages[0];
  assert.equal(asked.method, 'sampling/createMessage');
  assert.notEqual(asked.id, 'srv-1', 'the client sees a gateway id');
  mux.fromClient(b.id, { jsonrpc: '2.0', id: asked.id, result: { role: 'assistant', content: { type: 'text', text: 'hi' } } });
  assert.deepEqual(tunnel.pushed.at(-1), { jsonrpc: '2.0', id: 'srv-1', result: { role: 'assistant', content: { type: 'text', text: 'hi' } } });
});

test('server→client request with no capable client is answered at once with -32601', () => {
  const { mux, tunnel, a } = setup();
  initialize(mux, a, { roots: {} });
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: 5, method: 'sampling/createMessage', params: {} });
  assert.deepEqual(tunnel.pushed, [
    { jsonrpc: '2.0', id: 5, error: { code: RpcErrorCode.MethodNotFound, message: 'no connected MCP client supports sampling' } },
  ]);
});

test('a server ping is answered by the gateway', () => {
  const { mux, tunnel } = setup();
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: 'p', method: 'ping' });
  assert.deepEqual(tunnel.pushed, [{ jsonrpc: '2.0', id: 'p', result: {} }]);
});

test('progress is routed by rewritten token to the requesting client only; other notifications fan out', async () => {
  const { mux, tunnel, a, b } = setup();
  initialize(mux, a);
  initialize(mux, b);
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 1 } } });
  mux.fromClient(b.id, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 1 } } });
  const [ta, tb] = tunnel.pushed;
  assert.notEqual(ta.params._meta.progressToken, tb.params._meta.progressToken);
  await flush();
  a.received.length = 0;
  b.received.length = 0;
  mux.fromServer(tunnel, { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: tb.params._meta.progressToken, progress: 1 } });
  mux.fromServer(tunnel, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  await flush();
  assert.deepEqual(a.messages, [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }]);
  assert.deepEqual(b.received[0], {
    msg: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
    related: 1,
  });
  assert.deepEqual(b.received[1]!.msg, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
});

test('timeout answers -32003 and cancels upstream', async () => {
  const { mux, tunnel, a, clock } = setup(500);
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 3, method: 'tools/call' });
  clock.advance(499);
  await flush();
  assert.equal(a.received.length, 0);
  clock.advance(1);
  await flush();
  assert.equal(a.messages[0].error.code, RpcErrorCode.RequestTimeout);
  assert.equal(tunnel.pushed[1].method, 'notifications/cancelled');
});

test('saturated tunnel answers -32002 at once; unavailable tunnel -32001', async () => {
  const { mux, tunnel, a } = setup();
  tunnel.saturated = true;
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
  tunnel.saturated = false;
  tunnel.unavailable = 'tunnel session to fake ended';
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
  await flush();
  assert.deepEqual(a.messages, [
    { jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.TunnelSaturated, message: 'tunnel to fake is saturated' } },
    { jsonrpc: '2.0', id: 2, error: { code: RpcErrorCode.TunnelUnavailable, message: 'tunnel session to fake ended' } },
  ]);
  assert.equal(mux.pendingCount, 0);
});

test('detaching the tunnel fails its pending requests with the given error', async () => {
  const { mux, tunnel, a } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'tools/call' });
  mux.detachTunnel(tunnel, RpcErrorCode.TunnelUnavailable, 'tunnel to fake did not come back within 120 s');
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 2, method: 'tools/call' });
  await flush();
  assert.deepEqual(a.messages.map((m) => [m.id, m.error.code]), [
    [1, RpcErrorCode.TunnelUnavailable],
    [2, RpcErrorCode.TunnelUnavailable],
  ]);
  assert.match(a.messages[0].error.message, /did not come back within 120 s/);
});
