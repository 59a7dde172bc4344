/**
 * Nothing is kept per server name once nobody uses it (issue 9): a multiplexer is
 * forgotten when it has neither a tunnel session nor an MCP client session; while MCP
 * client sessions remain they get clear errors and a re-register of the name by its owner
 * serves them again; another user's register never inherits them. The heap check runs
 * thousands of sessions in a child process (test/helpers/session-churn.ts, --expose-gc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Multiplexers } from '../../../src/gateway/mcp/multiplexers.js';
import { SessionRegistry } from '../../../src/gateway/tunnel/session-registry.js';
import { TunnelEndpoint } from '../../../src/gateway/tunnel/tunnel-endpoint.js';
import { RpcErrorCode } from '../../../src/protocol/jsonrpc.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { ECHO_SERVER } from '../../helpers/gateway-harness.js';
import { FakeClientPort, flush, ManualClock, MemoryLink } from '../../helpers/gateway-fake-ports.js';
import { REPO } from '../../helpers/system.js';

function setup(resumeWindowMs = 60_000) {
  const forgotten: string[] = [];
  const clock = new ManualClock();
  const registry = new SessionRegistry({
    clock,
    resumeWindowMs,
    requestTimeoutMs: 60_000,
    maxQueueBytes: 1 << 20,
    maxFrameBytes: 1 << 20,
    maxSessionsPerUser: 100,
    logger: silentLogger,
  });
  const multiplexers = new Multiplexers(registry, {
    requestTimeoutMs: 60_000,
    logger: silentLogger,
    onNameForgotten: (name) => forgotten.push(name),
  });
  const endpoint = new TunnelEndpoint({ registry, maxFrameBytes: 1 << 20, logger: silentLogger });
  const register = (owner: string, name: string): MemoryLink => {
    const link = new MemoryLink();
    endpoint.acceptLink(link, { subject: owner, isAdmin: false });
    link.deliver({ type: 'register', server: { ...ECHO_SERVER, name } });
    assert.equal(link.sent[0]?.type, 'register_ack', JSON.stringify(link.sent[0]));
    return link;
  };
  return { registry, multiplexers, register, forgotten, clock };
}

test('unregister, DELETE (close) and resume-window expiry leave nothing behind for the name', () => {
  const { registry, multiplexers, register, forgotten, clock } = setup(20_000);
  register('alice', 'a').deliver({ type: 'unregister' });
  register('alice', 'b');
  registry.serving('b')!.close({ kind: 'deleted', message: 'deleted', rpcCode: RpcErrorCode.SessionClosed });
  register('alice', 'c').close('network gone');
  clock.advance(19_999);
  assert.deepEqual(forgotten, ['a', 'b'], 'kept for the resume window');
  clock.advance(1);
  assert.deepEqual(forgotten, ['a', 'b', 'c']);
  assert.equal(multiplexers.count, 0);
  assert.equal([...registry.all()].length, 0);
});

test('MCP client sessions keep the multiplexer: clear errors while the tunnel is gone, served again after the owner re-registers', async () => {
  const { multiplexers, register, forgotten } = setup();
  register('alice', 'echo').deliver({ type: 'unregister' });
  const first = register('alice', 'echo');
  const mux = multiplexers.get('echo')!;
  const client = new FakeClientPort('mcp-1');
  mux.addClient(client);
  first.deliver({ type: 'unregister' });
  assert.equal(multiplexers.get('echo'), mux, 'kept for its MCP client session');
  mux.fromClient('mcp-1', { jsonrpc: '2.0', id: 1, method: 'tools/list' });
  await flush();
  assert.equal(client.messages[0].error.code, RpcErrorCode.TunnelUnavailable);
  assert.match(client.messages[0].error.message, /server echo is not connected/);

  const again = register('alice', 'echo');
  assert.equal(multiplexers.get('echo'), mux, 'the same multiplexer serves the re-registered server');
  mux.fromClient('mcp-1', { jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const relayed = again.sent.find((f) => f.payload?.method === 'tools/list');
  again.deliver({ type: 'response', payload: { jsonrpc: '2.0', id: relayed.payload.id, result: { tools: [] } } });
  await flush();
  assert.deepEqual(client.messages[1], { jsonrpc: '2.0', id: 2, result: { tools: [] } });

  again.deliver({ type: 'unregister' });
  assert.equal(multiplexers.count, 1);
  mux.removeClient('mcp-1');
  assert.equal(multiplexers.count, 0, 'forgotten with its last MCP client session');
  assert.deepEqual(forgotten, ['echo', 'echo']);
});

test("another user's register of a freed name gets a fresh multiplexer, never the old MCP client sessions", async () => {
  const { multiplexers, register } = setup();
  const alice = register('alice', 'shared');
  const old = multiplexers.get('shared')!;
  const client = new FakeClientPort('alice-mcp');
  old.addClient(client);
  alice.deliver({ type: 'unregister' });
  const bob = register('bob', 'shared');
  assert.notEqual(multiplexers.get('shared'), old);
  old.fromClient('alice-mcp', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'secret' } });
  await flush();
  assert.equal(client.messages[0].error.code, RpcErrorCode.TunnelUnavailable);
  assert.equal(bob.sent.filter((f) => f.type === 'request' && f.payload?.method === 'tools/call').length, 0, "nothing reaches bob's server");
  old.removeClient('alice-mcp');
  assert.equal(multiplexers.count, 1, "bob's multiplexer stays, alice's orphan is gone");
});

test('thousands of sessions with distinct names, each ended: heap after GC stays flat', { timeout: 170_000 }, async () => {
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/helpers/session-churn.ts'], {
    cwd: REPO,
    timeout: 160_000,
    maxBuffer: 1 << 20,
  });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { warmup: number; cycles: number; before: number; after: number };
  const growth = r.after - r.before;
  // Left behind per name, a multiplexer and its last session cost ~5 KiB: 3000 names were 15 MiB.
  assert.ok(growth < 2 * 1024 * 1024, `heap grew by ${(growth / 1024).toFixed(0)} KiB over ${r.cycles} sessions (${JSON.stringify(r)})`);
});
