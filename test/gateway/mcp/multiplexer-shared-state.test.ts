/**
 * Multiplexer behaviour for state several MCP clients share on one server: resource
 * subscriptions, logging levels, server→client request routing preference, and the
 * per-request outcome hook the metrics read. Plain ports, manual clock, no sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Multiplexer } from '../../../src/gateway/mcp/multiplexer.js';
import type { RequestDone } from '../../../src/gateway/mcp/request-outcome.js';
import { RpcErrorCode } from '../../../src/protocol/jsonrpc.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { FakeClientPort, FakeTunnelPort, ManualClock, flush } from '../../helpers/gateway-fake-ports.js';

function setup() {
  const done: RequestDone[] = [];
  const mux = new Multiplexer({ serverName: 'fake', requestTimeoutMs: 1000, logger: silentLogger, clock: new ManualClock(), onRequestDone: (d) => done.push(d) });
  const tunnel = new FakeTunnelPort();
  mux.attachTunnel(tunnel);
  const clients = ['a', 'b', 'c'].map((id) => new FakeClientPort(id));
  for (const c of clients) {
    mux.addClient(c);
    mux.fromClient(c.id, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: c.id === 'c' ? {} : { sampling: {} }, clientInfo: { name: c.id, version: '1' } } });
  }
  const [a, b, c] = clients as [FakeClientPort, FakeClientPort, FakeClientPort];
  return { mux, tunnel, a, b, c, done };
}

async function settled(...clients: FakeClientPort[]): Promise<void> {
  await flush();
  for (const c of clients) c.received.length = 0;
}

/** Answer the last request pushed to the fake tunnel. */
function answerLast(mux: Multiplexer, tunnel: FakeTunnelPort, result: unknown = {}): void {
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: tunnel.pushed.at(-1).id, result } as never);
}

test('subscribe goes upstream for the first subscriber only; updates reach subscribers only; last leaver unsubscribes', async () => {
  const { mux, tunnel, a, b, c } = setup();
  await settled(a, b, c);
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'demo://1' } });
  assert.equal(tunnel.pushed.length, 1);
  assert.equal(tunnel.pushed[0].method, 'resources/subscribe');
  answerLast(mux, tunnel);
  mux.fromClient(b.id, { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'demo://1' } });
  assert.equal(tunnel.pushed.length, 1, 'second subscriber is answered by the gateway');
  await flush();
  assert.deepEqual(a.messages, [{ jsonrpc: '2.0', id: 1, result: {} }]);
  assert.deepEqual(b.messages, [{ jsonrpc: '2.0', id: 1, result: {} }]);
  await settled(a, b, c);

  mux.fromServer(tunnel, { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'demo://1' } });
  mux.fromServer(tunnel, { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'demo://other' } });
  mux.fromServer(tunnel, { jsonrpc: '2.0', method: 'notifications/resources/list_changed' });
  await flush();
  const methods = (p: FakeClientPort) => p.messages.map((m) => `${m.method} ${m.params?.uri ?? ''}`.trim());
  assert.deepEqual(methods(a), ['notifications/resources/updated demo://1', 'notifications/resources/list_changed']);
  assert.deepEqual(methods(b), ['notifications/resources/updated demo://1', 'notifications/resources/list_changed']);
  assert.deepEqual(methods(c), ['notifications/resources/list_changed'], 'list_changed fans out to everyone');

  mux.fromClient(a.id, { jsonrpc: '2.0', id: 2, method: 'resources/unsubscribe', params: { uri: 'demo://1' } });
  assert.equal(tunnel.pushed.length, 1, 'b still subscribed: nothing upstream');
  mux.removeClient(b.id);
  assert.deepEqual(tunnel.pushed.at(-1), { jsonrpc: '2.0', id: tunnel.pushed.at(-1).id, method: 'resources/unsubscribe', params: { uri: 'demo://1' } });
  assert.match(String(tunnel.pushed.at(-1).id), /^gateway-sync-/);
});

test('a refused first subscribe is forgotten, so the next subscriber tries upstream again', async () => {
  const { mux, tunnel, a, b } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'x://' } });
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: tunnel.pushed[0].id, error: { code: -32602, message: 'no such resource' } });
  mux.fromClient(b.id, { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'x://' } });
  assert.equal(tunnel.pushed.length, 2);
  assert.equal(tunnel.pushed[1].method, 'resources/subscribe');
});

