/**
 * Scale-out (docs/scale-out.md) with real parts: redis-server, two gateway replicas sharing
 * it, and nginx in front as a plain round-robin balancer (no stickiness). Tunnel clients on
 * ws, sse and poll connect through the balancer, so their POSTs and polls land on other
 * replicas than their streams; MCP clients too, so most calls are forwarded.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMcp, firstText, fixture, stopAll } from '../helpers/system.js';
import { startScaleOut, stopScaleOut, tunnelThrough, waitConnected } from '../helpers/scale-out.js';

const CHATTY = `node ${fixture('chatty-server.mjs')}`;

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
    // The balancer did spread the work: every replica served requests.
    const upstreams = new Set(rig.lb.accessLog().map((l) => l.split(' ').at(-1)));
    assert.equal(upstreams.size, 2, `requests reached ${[...upstreams].join(', ')}`);
    await Promise.all(clients.map((m) => m.close()));
  });
});
