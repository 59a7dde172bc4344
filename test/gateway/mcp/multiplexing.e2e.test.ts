/**
 * MCP multiplexing with real parts: the gateway and tunnel client binaries, server-everything
 * (and the cancel-recorder fixture) over stdio, two MCP SDK clients sharing one server.
 * Every "B got none" is checked against a barrier that B does receive after the event in
 * question left the server, so no assertion depends on waiting a while.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { EVERYTHING, firstText, fixture, spawnBin, startGateway, stopAll, waitFor, waitForServer, type GatewayProc } from '../../helpers/system.js';

const SECRET = 'multiplexing-e2e-secret-0123456789';
const EVERY = 'server-everything';
const T = { timeout: 60_000 };

async function connect(gw: GatewayProc, server: string, token: string, name: string, capabilities: ClientCapabilities = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/servers/${server}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name, version: '1.0.0' }, { capabilities });
  const errors: string[] = [];
  client.onerror = (err) => errors.push(err.message);
  await client.connect(transport);
  return { client, transport, errors };
}

describe('two MCP clients on one server-everything through the real tunnel', () => {
  let gw: GatewayProc;
  let token: string;

  before(async () => {
    token = await mintToken({ username: 'alice', secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET]);
    const env = { REVERSE_PROXY_TOKEN: token };
    spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', EVERY], env);
    spawnBin(['--local-stdio', `node ${fixture('cancel-recorder.mjs')}`, '--gateway', gw.url, '--name', 'recorder'], env);
    await waitForServer(gw.url, token, EVERY);
    await waitForServer(gw.url, token, 'recorder');
  });
  after(stopAll);

  test('sampling goes to the client that declared it and triggered it; its answer reaches the server', T, async () => {
    const a = await connect(gw, EVERY, token, 'A', { sampling: {} });
    const b = await connect(gw, EVERY, token, 'B');
    const asked: unknown[] = [];
    a.client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      asked.push(req.params);
      return { role: 'assistant', content: { type: 'text', text: 'answer from A' }, model: 'test-model' };
    });
    const { tools } = await a.client.listTools();
    assert.ok(tools.some((t) => t.name === 'trigger-sampling-request'), 'the tunnel client declared sampling to the server');
    const res = await a.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello' } });
    assert.match(firstText(res), /answer from A/);
    assert.equal(asked.length, 1);
    // B cannot sample: a tool call of its own still works and it was never asked.
    assert.equal(firstText(await b.client.callTool({ name: 'echo', arguments: { message: 'b' } })), 'Echo: b');
    assert.deepEqual([a.errors, b.errors], [[], []]);
    await Promise.all([a.client.close(), b.client.close()]);
  });

  test('progress reaches only the client that asked, with its own token', T, async () => {
    const a = await connect(gw, EVERY, token, 'A');
    const b = await connect(gw, EVERY, token, 'B');
    const progressA: number[] = [];
    const progressB: number[] = [];
    const args = { duration: 0.4, steps: 4 };
    // Both SDK clients pick the same progress token (their request id): the gateway keeps them apart.
    const [ra, rb] = await Promise.all([
      a.client.callTool({ name: 'trigger-long-running-operation', arguments: args }, undefined, { onprogress: (p) => void progressA.push(p.progress) }),
      b.client.callTool({ name: 'trigger-long-running-operation', arguments: args }, undefined, { onprogress: (p) => void progressB.push(p.progress) }),
    ]);
    assert.match(firstText(ra), /completed/);
    assert.match(firstText(rb), /completed/);
    assert.deepEqual(progressA, [1, 2, 3, 4]);
    assert.deepEqual(progressB, [1, 2, 3, 4]);
    // Progress for an unknown token would show up as an SDK error.
    assert.deepEqual([a.errors, b.errors], [[], []]);

    // B alone: A (idle) gets none of it.
    progressB.length = 0;
    await b.client.callTool({ name: 'trigger-long-running-operation', arguments: args }, undefined, { onprogress: (p) => void progressB.push(p.progress) });
    assert.deepEqual(progressB, [1, 2, 3, 4]);
    assert.deepEqual(a.errors, []);
    await Promise.all([a.client.close(), b.client.close()]);
  });

  test('resources/updated goes only to the client that subscribed to that URI', T, async () => {
    const a = await connect(gw, EVERY, token, 'A');
    const b = await connect(gw, EVERY, token, 'B');
    const { resources } = await a.client.listResources();
    const uri = resources[0]!.uri;
    const updatesA: string[] = [];
    const updatesB: string[] = [];
    const logsB: string[] = [];
    a.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updatesA.push(n.params.uri));
    b.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updatesB.push(n.params.uri));
    b.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      // Only the simulated log lines count as the barrier (they follow the update on the wire).
      if (/level[- ]message/i.test(String(n.params.data))) logsB.push(String(n.params.data));
    });

    await a.client.subscribeResource({ uri });
    // The server sends one update at once, then one every 5 s, to its (only) subscriber: the gateway.
    await b.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    await waitFor(() => updatesA.length > 0, 'A to get resources/updated', 30_000);
    assert.equal(updatesA[0], uri);
    // Barrier: simulated log messages fan out to everyone and leave the server after the update.
    await b.client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await waitFor(() => logsB.length > 0, 'B to get a simulated log message', 30_000);
    assert.deepEqual(updatesB, [], 'B never subscribed');

    await a.client.unsubscribeResource({ uri });
    await b.client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await b.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    await Promise.all([a.client.close(), b.client.close()]);
  });

  test('a cancelled request and a disconnected client both cancel upstream, naming the right request', T, async () => {
    const a = await connect(gw, 'recorder', token, 'A');
    const b = await connect(gw, 'recorder', token, 'B');
    const state = async () => JSON.parse(firstText(await a.client.callTool({ name: 'cancellations', arguments: {} }))) as { waits: number[]; cancelled: number[] };

    // A cancels through an AbortSignal once the server has the request (progress 0 says so).
    const abort = new AbortController();
    let arrived!: () => void;
    const atServer = new Promise<void>((r) => (arrived = r));
    const pending = a.client.callTool({ name: 'wait', arguments: {} }, undefined, { signal: abort.signal, onprogress: () => arrived() });
    await atServer;
    abort.abort('user pressed stop');
    await assert.rejects(pending);
    const afterCancel = await waitFor(async () => {
      const s = await state();
      return s.cancelled.length >= 1 ? s : undefined;
    }, 'the cancel to reach the server');
    assert.deepEqual(afterCancel.cancelled, [afterCancel.waits[0]], 'the cancel names the wait request as the server saw it');

    // B disconnects (DELETE) with a request in flight: the gateway cancels it for B.
    let bArrived!: () => void;
    const bAtServer = new Promise<void>((r) => (bArrived = r));
    const bPending = b.client.callTool({ name: 'wait', arguments: {} }, undefined, { onprogress: () => bArrived() }).catch((err: Error) => err);
    await bAtServer;
    await b.transport.terminateSession();
    await b.client.close();
    assert.ok((await bPending) instanceof Error);
    const afterDisconnect = await waitFor(async () => {
      const s = await state();
      return s.cancelled.length >= 2 ? s : undefined;
    }, 'the disconnect cancel to reach the server');
    assert.deepEqual(afterDisconnect.cancelled, afterDisconnect.waits);
    await a.client.close();
  });
});
