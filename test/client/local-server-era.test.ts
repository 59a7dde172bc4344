/**
 * LocalServer and ChildSupervisor find the local server's MCP era with real processes:
 * server-everything style 2025 servers, the SDK v2 modern-only fixture, and probe-server's
 * odd ones (exit on the probe, late answer, unusable answer, -32022 first).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildSupervisor } from '../../src/client/child-supervisor.js';
import { LocalServer, ProbeExitedError } from '../../src/client/local-server.js';
import { LocalServerError } from '../../src/errors.js';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.js';
import { fixture, localServerHarness } from './local-server-harness.js';
import { captureLogs } from './log-capture.js';

const MODERN = fixture('modern-server.mjs');
const ENVELOPE = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };

const { running: servers, localServer } = localServerHarness();

/** Send a request once started; resolves with its answer. Every message is kept in `seen`. */
function rpc(server: LocalServer) {
  const seen: JsonRpcMessage[] = [];
  const waiting = new Map<unknown, (m: JsonRpcMessage) => void>();
  server.onmessage = (m) => {
    seen.push(m);
    const id = (m as { id?: unknown }).id;
    if (!('method' in m)) waiting.get(id)?.(m);
  };
  return {
    seen,
    call(id: number, method: string, params: Record<string, unknown> = {}): Promise<any> {
      const answered = new Promise<JsonRpcMessage>((resolve) => waiting.set(id, resolve));
      server.send({ jsonrpc: '2.0', id, method, params } as JsonRpcMessage);
      return answered;
    },
  };
}

describe('LocalServer: the era probe', () => {
  it('auto: a 2025 server answering server/discover with an error is initialized as before', async () => {
    const { server, logs } = localServer(fixture('echo-server.mjs'));
    const result = await server.start();
    assert.equal(result.era, 'legacy');
    assert.equal(result.serverInfo.name, 'echo-server');
    assert.equal(result.discover, undefined);
    const era = logs.records.find((r) => r.event === 'server_era');
    assert.match(String(era?.reason), /answered server\/discover with JSON-RPC error -32601/);
    const { call } = rpc(server);
    assert.equal((await call(1, 'tools/call', { name: 'echo', arguments: { message: 'x' } })).result.content[0].text, 'Echo: x');
  });

  it('auto: the SDK v2 modern-only server is modern, with its DiscoverResult and no initialize', async () => {
    const { server } = localServer(MODERN);
    const result = await server.start();
    assert.equal(result.era, 'modern');
    assert.equal(result.protocolVersion, '2026-07-28');
    assert.deepEqual(result.serverInfo, { name: 'modern-server', version: '2.0.0' });
    assert.deepEqual(result.discover?.supportedVersions, ['2026-07-28']);
    assert.deepEqual(result.capabilities, result.discover?.capabilities);
    assert.match(result.instructions ?? '', /2026-07-28-only test server/);
    const { call, seen } = rpc(server);
    const echo = await call(1, 'tools/call', { name: 'echo', arguments: { message: 'hi' }, _meta: ENVELOPE });
    assert.deepEqual(echo.result.content, [{ type: 'text', text: 'Echo: hi' }]);
    assert.equal(echo.result.resultType, 'complete');
    assert.ok(!seen.some((m) => typeof (m as { id?: unknown }).id === 'string'), 'our probe answer is not forwarded');
  });

  it('legacy: initialize at once, no probe (the server counts none)', async () => {
    const { server } = localServer(fixture('probe-server.mjs', '--bad-discover'), { era: 'legacy' });
    assert.equal((await server.start()).era, 'legacy');
    const { call } = rpc(server);
    assert.equal((await call(1, 'tools/call', { name: 'probes' })).result.content[0].text, '0');
  });

  it('legacy with a modern-only server: initialize is refused, and the error says so', async () => {
    const { server } = localServer(MODERN, { era: 'legacy' });
    await assert.rejects(server.start(), /rejected initialize: Unsupported protocol version: 2025-11-25 \(JSON-RPC error -32022\)/);
  });

  it('modern with a 2025 server: a clear error naming what the server did and the way out', async () => {
    const { server } = localServer(fixture('echo-server.mjs'), { era: 'modern' });
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(err instanceof LocalServerError);
      assert.equal(err.code, 'ERR_LOCAL_SERVER');
      assert.match(err.message, /does not speak MCP 2026-07-28, as --server-era modern requires: it answered server\/discover with JSON-RPC error -32601/);
      assert.match(err.message, /--server-era auto \(the default\) or legacy/);
      return true;
    });
    assert.equal(server.state, 'exited');
  });

  it('modern with the modern-only server works, and so does -32022 first (one corrective probe)', async () => {
    assert.equal((await localServer(MODERN, { era: 'modern' }).server.start()).era, 'modern');
    const { server } = localServer(fixture('probe-server.mjs', '--unsupported-first'));
    const result = await server.start();
    assert.equal(result.era, 'modern');
    assert.equal(result.serverInfo.name, 'probe-server');
    const { call } = rpc(server);
    assert.equal((await call(1, 'tools/call', { name: 'probes', _meta: ENVELOPE })).result.content[0].text, '2');
  });

  it('auto: an unusable DiscoverResult → initialize', async () => {
    const { server, logs } = localServer(fixture('probe-server.mjs', '--bad-discover'));
    assert.equal((await server.start()).era, 'legacy');
    assert.match(String(logs.records.find((r) => r.event === 'server_era')?.reason), /not usable: DiscoverResult.capabilities must be an object/);
  });

  it('auto: a late answer to the probe is ignored, never forwarded; the server is initialized', async () => {
    // The fixture answers server/discover only once initialize arrives: after the probe gave up.
    const { server, logs } = localServer(fixture('probe-server.mjs', '--late-discover'), { initTimeoutMs: 6000 });
    const result = await server.start();
    assert.equal(result.era, 'legacy');
    assert.match(String(logs.records.find((r) => r.event === 'server_era')?.reason), /did not answer server\/discover within 2 s/);
    const { call, seen } = rpc(server);
    assert.equal((await call(1, 'tools/call', { name: 'echo', arguments: { message: 'after' } })).result.content[0].text, 'Echo: after');
    assert.deepEqual(seen.map((m) => (m as { id?: unknown }).id), [1], 'only the answer to our call reached onmessage');
    assert.ok(logs.records.some((r) => r.msg === 'late answer to server/discover ignored'));
  });

  it('auto: a 2026-07-28 server slower than the probe refuses initialize; the error says it answered server/discover late', async () => {
    const { server } = localServer(fixture('probe-server.mjs', '--late-modern'), { initTimeoutMs: 6000 });
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(err instanceof LocalServerError);
      assert.match(err.message, /rejected initialize: Unsupported protocol version: 2025-11-25 \(JSON-RPC error -32022\)/);
      assert.match(err.message, /asked server\/discover before, it did not answer server\/discover within 2 s/);
      assert.match(err.message, /it did answer server\/discover, but only after the probe gave up \(2 s\): .*use --server-era modern/);
      return true;
    });
  });

  it('auto: a server that exits on the probe fails start with ProbeExitedError (the process is gone)', async () => {
    const { server } = localServer(fixture('probe-server.mjs', '--exit-on-probe'));
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(err instanceof ProbeExitedError);
      assert.match(err.message, /exited when asked server\/discover \(exit code 1\); it needs initialize first/);
      return true;
    });
    assert.equal(server.state, 'exited');
  });

  it('modern: no short probe timeout; a silent server fails at --init-timeout, naming server/discover', async () => {
    const { server } = localServer(fixture('silent-server.mjs'), { era: 'modern', initTimeoutMs: 300 });
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(err instanceof LocalServerError);
      assert.equal(err.code, 'ERR_INIT_TIMEOUT');
      assert.match(err.message, /did not answer server\/discover within 0\.3 s \(--init-timeout\)/);
      return true;
    });
  });

  it('modern: a server that exits on the probe is an error, not a respawn', async () => {
    const { server } = localServer(fixture('probe-server.mjs', '--exit-on-probe'), { era: 'modern' });
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(err instanceof LocalServerError && !(err instanceof ProbeExitedError));
      assert.equal(err.code, 'ERR_LOCAL_SERVER_EXIT');
      assert.match(err.message, /does not speak MCP 2026-07-28.*exited when asked server\/discover/);
      return true;
    });
  });
});

