/**
 * Resumable MCP client streams (2025-11-25 Streamable HTTP, "Resumability and Redelivery";
 * SEP-1699): a 2025-era client whose connection to the gateway is cut in the middle of a
 * tool call reconnects with Last-Event-ID and gets the rest — progress and the answer,
 * once — from the session's bounded event store. The cut is made by a TCP relay between
 * the MCP client and the gateway; the tunnel itself is untouched.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { FaultRelay } from '../../helpers/fault-relay.js';
import { EVERYTHING, firstText, spawnBin, startGateway, stopAll, waitFor, waitForServer, type GatewayProc } from '../../helpers/system.js';

const SECRET = 'mcp-resume-e2e-secret-0123456789abcd';
const T = { timeout: 60_000 };

describe('a 2025-era MCP client whose connection drops mid-call', () => {
  let gw: GatewayProc;
  let token: string;
  let relay: FaultRelay;
  let relayPort: number;

  before(async () => {
    token = await mintToken({ username: 'alice', secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET]);
    spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', 'everything'], { REVERSE_PROXY_TOKEN: token });
    await waitForServer(gw.url, token, 'everything');
    relay = new FaultRelay(gw.port);
    relayPort = await relay.listen();
  });
  after(async () => {
    await relay.close();
    await stopAll();
  });

  test('resumes its SSE stream with Last-Event-ID and gets the answer once, with every progress step once', T, async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${relayPort}/servers/everything/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
      reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1, maxRetries: 20 },
    });
    const client = new Client({ name: 'resumer', version: '1.0.0' });
    const errors: string[] = [];
    client.onerror = (err) => errors.push(err.message);
    await client.connect(transport);
    const progress: number[] = [];
    let cut = false;
    const answer = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 10 } }, undefined, {
      onprogress: (p) => {
        progress.push(p.progress);
        if (!cut && progress.length === 2) {
          cut = true;
          relay.cutAll('rst');
        }
      },
      timeout: 30_000,
    });
    const result = await answer;
    assert.ok(cut, 'the connection was cut mid-call');
    assert.match(firstText(result), /completed/i);
    assert.deepEqual(progress, [...new Set(progress)].sort((a, b) => a - b), 'progress in order, none twice');
    assert.equal(progress.at(-1), 10, 'the steps after the cut arrived too');
    // The reconnect came through the relay: more connections than the first POST and GET.
    assert.ok(relay.accepted > 2);
    await waitFor(() => client.callTool({ name: 'echo', arguments: { message: 'after' } }), 'a call after the resume');
    await client.close();
  });
});
