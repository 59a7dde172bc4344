/**
 * GET /metrics, /healthz and /readyz on the real gateway binary after real traffic
 * (tunnel client binary, server-everything, the MCP SDK client); --metrics-auth in process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mintToken } from '../../src/gateway/http/auth.js';
import { connectMcp, EVERYTHING, firstText, spawnBin, startGateway, stopAll, waitForServer, type GatewayProc } from '../helpers/system.js';
import { registeredPeer, T, withHarness } from '../helpers/gateway-harness.js';

const SECRET = 'metrics-e2e-secret-0123456789abcdef';

/** Value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('gateway metrics and health after traffic', () => {
  let gw: GatewayProc;
  let token: string;

  before(async () => {
    token = await mintToken({ username: 'alice', secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET]);
    spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', 'everything'], { REVERSE_PROXY_TOKEN: token });
    await waitForServer(gw.url, token, 'everything');
  });
  after(stopAll);

  test('healthz and readyz answer without a token', async () => {
    assert.deepEqual(await (await fetch(`${gw.url}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });

  test('GET /metrics exposes the named series with non-zero values', async () => {
    const mcp = await connectMcp(gw.url, 'everything', token);
    for (let i = 0; i < 3; i++) assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: `m${i}` } })), `Echo: m${i}`);
    await mcp.close();
    assert.equal((await fetch(`${gw.url}/servers`, { headers: { authorization: 'Bearer not-a-jwt' } })).status, 401);

    const res = await fetch(`${gw.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    const positive = [
      'mcp_reverse_proxy_tunnel_sessions{transport="ws",state="connected"}',
      'mcp_reverse_proxy_tunnel_frames_total{direction="in"}',
      'mcp_reverse_proxy_tunnel_frames_total{direction="out"}',
      'mcp_reverse_proxy_tunnel_bytes_total{direction="in"}',
      'mcp_reverse_proxy_tunnel_bytes_total{direction="out"}',
      'mcp_reverse_proxy_mcp_requests_total{server="everything",outcome="ok"}',
      'mcp_reverse_proxy_mcp_request_duration_seconds_count{server="everything"}',
      'mcp_reverse_proxy_auth_failures_total{reason="malformed"}',
      'process_cpu_user_seconds_total',
    ];
    for (const series of positive) assert.ok((sample(text, series) ?? 0) > 0, `${series} > 0 in:\n${text.slice(0, 400)}`);
    assert.ok((sample(text, 'mcp_reverse_proxy_mcp_requests_total{server="everything",outcome="ok"}') ?? 0) >= 3);
    for (const series of [
      'mcp_reverse_proxy_tunnel_frames_replayed_total',
      'mcp_reverse_proxy_tunnel_outbox_frames{server="everything"}',
      'mcp_reverse_proxy_tunnel_outbox_bytes{server="everything"}',
      'mcp_reverse_proxy_mcp_client_sessions',
    ]) {
      assert.notEqual(sample(text, series), undefined, `${series} present`);
    }
  });
});

test('--metrics-auth: /metrics needs an admin token', T, async () => {
  await withHarness(
    async (h) => {
      assert.equal((await h.api('/metrics')).status, 401);
      assert.equal((await h.api('/metrics', { token: await h.token('alice') })).status, 403);
      const ok = await h.api('/metrics', { token: await h.token('root', true) });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /mcp_reverse_proxy_tunnel_sessions/);
      assert.equal((await h.api('/readyz')).status, 200);
    },
    { metricsAuth: true },
  );
});

test('a server name nobody uses any more leaves no series behind', T, async () => {
  await withHarness(async (h) => {
    const { peer, token } = await registeredPeer(h);
    const client = await h.mcpClient('echo', token);
    await client.listTools();
    const admin = await h.token('root', true);
    const scrape = async (): Promise<string> => (await h.api('/metrics', { token: admin })).text();
    assert.ok((sample(await scrape(), 'mcp_reverse_proxy_mcp_requests_total{server="echo",outcome="ok"}') ?? 0) >= 1);
    peer.sendRaw({ type: 'unregister' });
    await peer.whenClosed();
    await (client.transport as StreamableHTTPClientTransport).terminateSession(); // DELETE: the MCP session ends
    // Closing the MCP session is the last use of the name; poll (bounded) until the gateway has seen it.
    let text = '';
    for (let i = 0; i < 200 && (text = await scrape()).includes('server="echo"'); i++);
    assert.ok(!text.includes('server="echo"'), text.split('\n').filter((l) => l.includes('echo')).join('\n'));
  });
});
