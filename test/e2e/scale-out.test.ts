/**
 * Scale-out (docs/scale-out.md) with real parts: redis-server, two gateway replicas sharing
 * it, and nginx in front as a plain round-robin balancer (no stickiness). Tunnel clients on
 * ws, sse and poll connect through the balancer, so their POSTs and polls land on other
 * replicas than their streams; MCP clients too, so most calls are forwarded.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../src/gateway/http/auth.js';
import { connectMcp, firstText, fixture, spawnBin, stopAll, waitFor } from '../helpers/system.js';
import { CLUSTER_SECRET, startScaleOut, stopScaleOut, tunnelThrough, waitConnected, type ScaleOutRig } from '../helpers/scale-out.js';

const CHATTY = `node ${fixture('chatty-server.mjs')}`;
const MODERN = '2026-07-28';

describe('scale-out: replicas on Redis behind a round-robin balancer', () => {
  afterEach(stopScaleOut);
  after(stopAll);

  test('tunnels on ws, sse and poll; 4 MCP clients × 200 calls through the balancer: every call answered once with its own result', async () => {
    const rig = await startScaleOut(2);
    tunnelThrough(rig, CHATTY, 'on-ws', 'ws');
    tunnelThrough(rig, CHATTY, 'on-sse', 'sse');
    tunnelThrough(rig, CHATTY, 'on-poll', 'poll');
    await waitConnected(rig, ['on-ws', 'on-sse', 'on-poll']);
    const names = ['on-ws', 'on-sse', 'on-poll', 'on-sse'];
    const clients = await Promise.all(names.map((n, i) => connectMcp(rig.lb.url, n, rig.token, `lb${i}`)));
    const CALLS = 200;
    await Promise.all(
      clients.map(async (mcp, i) => {
        for (let k = 0; k < CALLS; k++) {
          const message = `c${i}-k${k}`;
          const res = await mcp.callTool({ name: 'echo', arguments: { message } });
          assert.equal(firstText(res), `Echo: ${message}`);
        }
      }),
    );
    // The balancer did spread the work: every replica served requests, and the one legacy
    // MCP session on on-ws (opened on one replica) had its POSTs sent to both.
    const log = rig.lb.accessLog();
    const upstreams = new Set(log.map((l) => l.split(' ').at(-1)));
    assert.equal(upstreams.size, 2, `requests reached ${[...upstreams].join(', ')}`);
    const onWs = new Set(log.filter((l) => l.startsWith('POST /servers/on-ws/mcp 200')).map((l) => l.split(' ').at(-1)));
    assert.equal(onWs.size, 2, 'the on-ws session was served through both replicas');
    await Promise.all(clients.map((m) => m.close()));
  });

  test('2026-07-28 requests are stateless: any replica serves them, forwarded to the tunnel\'s owner', async () => {
    const rig = await startScaleOut(2);
    tunnelThrough(rig, CHATTY, 'modern-target', 'ws');
    await waitConnected(rig, ['modern-target']);
    for (let k = 0; k < 20; k++) {
      const res = await fetch(`${rig.lb.url}/servers/modern-target/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${rig.token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': MODERN,
          'mcp-method': 'tools/call',
          'mcp-name': 'echo',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: k,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: `m${k}` }, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } },
        }),
      });
      assert.equal(res.status, 200);
      const text = await res.text();
      // JSON, or an SSE stream whose last data line is the answer.
      const json = text.startsWith('{') ? text : text.split('\n').filter((l) => l.startsWith('data:')).at(-1)!.slice(5);
      const answer = JSON.parse(json) as { id: number; result: { content: Array<{ text: string }> } };
      assert.equal(answer.id, k);
      assert.equal(answer.result.content[0]!.text, `Echo: m${k}`);
    }
    const upstreams = new Set(rig.lb.accessLog().filter((l) => l.startsWith('POST /servers/modern-target/mcp 200')).map((l) => l.split(' ').at(-1)));
    assert.equal(upstreams.size, 2);
  });

  test('name ownership and per-user caps hold across replicas', async () => {
    const rig = await startScaleOut(2, ['--max-sessions-per-user', '2', '--max-mcp-sessions-per-user', '2']);
    // Two servers of carol's, each straight to its own replica.
    const direct = (r: ScaleOutRig['replicas'][number], name: string, token = rig.token) =>
      spawnBin(['--local-stdio', CHATTY, '--name', name, '--gateway', r.url, '--transport', 'ws', '--reconnect-delay', '0.05'], { REVERSE_PROXY_TOKEN: token });
    direct(rig.replicas[0]!, 'alpha');
    direct(rig.replicas[1]!, 'beta');
    const [a, b] = await waitConnected(rig, ['alpha', 'beta']);
    assert.notEqual(a!.replica, b!.replica);
    // A third one on either replica: over carol's cap of 2, counted over both.
    const third = direct(rig.replicas[0]!, 'gamma');
    await waitFor(() => /too_many_sessions|already has 2 tunnel session/.test(third.stderr()), 'the cap to refuse a third session');
    // Another user cannot take a name carol holds on the other replica.
    const bob = await mintToken({ username: 'bob', secret: CLUSTER_SECRET });
    const thief = direct(rig.replicas[0]!, 'beta', bob);
    await waitFor(() => /registered by another user/.test(thief.stderr()), 'name_taken for bob');
    // MCP sessions: 2 for carol over both replicas, the third refused wherever it lands.
    const m1 = await connectMcp(rig.lb.url, 'alpha', rig.token, 'cap1');
    const m2 = await connectMcp(rig.lb.url, 'beta', rig.token, 'cap2');
    await assert.rejects(connectMcp(rig.lb.url, 'alpha', rig.token, 'cap3'), /Too many MCP sessions/);
    await Promise.all([m1.close(), m2.close()]);
  });
});