describe('ChildSupervisor: the era of each process', () => {
  function supervisor(command: string, mode: 'never' | 'on-failure' = 'never') {
    const logs = captureLogs();
    const s = new ChildSupervisor({
      server: { command, maxLineBytes: 1 << 20, initTimeoutMs: 20_000, stopGraceMs: 200 },
      policy: { mode, maxRestarts: 3, windowMs: 60_000, baseDelayMs: 10, capMs: 10 },
      logger: logs.logger,
    });
    servers.push(s);
    return { s, logs };
  }

  it('a server that exits on the probe is started again and initialized (no restart spent)', async () => {
    const { s, logs } = supervisor(fixture('probe-server.mjs', '--exit-on-probe'));
    const init = await s.start();
    assert.equal(init.era, 'legacy');
    assert.equal(s.era, 'legacy');
    assert.equal(s.restarts, 0);
    assert.ok(logs.records.some((r) => r.event === 'probe_exit_respawn'));
    const answer = new Promise<JsonRpcMessage>((resolve) => s.once('message', resolve));
    s.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'respawned' } } });
    assert.equal(((await answer) as any).result.content[0].text, 'Echo: respawned');
  });

  it('era follows the running child: a modern child restarted is probed again and still modern', async () => {
    const { s } = supervisor(MODERN, 'on-failure');
    assert.equal((await s.start()).era, 'modern');
    assert.equal(s.era, 'modern');
    const up = new Promise<any>((resolve) => s.once('up', resolve));
    process.kill(s.pid!, 'SIGKILL');
    const { init } = await up;
    assert.equal(init.era, 'modern');
    assert.deepEqual(init.discover.supportedVersions, ['2026-07-28']);
    assert.equal(s.era, 'modern');
  });
});
