/**
 * `initialize` through the gateway answers with the client's protocol version when the
 * gateway supports it (MCP lifecycle, "Version Negotiation"), whatever version the tunneled
 * server speaks: raw requests for every supported version, and an SDK 1.12 client (which
 * knows nothing newer than 2025-03-26) end to end through the real tunnel.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { Client as Client112 } from '@modelcontextprotocol/sdk-1-12/client/index.js';
import { StreamableHTTPClientTransport as Transport112 } from '@modelcontextprotocol/sdk-1-12/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION as LATEST_112 } from '@modelcontextprotocol/sdk-1-12/types.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { firstText, fixture, spawnBin, startGateway, stopAll, waitForServer, type GatewayProc } from '../../helpers/system.js';

const SECRET = 'protocol-version-e2e-secret-0123456789';
const T = { timeout: 60_000 };

describe('initialize protocol version through the gateway', () => {
  let gw: GatewayProc;
  let token: string;
  let headers: Record<string, string>;

  before(async () => {
    token = await mintToken({ username: 'alice', secret: SECRET });
    headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    gw = await startGateway(['--jwt-secret', SECRET]);
    spawnBin(['--local-stdio', `node ${fixture('echo-server.mjs')}`, '--gateway', gw.url, '--name', 'echo'], { REVERSE_PROXY_TOKEN: token });
    // The tunnel client initialized its server with the latest version: the server speaks that one.
    await waitForServer(gw.url, token, 'echo', (s) => (s as unknown as { protocolVersion?: string }).protocolVersion === LATEST_PROTOCOL_VERSION);
  });
  after(stopAll);

  /** POST one initialize and read its answer (JSON or a one-event SSE stream). */
  async function initialize(protocolVersion: string): Promise<{ version: string; sessionId: string }> {
    const body = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const res = await fetch(`${gw.url}/servers/echo/mcp`, { method: 'POST', headers, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    const text = await res.text();
    const json = res.headers.get('content-type')?.includes('text/event-stream') ? /^data: (.+)$/m.exec(text)![1]! : text;
    const msg = JSON.parse(json) as { result: { protocolVersion: string; serverInfo: { name: string } } };
    assert.equal(msg.result.serverInfo.name, 'echo-server');
    return { version: msg.result.protocolVersion, sessionId: res.headers.get('mcp-session-id')! };
  }

  for (const version of SUPPORTED_PROTOCOL_VERSIONS) {
    test(`a client asking for ${version} gets ${version}, and its next request with that version header is served`, T, async () => {
      const { version: answered, sessionId } = await initialize(version);
      assert.equal(answered, version);
      const res = await fetch(`${gw.url}/servers/echo/mcp`, {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': version },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /"name":"echo"/);
      await fetch(`${gw.url}/servers/echo/mcp`, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': sessionId } });
    });
  }

  test('a version the gateway does not support gets the latest it does', T, async () => {
    const { version, sessionId } = await initialize('2023-01-01');
    assert.equal(version, LATEST_PROTOCOL_VERSION);
    await fetch(`${gw.url}/servers/echo/mcp`, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': sessionId } });
  });

  test('an SDK 1.12 client connects and calls a tool through the real tunnel', T, async () => {
    assert.notEqual(LATEST_112, LATEST_PROTOCOL_VERSION, 'the old SDK really is older');
    const client = new Client112({ name: 'sdk-1.12', version: '1.0.0' });
    const transport = new Transport112(new URL(`${gw.url}/servers/echo/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    await client.connect(transport);
    const res = await client.callTool({ name: 'echo', arguments: { message: 'from 1.12' } });
    assert.equal(firstText(res), 'Echo: from 1.12');
    await transport.terminateSession();
    await client.close();
  });
});
