/**
 * MCP clients that vanish without DELETE: their sessions are closed after
 * --mcp-session-idle, but not while the client keeps a stream open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registeredPeer, T, withHarness, type Harness } from '../../helpers/gateway-harness.js';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

async function openSessions(h: Harness): Promise<number> {
  const text = await (await h.api('/metrics')).text();
  const m = /^mcp_reverse_proxy_mcp_client_sessions\S* (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Poll (bounded: each step is a real HTTP round trip) until the gauge reads `n`. */
async function waitForOpenSessions(h: Harness, n: number): Promise<void> {
  for (let i = 0; i < 2000; i++) if ((await openSessions(h)) === n) return;
  throw new Error(`open MCP sessions never reached ${n} (now ${await openSessions(h)})`);
}

test('an MCP session that went quiet without DELETE is closed; one with a client attached stays', T, () =>
  withHarness(
    async (h) => {
      const { peer, token } = await registeredPeer(h);
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const res = await fetch(`${h.gw.url}/servers/echo/mcp`, { method: 'POST', headers, body: JSON.stringify(INIT) });
      assert.equal(res.status, 200);
      const sid = res.headers.get('mcp-session-id');
      assert.ok(sid);
      await res.text();
      // An SDK client keeps its standalone GET stream open: it must survive the sweeps.
      const live = await h.mcpClient('echo', token);
      await waitForOpenSessions(h, 1);
      const probe = await fetch(`${h.gw.url}/servers/echo/mcp`, { method: 'POST', headers: { ...headers, 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
      assert.equal(probe.status, 404, 'the quiet session is gone');
      await probe.text();
      assert.deepEqual(await live.ping(), {}, 'the attached client still works');
      peer.close();
    },
    { mcpSessionIdle: 0.3 },
  ),
);
