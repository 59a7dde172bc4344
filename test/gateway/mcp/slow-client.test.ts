/**
 * Slow-client protection: an MCP client that stops reading its SSE stream while the server
 * keeps sending is disconnected once its unsent output passes the bound, and the other
 * client on the same server keeps being served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { echoServer } from '../../helpers/gateway-fake-peer.js';
import { registeredPeer, withHarness } from '../../helpers/gateway-harness.js';

const LIMIT = 64 * 1024;
const HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

test('a client that stops reading is closed when its buffered output passes the bound', { timeout: 60_000 }, async () => {
  await withHarness(
    async (h) => {
      const { peer, token } = await registeredPeer(h, 'alice');
      const healthy = await h.mcpClient('echo', token);
      // The flood below is at level info: the healthy client opts out, so only the stalled one is flooded.
      peer.handler = (req) => (req.method === 'logging/setLevel' ? {} : echoServer(req));
      await healthy.setLoggingLevel('error');

      // A raw client: initialize, then open the standalone GET stream and never read it.
      const init = await h.api('/servers/echo/mcp', {
        method: 'POST',
        token,
        headers: HEADERS,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'slow', version: '1' } } }),
      });
      const sid = init.headers.get('mcp-session-id')!;
      await init.body?.cancel();
      const stalled = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const url = new URL(`${h.gw.url}/servers/echo/mcp`);
        const req = http.request(url, { method: 'GET', headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}`, 'mcp-session-id': sid } }, resolve);
        req.on('error', reject);
        req.end();
      });
      assert.equal(stalled.statusCode, 200);
      stalled.pause();
      stalled.socket.pause();
      stalled.on('error', () => {});

      const alive = async () => {
        const res = await h.api('/servers/echo/mcp', { method: 'POST', token, headers: { ...HEADERS, 'mcp-session-id': sid }, body: '{"jsonrpc":"2.0","id":9,"method":"ping"}' });
        await res.body?.cancel();
        return res.status !== 404;
      };
      // Flood log notifications until the stalled client is dropped. Loopback socket buffers
      // can hold tens of MiB (tcp_rmem + tcp_wmem) before anything stays in the gateway: bounded at 256 MiB.
      const data = 'x'.repeat(64 * 1024);
      let batches = 0;
      for (; batches < 128 && (await alive()); batches++) {
        for (let i = 0; i < 32; i++) peer.sendData({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } });
      }
      assert.ok(batches < 128, 'the stalled client was disconnected');
      const metrics = await (await h.api('/metrics')).text();
      assert.match(metrics, /mcp_reverse_proxy_refusals_total\{reason="slow_client"\} [1-9]/);
      // The reading client still works.
      assert.equal((await healthy.listTools()).tools[0]!.name, 'echo');
      stalled.destroy();
      await peer.close();
    },
    { maxQueueBytes: LIMIT },
  );
});
