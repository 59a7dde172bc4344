/**
 * --max-mcp-sessions-per-user: the initialize over the cap gets 429 with a JSON-RPC error
 * naming the flag, other users are not affected, and closing a session frees its slot.
 * The real binary, a real tunnel, raw MCP requests and an SDK client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { connectMcp, firstText, fixture, spawnBin, startGateway, stopAll, waitForServer, type GatewayProc } from '../../helpers/system.js';

const SECRET = 'mcp-session-cap-e2e-secret-0123456789';
const T = { timeout: 60_000 };

describe('MCP sessions per user', () => {
  let gw: GatewayProc;
  const tokens: Record<string, string> = {};

  before(async () => {
    for (const name of ['alice', 'bob']) tokens[name] = await mintToken({ username: name, secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET, '--open-servers', '--max-mcp-sessions-per-user', '2']);
    spawnBin(['--local-stdio', `node ${fixture('echo-server.mjs')}`, '--gateway', gw.url, '--name', 'echo'], { REVERSE_PROXY_TOKEN: tokens.alice! });
    await waitForServer(gw.url, tokens.alice!, 'echo');
  });
  after(stopAll);

  const headers = (user: string, sid?: string): Record<string, string> => ({
    authorization: `Bearer ${tokens[user]}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(sid ? { 'mcp-session-id': sid } : {}),
  });

  async function initialize(user: string, id = 1): Promise<Response> {
    const body = { jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: user, version: '1' } } };
    return fetch(`${gw.url}/servers/echo/mcp`, { method: 'POST', headers: headers(user), body: JSON.stringify(body) });
  }

  async function opened(user: string): Promise<string> {
    const res = await initialize(user);
    assert.equal(res.status, 200);
    await res.text();
    return res.headers.get('mcp-session-id')!;
  }

  test('the third session of a user is refused with 429 and a JSON-RPC error; bob is not affected; a DELETE frees a slot', T, async () => {
    const first = await opened('alice');
    await opened('alice');
    const refused = await initialize('alice', 42);
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { id: unknown; error: { code: number; message: string } };
    assert.equal(body.id, 42);
    assert.equal(body.error.code, -32000);
    assert.match(body.error.message, /Too many MCP sessions: alice already holds 2 \(--max-mcp-sessions-per-user 2\)/);
    // An SDK client of alice fails with that message too.
    await assert.rejects(connectMcp(gw.url, 'echo', tokens.alice!), /Too many MCP sessions: alice[\s\S]*--max-mcp-sessions-per-user/);

    // bob has his own budget.
    const bobClient = await connectMcp(gw.url, 'echo', tokens.bob!, 'bob');
    assert.equal(firstText(await bobClient.callTool({ name: 'echo', arguments: { message: 'bob' } })), 'Echo: bob');

    // alice closes one session: its slot is free at once.
    const del = await fetch(`${gw.url}/servers/echo/mcp`, { method: 'DELETE', headers: headers('alice', first) });
    assert.equal(del.status, 200);
    const aliceClient = await connectMcp(gw.url, 'echo', tokens.alice!, 'alice');
    assert.equal(firstText(await aliceClient.callTool({ name: 'echo', arguments: { message: 'alice again' } })), 'Echo: alice again');
    await assert.rejects(connectMcp(gw.url, 'echo', tokens.alice!), /Too many MCP sessions/);
    assert.match(gw.stderr(), /"event":"mcp_sessions_exhausted"/);
    await Promise.all([bobClient.close(), aliceClient.close()]);
  });
});
