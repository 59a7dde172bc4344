/**
 * Redis down (docs/scale-out.md, "When Redis is down"): the replicas fail closed — every
 * request that needs the cluster gets a clear error naming Redis, `/readyz` says not
 * ready — and when Redis is back (empty: the test's Redis keeps nothing), they write what
 * they hold again and serve as before, the tunnel never having left.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMcp, firstText, fixture, stopAll, waitFor } from '../helpers/system.js';
import { startScaleOut, stopScaleOut, tunnelThrough, waitConnected } from '../helpers/scale-out.js';

const CHATTY = `node ${fixture('chatty-server.mjs')}`;

async function readyz(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`).catch(() => undefined))?.status ?? 0;
}

describe('scale-out with Redis down', () => {
  afterEach(stopScaleOut);
  after(stopAll);

  test('Redis stopped: clear errors and readiness false; Redis back: readiness and service return', async () => {
    const rig = await startScaleOut(2);
    const client = tunnelThrough(rig, CHATTY, 'steady', 'ws');
    await waitConnected(rig, ['steady']);
    const mcp = await connectMcp(rig.lb.url, 'steady', rig.token, 'steady-client');
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'before' } })), 'Echo: before');
    for (const r of rig.replicas) assert.equal(await readyz(r.url), 200);

    await rig.redis.stop();
    for (const r of rig.replicas) await waitFor(async () => (await readyz(r.url)) === 503, `replica ${r.id} not ready`, 20_000);
    // Both replicas refuse MCP requests with an error that says why (whichever the balancer picks).
    for (let k = 0; k < 2; k++) {
      const res = await fetch(`${rig.lb.url}/servers/steady/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
      });
      assert.equal(res.status, 503);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /Redis/);
    }
    await assert.rejects(mcp.callTool({ name: 'echo', arguments: { message: 'during' } }), /Redis/);

    await rig.redis.start();
    for (const r of rig.replicas) await waitFor(async () => (await readyz(r.url)) === 200, `replica ${r.id} ready again`, 30_000);
    // The tunnel stayed attached; its records are written again and calls flow (the same MCP session, taken up where needed).
    await waitConnected(rig, ['steady']);
    const again = await waitFor(
      async () => mcp.callTool({ name: 'echo', arguments: { message: 'after' } }).then(firstText, () => undefined),
      'calls to work again',
      30_000,
      200,
    );
    assert.equal(again, 'Echo: after');
    assert.equal(client.stderr().match(/"resumed":false/g)?.length, 1, 'registered once, never started over');
    await mcp.close();
  });
});
