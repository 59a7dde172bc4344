/**
 * The MCP endpoint's JSON fast path (src/gateway/mcp/json-responses.ts) with real parts: the
 * gateway and tunnel client binaries, server-everything over stdio, raw fetch and the SDK
 * Client. A plain request on a session with an open GET stream is answered with one
 * application/json body; a request with a progress token still gets the SDK's SSE stream;
 * sampling on behalf of a JSON-answered request reaches the client through its GET stream.
 * A tools/call of a client that can resume streams (2025-11-25 and later) is the exception:
 * it gets a resumable SSE stream (docs/gateway.md, "Resumable streams").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { EVERYTHING, firstText, spawnBin, startGateway, stopAll, waitForServer, type GatewayProc } from '../../helpers/system.js';

const SECRET = 'json-fast-path-test-secret-0123456789';
const EVERY = 'server-everything';
const T = { timeout: 60_000 };
const ACCEPT_BOTH = 'application/json, text/event-stream';
/** A version before resumable streams: every plain request takes the fast path. */
const OLDER = '2025-06-18';
const RESUMABLE = '2025-11-25';

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

  const post = (sid: string | undefined, body: unknown, version = OLDER): Promise<Response> =>
    fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: ACCEPT_BOTH,
        'content-type': 'application/json',
        ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': version } : {}),
      },
      body: JSON.stringify(body),
    });

  /** A raw session: initialize, initialized, and its standalone GET stream (headers received). */
  async function rawSession(version = OLDER): Promise<string> {
    const init = await post(undefined, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
    });
    assert.equal(init.status, 200);
    const sid = init.headers.get('mcp-session-id');
    assert.ok(sid, 'initialize answered with a session id');
    await init.text();
    const ack = await post(sid, { jsonrpc: '2.0', method: 'notifications/initialized' }, version);
    assert.equal(ack.status, 202);
    await ack.text();
    const ctl = new AbortController();
    streams.push(ctl);
    const get = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': version },
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

  test('a tools/call of a client that can resume gets a resumable SSE stream; its other requests stay JSON', T, async () => {
    const sid = await rawSession(RESUMABLE);
    const call = await post(sid, { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'echo', arguments: { message: 'r' } } }, RESUMABLE);
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await call.text();
    // The priming event (SEP-1699): an id and a retry, no data, before the answer.
    assert.match(text, /^id: [^\n]+\nretry: \d+\ndata: \n\n/);
    assert.match(text, /Echo: r/);
    const list = await post(sid, { jsonrpc: '2.0', id: 12, method: 'tools/list' }, RESUMABLE);
    assert.match(list.headers.get('content-type') ?? '', /^application\/json/);
    await list.text();
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

  test('sampling for a JSON-answered tools/call reaches the SDK client on its GET stream (--mcp-resume-bytes 0)', T, async () => {
    // Without resumable streams every plain request takes the fast path, tools/call too.
    const plain = await startGateway(['--jwt-secret', SECRET, '--mcp-resume-bytes', '0']);
    spawnBin(['--local-stdio', EVERYTHING, '--gateway', plain.url, '--name', EVERY], { REVERSE_PROXY_TOKEN: token });
    await waitForServer(plain.url, token, EVERY);
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
    const transport = new StreamableHTTPClientTransport(new URL(`${plain.url}/servers/${EVERY}/mcp`), {
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
