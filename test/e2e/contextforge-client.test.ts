/**
 * ContextForge's reverse-proxy client (test/helpers/contextforge-peer.ts, a port of
 * mcpgateway/reverse_proxy.py) against the real gateway binary, with server-everything as
 * its local server and the MCP SDK client on the other side: that client forwards its own
 * initialize answer *before* register, and it must still connect and serve MCP calls.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../src/gateway/http/auth.js';
import { ContextForgePeer } from '../helpers/contextforge-peer.js';
import { connectMcp, EVERYTHING_JS, firstText, listServers, startGateway, stopAll, waitFor, waitForServer } from '../helpers/system.js';

const SECRET = 'e2e-secret-0123456789abcdef-contextforge';

after(stopAll);

test('ContextForge client: initialize answer before register, then MCP calls end to end', { timeout: 60_000 }, async () => {
  const token = await mintToken({ username: 'cf-user', secret: SECRET });
  const gw = await startGateway(['--jwt-secret', SECRET, '--log-level', 'DEBUG']);
  const peer = new ContextForgePeer(gw.url, token, [process.execPath, EVERYTHING_JS, 'stdio'], { keepaliveMs: 200 });
  try {
    await peer.connect();
    // The exact opening of that client: the child's initialize answer, then register.
    const first = peer.sent.findIndex((f) => f.type === 'response' && String(f.payload?.id).startsWith('init-'));
    const register = peer.sent.findIndex((f) => f.type === 'register');
    assert.ok(first >= 0 && first < register, `sent: ${peer.sent.map((f) => f.type).join(', ')}`);
    assert.equal(peer.sent[first]!.seq, undefined, 'a plain peer: no seq');
    assert.deepEqual(Object.keys(peer.sent[register]!.server).sort(), ['description', 'name', 'protocol']);

    await waitForServer(gw.url, token, peer.serverName);
    const mcp = await connectMcp(gw.url, peer.serverName, token);
    assert.equal(mcp.getServerVersion()?.name, 'mcp-servers/everything');
    assert.ok((await mcp.listTools()).tools.some((t) => t.name === 'echo'));
    for (let i = 0; i < 5; i++) {
      assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: `cf ${i}` } })), `Echo: cf ${i}`);
    }
    // Its heartbeats (every 200 ms here) are answered without ping-pong: it answers ours with one.
    await waitFor(
      () => peer.received.some((f) => f.type === 'heartbeat') && peer.sent.filter((f) => f.type === 'heartbeat').length >= 3,
      'a heartbeat answer and three heartbeats from the peer',
    );
    assert.equal(peer.received.filter((f) => f.type === 'heartbeat').length, 1, 'one answer per half keepalive (15 s)');
    assert.equal(peer.closeCode, undefined, 'the link stays up');
    assert.ok(/early_frame_dropped/.test(gw.stderr()), 'the unsolicited initialize answer is dropped with a DEBUG line');
    assert.ok(!/register_refused/.test(gw.stderr()), gw.stderr());
    await mcp.close();

    await peer.disconnect();
    await waitFor(async () => (await listServers(gw.url, token)).length === 0, 'the server to leave the catalog');
  } finally {
    await peer.disconnect();
  }
});