test('logging/setLevel: the server gets the most verbose level; each client sees only its own levels', async () => {
  const { mux, tunnel, a, b, c } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'logging/setLevel', params: { level: 'error' } });
  assert.deepEqual(tunnel.pushed.at(-1).params, { level: 'error' });
  answerLast(mux, tunnel);
  mux.fromClient(b.id, { jsonrpc: '2.0', id: 1, method: 'logging/setLevel', params: { level: 'debug' } });
  assert.deepEqual(tunnel.pushed.at(-1).params, { level: 'debug' });
  answerLast(mux, tunnel);
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'warning' } });
  assert.equal(tunnel.pushed.length, 2, 'a less verbose level than b\'s changes nothing upstream');
  await settled(a, b, c);

  for (const level of ['debug', 'info', 'error']) mux.fromServer(tunnel, { jsonrpc: '2.0', method: 'notifications/message', params: { level, data: level } });
  await flush();
  assert.deepEqual(a.messages.map((m) => m.params.level), ['error']);
  assert.deepEqual(b.messages.map((m) => m.params.level), ['debug', 'info', 'error']);
  assert.deepEqual(c.messages.map((m) => m.params.level), ['debug', 'info', 'error'], 'no level set: everything');

  mux.removeClient(b.id);
  assert.deepEqual(tunnel.pushed.at(-1).params, { level: 'warning' }, 'the most verbose client left: back to the next one');
});

test('a fresh tunnel session gets the subscriptions and level back', () => {
  const { mux, tunnel, a } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'demo://1' } });
  answerLast(mux, tunnel);
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'info' } });
  answerLast(mux, tunnel);
  const next = new FakeTunnelPort('tunnel-2');
  mux.attachTunnel(next);
  assert.deepEqual(next.pushed.map((m) => [m.method, m.params]), [
    ['resources/subscribe', { uri: 'demo://1' }],
    ['logging/setLevel', { level: 'info' }],
  ]);
});

test('server→client request goes to the capable client with the newest request in flight', async () => {
  const { mux, tunnel, a, b, c } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
  mux.fromClient(b.id, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'sample' } });
  mux.fromClient(c.id, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'y' } });
  await settled(a, b, c);
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: 's1', method: 'sampling/createMessage', params: {} });
  await flush();
  assert.equal(a.received.length, 0);
  assert.equal(c.received.length, 0, 'c is newest but cannot sample');
  assert.equal(b.received[0]!.msg.method, 'sampling/createMessage');
  assert.equal(b.received[0]!.related, 7, 'rides the stream of the request that triggered it');
});

test('every relayed request reports one outcome', async () => {
  const { mux, tunnel, a, done } = setup();
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
  answerLast(mux, tunnel, { tools: [] });
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 2, method: 'tools/call' });
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: tunnel.pushed.at(-1).id, error: { code: -32602, message: 'bad' } });
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 3, method: 'tools/call' });
  mux.fromClient(a.id, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 3 } });
  tunnel.unavailable = 'down';
  mux.fromClient(a.id, { jsonrpc: '2.0', id: 4, method: 'tools/call' });
  assert.deepEqual(done.map((d) => [d.method, d.outcome, d.seconds === undefined]), [
    ['tools/list', 'ok', false],
    ['tools/call', 'error', false],
    ['tools/call', 'cancelled', false],
    ['tools/call', 'unavailable', true],
  ]);
  await flush();
  assert.equal(a.messages.at(-1).error.code, RpcErrorCode.TunnelUnavailable);
});

test('client notifications/roots/list_changed goes upstream; roots/list and elicitation need their capability', async () => {
  const { mux, tunnel, a, b, c } = setup();
  mux.fromClient(c.id, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
  assert.deepEqual(tunnel.pushed.at(-1), { jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
  await settled(a, b, c);
  // Nobody declared roots or elicitation (a and b declared sampling only): error at once.
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: 'r1', method: 'roots/list' });
  mux.fromServer(tunnel, { jsonrpc: '2.0', id: 'e1', method: 'elicitation/create', params: {} });
  assert.deepEqual(tunnel.pushed.slice(-2).map((m) => [m.id, m.error?.code, m.error?.message]), [
    ['r1', RpcErrorCode.MethodNotFound, 'no connected MCP client supports roots'],
    ['e1', RpcErrorCode.MethodNotFound, 'no connected MCP client supports elicitation'],
  ]);
  await flush();
  assert.equal(a.received.length + b.received.length + c.received.length, 0);
});
