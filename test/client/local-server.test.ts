import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { quote } from 'shell-quote';
import { LocalServer, type ExitInfo } from '../../src/client/local-server.js';
import { LocalServerError } from '../../src/errors.js';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.js';
import { fixture, localServerHarness } from './local-server-harness.js';
import { PINO_ERROR, PINO_WARN } from './log-capture.js';


const { localServer } = localServerHarness();

/** Collects onmessage; waitFor resolves on the first message (past or future) that matches. */
function inbox(server: LocalServer) {
  const messages: JsonRpcMessage[] = [];
  const waiters: Array<{ match: (m: JsonRpcMessage) => boolean; resolve: (m: JsonRpcMessage) => void }> = [];
  server.onmessage = (msg) => {
    messages.push(msg);
    for (const w of waiters.filter((w) => w.match(msg))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(msg);
    }
  };
  return {
    messages,
    waitFor(match: (m: JsonRpcMessage) => boolean): Promise<JsonRpcMessage> {
      const seen = messages.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    response(id: string | number) {
      return this.waitFor((m) => 'id' in m && m.id === id && !('method' in m));
    },
  };
}

function exited(server: LocalServer): Promise<ExitInfo> {
  return new Promise((resolve) => (server.onexit = resolve));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('LocalServer', () => {
  it('initializes the echo fixture and relays requests and responses', async () => {
    const { server } = localServer(fixture('echo-server.mjs'));
    assert.equal(server.state, 'idle');
    const result = await server.start();
    assert.equal(server.state, 'running');
    assert.equal(result.serverInfo.name, 'echo-server');
    assert.equal(typeof result.protocolVersion, 'string');
    assert.deepEqual(result.capabilities, { tools: {} });

    const box = inbox(server);
    assert.equal(server.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), true);
    server.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } });
    server.send({ jsonrpc: '2.0', id: 3, method: 'no/such/method' });
    const list = (await box.response(1)) as unknown as { result: { tools: Array<{ name: string }> } };
    assert.deepEqual(list.result.tools.map((t) => t.name), ['echo']);
    assert.deepEqual(await box.response(2), { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'Echo: hi' }] } });
    assert.equal(((await box.response(3)) as { error: { code: number } }).error.code, -32601);
  });

  it('works with the real server-everything over stdio', async () => {
    const pkgPath = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin: Record<string, string> };
    const bin = join(dirname(pkgPath), Object.values(pkg.bin)[0]!);
    const { server } = localServer(quote([process.execPath, bin, 'stdio']));
    const result = await server.start();
    assert.match(result.serverInfo.name, /everything/);
    const box = inbox(server);
    server.send({ jsonrpc: '2.0', id: 'list-1', method: 'tools/list' });
    const list = (await box.response('list-1')) as unknown as { result: { tools: Array<{ name: string }> } };
    assert.ok(list.result.tools.some((t) => t.name === 'echo'), 'server-everything lists its echo tool');
  });

  it('times out a server that never answers initialize, and stops it', async () => {
    const command = fixture('silent-server.mjs');
    const { server } = localServer(command, { initTimeoutMs: 100 });
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(err instanceof LocalServerError);
      assert.equal(err.code, 'ERR_INIT_TIMEOUT');
      assert.ok(err.message.includes(command), 'names the command');
      assert.match(err.message, /0\.1 s/);
      assert.match(err.message, /speaks MCP over stdio/);
      return true;
    });
    assert.equal(server.state, 'exited');
    assert.equal(pidAlive(server.pid!), false);
  });

  it('rejects clearly when the server answers initialize with an error', async () => {
    const { server } = localServer(fixture('echo-server.mjs', '--reject-init'));
    await assert.rejects(server.start(), /rejected initialize: unsupported protocol version \(JSON-RPC error -32602\)/);
    assert.equal(server.state, 'exited');
  });

  it('rejects with the exit code when the server exits before initialize', async () => {
    const { server } = localServer(quote([process.execPath, '-e', 'process.exit(7)']));
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(err instanceof LocalServerError);
      assert.equal(err.code, 'ERR_LOCAL_SERVER_EXIT');
      assert.match(err.message, /exit code 7/);
      return true;
    });
  });

  it('says "command not found" for a missing executable', async () => {
    const { server } = localServer('mcp-reverse-proxy-no-such-command --flag');
    await assert.rejects(server.start(), (err: unknown) => {
      assert.ok(err instanceof LocalServerError);
      assert.match(err.message, /command not found: mcp-reverse-proxy-no-such-command/);
      return true;
    });
    assert.equal(server.state, 'exited');
  });

  it('skips non-JSON and non-JSON-RPC lines with a warning, and keeps what came before initialize', async () => {
    const { server, logs } = localServer(fixture('echo-server.mjs', '--noise'));
    await server.start();
    const box = inbox(server);
    server.send({ jsonrpc: '2.0', id: 'p', method: 'ping' });
    await box.response('p');
    assert.deepEqual(box.messages, [
      { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'early bird' } },
      { jsonrpc: '2.0', id: 'p', result: {} },
    ]);
    const warnings = logs.records.filter((r) => r.level === PINO_WARN).map((r) => r.msg);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /non-JSON line.*this line is not JSON/);
    assert.match(warnings[1]!, /not a JSON-RPC 2\.0 message.*\{"foo":1\}/);
  });

  it('drops an oversized line with one error and still reads the next response', async () => {
    const { server, logs } = localServer(fixture('echo-server.mjs', '--big', String(300_000)), { maxLineBytes: 64 * 1024 });
    const result = await server.start(); // the initialize answer follows the big line
    assert.equal(result.serverInfo.name, 'echo-server');
    const errors = logs.records.filter((r) => r.level === PINO_ERROR);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.msg, /^child stdout line of at least \d+ bytes exceeds --max-line-bytes 65536; dropped$/);
    const box = inbox(server);
    server.send({ jsonrpc: '2.0', id: 9, method: 'ping' });
    assert.deepEqual(await box.response(9), { jsonrpc: '2.0', id: 9, result: {} });
  });

  it('reports the exit of a crashing server once, after its last output', async () => {
    const { server } = localServer(fixture('crash-server.mjs'));
    await server.start();
    const box = inbox(server);
    const exit = exited(server);
    server.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    server.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'crash' } });
    assert.deepEqual(await exit, { code: 3, signal: null });
    assert.ok(box.messages.some((m) => 'id' in m && m.id === 1), 'output before the crash is delivered first');
    assert.equal(server.state, 'exited');
    assert.equal(server.send({ jsonrpc: '2.0', id: 3, method: 'ping' }), false);
  });

  it('stop() ends the child gracefully (stdin EOF) and is idempotent', async () => {
    const { server } = localServer(fixture('echo-server.mjs'));
    await server.start();
    const exit = exited(server);
    const pid = server.pid!;
    await Promise.all([server.stop(), server.stop()]);
    assert.equal(server.state, 'exited');
    assert.deepEqual(await exit, { code: 0, signal: null });
    assert.equal(pidAlive(pid), false);
    await server.stop();
  });

  it('stop() escalates to SIGTERM and then SIGKILL', async () => {
    const { server, logs } = localServer(fixture('silent-server.mjs', '--ignore-sigterm'));
    const starting = server.start();
    await logs.waitFor((r) => r.msg.includes('silent-server: ignoring SIGTERM'));
    await server.stop();
    await assert.rejects(starting, /stopped before initialize completed/);
    assert.deepEqual(server.exitStatus, { code: null, signal: 'SIGKILL' });

    const plain = localServer(fixture('silent-server.mjs')).server;
    const startingPlain = plain.start();
    await plain.stop();
    await assert.rejects(startingPlain);
    assert.equal(plain.exitStatus?.signal, 'SIGTERM');
  });

  it('pause() and resume() are idempotent and lose nothing', async () => {
    const { server } = localServer(fixture('echo-server.mjs'));
    await server.start();
    const box = inbox(server);
    server.pause();
    server.pause();
    for (let i = 0; i < 50; i++) server.send({ jsonrpc: '2.0', id: i, method: 'ping' });
    server.resume();
    server.resume();
    await box.response(49);
    assert.deepEqual(box.messages.map((m) => ('id' in m ? m.id : undefined)), [...Array(50).keys()]);
  });

  it('does not pass REVERSE_PROXY_* or JWT_SECRET_KEY to the child', async () => {
    const env = { ...process.env, REVERSE_PROXY_TOKEN: 'tok-123', REVERSE_PROXY_GATEWAY: 'http://127.0.0.1:1', JWT_SECRET_KEY: 'k', MCP_FIXTURE_KEEP: 'yes' };
    const { server } = localServer(fixture('env-server.mjs'), { env });
    await server.start();
    const box = inbox(server);
    server.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_env', arguments: {} } });
    const reply = (await box.response(1)) as unknown as { result: { content: Array<{ text: string }> } };
    const childEnv = JSON.parse(reply.result.content[0]!.text) as Record<string, string>;
    assert.equal(childEnv.MCP_FIXTURE_KEEP, 'yes');
    assert.equal(childEnv.REVERSE_PROXY_TOKEN, undefined);
    assert.equal(childEnv.REVERSE_PROXY_GATEWAY, undefined);
    assert.equal(childEnv.JWT_SECRET_KEY, undefined);
  });
});
