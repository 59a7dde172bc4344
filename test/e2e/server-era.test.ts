/**
 * The local server's MCP era, end to end with the real binary and a real gateway: auto
 * mode probes with server/discover and registers what it found (GET /servers shows it);
 * --server-era legacy|modern override the probe; a server that exits on the probe is
 * started again and initialized; -32022 gets one corrective probe.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connectMcp, EVERYTHING, firstText, fixture, listServers, spawnBin, startGateway, stopAll, waitFor, waitForServer, type GatewayProc } from '../helpers/system.js';

type Entry = { name: string; sessionId: string; era?: string; available?: boolean; protocolVersion?: string; serverInfo?: { name: string }; discover?: Record<string, any> };
const MODERN = `node ${fixture('modern-server.mjs')}`;
const PROBE = (mode: string) => `node ${fixture('probe-server.mjs')} ${mode}`;
const ENVELOPE = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };

describe('--server-era: which MCP era the local server speaks', () => {
  let gw: GatewayProc;
  before(async () => {
    gw = await startGateway(['--no-auth']);
  });
  after(() => stopAll());

  const connect = (name: string, command: string, ...extra: string[]) => spawnBin(['--local-stdio', command, '--gateway', gw.url, '--name', name, ...extra]);
  const entry = async (name: string) => ((await listServers(gw.url)) as Entry[]).find((s) => s.name === name)!;
  /** One JSON-RPC request through the gateway's session API, as is (a modern request keeps its envelope). */
  async function sessionRequest(sessionId: string, body: Record<string, unknown>): Promise<any> {
    const res = await fetch(`${gw.url}/reverse-proxy/sessions/${sessionId}/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...body }),
    });
    assert.equal(res.status, 200);
    return res.json();
  }

  test('auto + server-everything (2025): registered legacy, calls work as before', async () => {
    const c = connect('everything', EVERYTHING);
    const s = (await waitForServer(gw.url, undefined, 'everything')) as Entry;
    assert.equal(s.era, 'legacy');
    assert.equal(s.discover, undefined);
    const mcp = await connectMcp(gw.url, 'everything');
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'era' } })), 'Echo: era');
    await mcp.close();
    assert.match(c.stderr(), /"event":"server_era".*-32601/);
  });

  test('auto + the SDK v2 modern-only server: registered modern with its DiscoverResult; modern requests reach it', async () => {
    connect('modern', MODERN);
    const s = (await waitForServer(gw.url, undefined, 'modern')) as Entry;
    assert.equal(s.era, 'modern');
    assert.deepEqual(s.discover?.supportedVersions, ['2026-07-28']);
    assert.deepEqual(s.discover?._meta?.['io.modelcontextprotocol/serverInfo'], { name: 'modern-server', version: '2.0.0' });
    // What a gateway that knows nothing of eras reads: the InitializeResult fields.
    assert.equal(s.protocolVersion, '2026-07-28');
    assert.equal(s.serverInfo?.name, 'modern-server');
    const answer = await sessionRequest(s.sessionId, { method: 'tools/call', params: { name: 'echo', arguments: { message: 'through' }, _meta: ENVELOPE } });
    assert.equal(answer.result.resultType, 'complete');
    assert.equal(answer.result.content[0].text, 'Echo: through');
  });

  test('a server that exits on any request before initialize: started again, registered legacy', async () => {
    const c = connect('exits', PROBE('--exit-on-probe'));
    const s = (await waitForServer(gw.url, undefined, 'exits')) as Entry;
    assert.equal(s.era, 'legacy');
    assert.match(c.stderr(), /"event":"probe_exit_respawn"/);
    const mcp = await connectMcp(gw.url, 'exits');
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'again' } })), 'Echo: again');
    assert.equal(firstText(await mcp.callTool({ name: 'probes', arguments: {} })), '0', 'the second process was not probed');
    await mcp.close();
    assert.equal(c.proc.exitCode, null);
  });

  test('-32022 naming 2026-07-28: one corrective probe, registered modern', async () => {
    connect('corrected', PROBE('--unsupported-first'));
    const s = (await waitForServer(gw.url, undefined, 'corrected')) as Entry;
    assert.equal(s.era, 'modern');
    const answer = await sessionRequest(s.sessionId, { method: 'tools/call', params: { name: 'probes', arguments: {}, _meta: ENVELOPE } });
    assert.equal(answer.result.content[0].text, '2');
  });

  test('--server-era legacy: no probe at all; --server-era modern (REVERSE_PROXY_SERVER_ERA) with the modern server', async () => {
    connect('legacy-forced', PROBE('--bad-discover'), '--server-era', 'legacy');
    spawnBin(['--local-stdio', MODERN, '--gateway', gw.url, '--name', 'modern-forced'], { REVERSE_PROXY_SERVER_ERA: 'modern' });
    assert.equal(((await waitForServer(gw.url, undefined, 'legacy-forced')) as Entry).era, 'legacy');
    assert.equal(((await waitForServer(gw.url, undefined, 'modern-forced')) as Entry).era, 'modern');
    const mcp = await connectMcp(gw.url, 'legacy-forced');
    assert.equal(firstText(await mcp.callTool({ name: 'probes', arguments: {} })), '0');
    await mcp.close();
  });

  test('--server-era modern with a 2025 server, legacy with a modern-only one: exit 5 with a clear error', async () => {
    const modernOnOld = connect('wrong-1', EVERYTHING, '--server-era', 'modern');
    const legacyOnNew = connect('wrong-2', MODERN, '--server-era', 'legacy');
    assert.equal((await modernOnOld.exited).code, 5);
    assert.match(modernOnOld.stderr(), /error: local MCP server ".*" does not speak MCP 2026-07-28, as --server-era modern requires: it answered server\/discover with JSON-RPC error -32601/);
    assert.equal((await legacyOnNew.exited).code, 5);
    assert.match(legacyOnNew.stderr(), /error: local MCP server rejected initialize: Unsupported protocol version: 2025-11-25 \(JSON-RPC error -32022\)/);
    const names = (await listServers(gw.url)).map((s) => s.name);
    assert.ok(!names.includes('wrong-1') && !names.includes('wrong-2'), 'nothing registered');
  });

  test('--restart: a restarted modern server is probed again; server_status keeps era modern', async () => {
    const c = connect('modern-restart', MODERN, '--restart', 'on-failure');
    const before = (await waitForServer(gw.url, undefined, 'modern-restart')) as Entry;
    const child = Number(execFileSync('pgrep', ['-P', String(c.proc.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    process.kill(child, 'SIGKILL');
    await waitFor(() => /"event":"child_restarted"/.test(c.stderr()), 'the client to restart the child');
    const after = await waitFor(async () => {
      const e = await entry('modern-restart');
      return e?.available === true ? e : undefined;
    }, 'the server to be available again');
    assert.equal(after.sessionId, before.sessionId, 'same tunnel session');
    assert.equal(after.era, 'modern');
    assert.equal((c.stderr().match(/local MCP server speaks MCP 2026-07-28/g) ?? []).length, 2, 'both processes were probed');
  });
});
