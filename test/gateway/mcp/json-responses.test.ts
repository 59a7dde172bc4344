/**
 * The MCP endpoint's JSON fast path (src/gateway/mcp/json-responses.ts) with real parts: the
 * gateway and tunnel client binaries, server-everything over stdio, raw fetch and the SDK
 * Client. A plain request on a session with an open GET stream is answered with one
 * application/json body; a request with a progress token still gets the SDK's SSE stream;
 * sampling on behalf of a JSON-answered request reaches the client through its GET stream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { EVERYTHING, firstText, spawnBin, startGateway, stopAll, waitForServer, type GatewayProc } from '../../helpers/system.js';

const SECRET = 'json-fast-path-test-secret-0123456789';
const EVERY = 'server-everything';
const T = { timeout: 60_000 };
const ACCEPT_BOTH = 'application/json, text/event-stream';

describe('JSON fast path of the MCP endpoint', () => {
  let gw: GatewayProc;
  let token: string;
  let url: string;
  const streams: AbortController[] = [];

  before(async () => {
    token = await mintToken({ username: 'alice', secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET]);
    spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', EVERY], { REVERSE_PROXY_TOKEN: token });
    await waitForServer(gw.url, token, EVERY);
    url = `${gw.url}/servers/${EVERY}/mcp`;
  });
  after(async () => {
    for (const c of streams) c.abort();
    await stopAll();
  });

  const post = (sid: string | undefined, body: unknown): Promise<Response> =>
    fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: ACCEPT_BOTH,
        'content-type': 'application/json',
        ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION } : {}),
      },
      body: JSON.stringify(body),
    });

  /** A raw session: initialize, initialized, and its standalone GET stream (headers received). */
  async function rawSession(): Promise<string> {
    const init = await post(undefined, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
    });
    assert.equal(init.status, 200);
    const sid = init.headers.get('mcp-session-id');
    assert.ok(sid, 'initialize answered with a session id');
    await init.text();
    const ack = await post(sid, { jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(ack.status, 202);
    await ack.text();
    const ctl = new AbortController();
    streams.push(ctl);
    const get = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
      signal: ctl.signal,
    });
    assert.equal(get.status, 200);
    return sid;
  }

  test('a plain tools/call is answered with one application/json body', T, async () => {
    const sid = await rawSession();
    const res = await post(sid, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { message: 'fast' } } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('mcp-session-id'), sid);
    const body = (await res.json()) as { id: number; result: unknown };
    assert.equal(body.id, 7);
    assert.equal(firstText(body.result), 'Echo: fast');
    // Errors of the Multiplexer come the same way (the same client id is refused twice only in flight).
    const unknown = await post(sid, { jsonrpc: '2.0', id: 8, method: 'no/such-method' });
    assert.match(unknown.headers.get('content-type') ?? '', /^application\/json/);
    const err = (await unknown.json()) as { id: number; error?: { code: number } };
    assert.equal(err.id, 8);
    assert.ok(err.error, 'an unknown method gets a JSON-RPC error');
  });

  test('a request with a progress token still streams its progress over SSE', T, async () => {
    const sid = await rawSession();
    const res = await post(sid, {
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 }, _meta: { progressToken: 'tok-9' } },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    // The SDK ends the stream after the answer, so the whole text can be read.
    const events = (await res.text())
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as { id?: number; method?: string; params?: { progressToken?: string }; result?: unknown });
    const progress = events.filter((e) => e.method === 'notifications/progress');
    assert.equal(progress.length, 2);
    assert.ok(progress.every((e) => e.params?.progressToken === 'tok-9'));
    const answer = events.find((e) => e.id === 9);
    assert.match(firstText(answer?.result), /Long running operation completed/);
  });

  test('sampling for a JSON-answered tools/call reaches the SDK client on its GET stream', T, async () => {
    const contentTypes = new Map<string, string>();
    let getOpen!: () => void;
    const getOpened = new Promise<void>((resolve) => (getOpen = resolve));
    // Record how each request was answered; learn when the client's GET stream is open.
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if ((init?.method ?? 'GET') === 'GET' && res.status === 200) getOpen();
      if (init?.method === 'POST' && typeof init.body === 'string') {
        const msg = JSON.parse(init.body) as { method?: string };
        if (msg.method) contentTypes.set(msg.method, res.headers.get('content-type') ?? '');
      }
      return res;
    };
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
      fetch: recording,
    });
    const client = new Client({ name: 'sampler', version: '1.0.0' }, { capabilities: { sampling: {} } });
    const asked: unknown[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      asked.push(req.params);
      return { role: 'assistant', content: { type: 'text', text: 'answer from the GET stream' }, model: 'test-model' };
    });
    await client.connect(transport);
    try {
      await getOpened;
      const res = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello' } });
      assert.match(contentTypes.get('tools/call') ?? '', /^application\/json/);
      assert.equal(asked.length, 1);
      assert.match(JSON.stringify(res), /answer from the GET stream/);
    } finally {
      await client.close();
    }
  });
});
