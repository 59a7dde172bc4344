/**
 * The whole path with real parts: the real binary as gateway and client,
 * server-everything over stdio, the MCP SDK Client over Streamable HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../src/gateway/http/auth.js';
import {
  connectMcp,
  EVERYTHING,
  firstText,
  spawnBin,
  restartGateway,
  startGateway,
  stopAll,
  waitFor,
  waitForServer,
  type GatewayProc,
  type Proc,
} from '../helpers/system.js';

const SECRET = 'e2e-secret-0123456789abcdef';

describe('tunnel over WebSocket with server-everything', () => {
  let gw: GatewayProc;
  let client: Proc;
  let token: string;

  before(async () => {
    token = await mintToken({ username: 'alice', secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET]);
    client = spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--log-level', 'DEBUG', '--keepalive', '5'], {
      REVERSE_PROXY_TOKEN: token,
    });
    await waitForServer(gw.url, token, 'server-everything');
  });
  after(stopAll);

  test('tools/list and echo through the tunnel', async () => {
    const mcp = await connectMcp(gw.url, 'server-everything', token);
    const { tools } = await mcp.listTools();
    assert.ok(tools.some((t) => t.name === 'echo'), 'echo tool listed');
    const res = await mcp.callTool({ name: 'echo', arguments: { message: 'hello tunnel' } });
    assert.equal(firstText(res), 'Echo: hello tunnel');
    await mcp.close();
  });

  test('8 concurrent MCP clients × 25 echo calls each get their own answers', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => connectMcp(gw.url, 'server-everything', token, `c${i}`)));
    await Promise.all(
      clients.map(async (mcp, c) => {
        for (let k = 0; k < 25; k++) {
          const message = `client ${c} call ${k}`;
          const res = await mcp.callTool({ name: 'echo', arguments: { message } });
          assert.equal(firstText(res), `Echo: ${message}`);
        }
      }),
    );
    await Promise.all(clients.map((c) => c.close()));
  });

  test('the token is not in the child environment', async () => {
    const mcp = await connectMcp(gw.url, 'server-everything', token);
    const res = await mcp.callTool({ name: 'get-env', arguments: {} });
    const text = JSON.stringify(res);
    assert.ok(text.includes('PATH'), 'get-env returned the environment');
    assert.ok(!text.includes(token), 'token must not reach the child');
    assert.ok(!text.includes('REVERSE_PROXY_TOKEN'), 'no REVERSE_PROXY_* variable in the child');
    await mcp.close();
  });

  test('the token appears in no log line, even at DEBUG', () => {
    const logs = client.stderr() + gw.stderr();
    assert.ok(logs.length > 0, 'there are logs to check');
    assert.ok(client.stderr().includes('"level":20') || client.stderr().includes('DEBUG'), 'client logged at DEBUG');
    assert.ok(!logs.includes(token), 'token leaked into logs');
    assert.ok(!logs.includes(token.split('.')[2]!), 'token signature leaked into logs');
  });
});

describe('failures the user must see', () => {
  after(stopAll);

  test('a bad token makes the client exit non-zero with a clear message', async () => {
    const gw = await startGateway(['--jwt-secret', SECRET]);
    const bad = await mintToken({ username: 'mallory', secret: 'some-other-secret-xxxxxxxx' });
    const client = spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--token', bad]);
    const killer = setTimeout(() => client.proc.kill('SIGKILL'), 10_000);
    const { code } = await client.exited;
    clearTimeout(killer);
    assert.equal(code, 3, `exit code 3 (auth rejected), stderr: ${client.stderr()}`);
    assert.match(client.stderr(), /rejected the token/);
    assert.ok(!client.stderr().includes(bad), 'the rejected token is not echoed');
    await gw.stop();
  });

  test('gateway restarted on the same port: the client reconnects by itself', async () => {
    const token = await mintToken({ username: 'bob', secret: SECRET });
    const gw1 = await startGateway(['--jwt-secret', SECRET]);
    const client = spawnBin(
      ['--local-stdio', EVERYTHING, '--gateway', gw1.url, '--reconnect-delay', '0.2', '--keepalive', '5'],
      { REVERSE_PROXY_TOKEN: token },
    );
    const first = await waitForServer(gw1.url, token, 'server-everything');
    let mcp = await connectMcp(gw1.url, 'server-everything', token);
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'before' } })), 'Echo: before');
    await mcp.close().catch(() => undefined);
    await gw1.stop();

    const gw2 = await restartGateway(gw1.port, ['--jwt-secret', SECRET]);
    const second = await waitForServer(gw2.url, token, 'server-everything');
    assert.notEqual(second.sessionId, first.sessionId, 'a fresh session after the gateway lost its state');
    mcp = await connectMcp(gw2.url, 'server-everything', token);
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'after' } })), 'Echo: after');
    await mcp.close();
    assert.equal(client.proc.exitCode, null, 'the client kept running');
    await waitFor(() => client.stderr().includes('could not resume'), 'fresh-session log line', 5_000);
    const { code } = await client.stop('SIGTERM');
    assert.equal(code, 0, 'clean shutdown on SIGTERM exits 0');
  });
});
