/**
 * MCP 2026-07-28 ("modern") clients through the real gateway and tunnel client binaries,
 * against a 2025-era stdio server (server-everything): the SDK v2 client in every
 * negotiation mode, the SDK v1 and an SDK 1.12 client side by side, MRTR bridging of the
 * server's sampling and elicitation requests, and the wire rules checked with raw POSTs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema as CreateMessageRequestSchemaV1,
  ElicitRequestSchema as ElicitRequestSchemaV1,
  ToolListChangedNotificationSchema as ToolListChangedNotificationSchemaV1,
} from '@modelcontextprotocol/sdk/types.js';
import { Client as Client112 } from '@modelcontextprotocol/sdk-1-12/client/index.js';
import { StreamableHTTPClientTransport as Http112 } from '@modelcontextprotocol/sdk-1-12/client/streamableHttp.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { EVERYTHING, firstText, fixture, spawnBin, startGateway, stopAll, waitFor, waitForServer, type GatewayProc } from '../../helpers/system.js';

const SECRET = 'modern-e2e-secret-0123456789abcdef';
const EVERY = 'everything';
const T = { timeout: 60_000 };
const V = '2026-07-28';

type Mode = 'legacy' | 'auto' | { pin: string };

/** A gateway whose servers every user may use (--open-servers), and tokens of two users. */
async function openGateway(): Promise<{ gw: GatewayProc; alice: string; bob: string }> {
  const alice = await mintToken({ username: 'alice', secret: SECRET });
  const bob = await mintToken({ username: 'bob', secret: SECRET });
  return { gw: await startGateway(['--jwt-secret', SECRET, '--open-servers']), alice, bob };
}

describe('MCP 2026-07-28 clients through the tunnel to a 2025-era server', () => {
  let gw: GatewayProc;
  let alice: string;
  let bob: string;
  let url: string;

  before(async () => {
    ({ gw, alice, bob } = await openGateway());
    url = `${gw.url}/servers/${EVERY}/mcp`;
    spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', EVERY], { REVERSE_PROXY_TOKEN: alice });
    spawnBin(['--local-stdio', `node ${fixture('cancel-recorder.mjs')}`, '--gateway', gw.url, '--name', 'recorder'], { REVERSE_PROXY_TOKEN: alice });
    spawnBin(['--local-stdio', `node ${fixture('conformance-server.mjs')}`, '--gateway', gw.url, '--name', 'conf'], { REVERSE_PROXY_TOKEN: alice });
    await waitForServer(gw.url, alice, EVERY);
    await waitForServer(gw.url, alice, 'recorder');
    await waitForServer(gw.url, alice, 'conf');
  });
  after(stopAll);

  async function v2(mode: Mode, token = alice, target = url): Promise<ClientV2> {
    const client = new ClientV2(
      { name: 'v2', version: '1.0.0' },
      { versionNegotiation: { mode: mode as never }, capabilities: { sampling: {}, elicitation: {} } },
    );
    client.setRequestHandler('sampling/createMessage' as never, (async (req: { params: { messages: Array<{ content: { text: string } }> } }) => ({
      role: 'assistant',
      content: { type: 'text', text: `sampled: ${req.params.messages[0]?.content.text}` },
      model: 'test-model',
      stopReason: 'endTurn',
    })) as never);
    client.setRequestHandler('elicitation/create' as never, (async () => ({ action: 'accept', content: { name: 'Ada', color: 'green' } })) as never);
    await client.connect(new HttpV2(new URL(target), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    return client;
  }

  for (const [label, mode, era] of [
    ['legacy', 'legacy', 'legacy'],
    ['auto', 'auto', 'modern'],
    ['pinned 2026-07-28', { pin: V }, 'modern'],
  ] as Array<[string, Mode, string]>) {
    test(`SDK v2 client (${label}) lists and calls tools`, T, async () => {
      const client = await v2(mode);
      assert.equal((client as unknown as { getProtocolEra(): string }).getProtocolEra(), era);
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
      assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { message: label } })), `Echo: ${label}`);
      await client.close();
    });
  }

  test('SDK v1 and SDK 1.12 clients keep working beside modern ones', T, async () => {
    const headers = { authorization: `Bearer ${alice}` };
    const one = new ClientV1({ name: 'v1', version: '1' });
    await one.connect(new HttpV1(new URL(url), { requestInit: { headers } }));
    const old = new Client112({ name: 'v1.12', version: '1' });
    await old.connect(new Http112(new URL(url), { requestInit: { headers } }));
    const modern = await v2({ pin: V });
    const texts = await Promise.all([
      one.callTool({ name: 'echo', arguments: { message: 'one' } }),
      old.callTool({ name: 'echo', arguments: { message: 'old' } }),
      modern.callTool({ name: 'echo', arguments: { message: 'new' } }),
    ]);
    assert.deepEqual(texts.map(firstText), ['Echo: one', 'Echo: old', 'Echo: new']);
    await Promise.all([one.close(), old.close(), modern.close()]);
  });

  test('MRTR: the server\'s sampling and elicitation requests become input_required rounds the client answers', T, async () => {
    const client = await v2({ pin: V });
    const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'capital of France?', maxTokens: 10 } });
    assert.match(firstText(sampled), /sampled: .*capital of France\?/);
    const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    assert.match(JSON.stringify(elicited), /Ada/);
    await client.close();
  });

  /** A raw modern POST, with the headers the spec requires unless `headers` overrides them. */
  async function post(
    method: string,
    params: Record<string, unknown> = {},
    opts: { token?: string; headers?: Record<string, string>; meta?: Record<string, unknown>; id?: number; target?: string } = {},
  ) {
    const meta = opts.meta ?? { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': { sampling: {}, elicitation: {} } };
    const body = { jsonrpc: '2.0', id: opts.id ?? 1, method, params: { ...params, _meta: meta } };
    const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
    const res = await fetch(opts.target ?? url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${opts.token ?? alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': V,
        'mcp-method': method,
        ...(name !== undefined ? { 'mcp-name': name } : {}),
        ...opts.headers,
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } }) : undefined };
  }

  test('requestState is single-use and bound to its user and request; forged ones are refused', T, async () => {
    const call = { name: 'trigger-sampling-request', arguments: { prompt: 'x', maxTokens: 5 } };
    const r1 = await post('tools/call', call);
    assert.equal(r1.status, 200);
    assert.equal(r1.body?.result?.resultType, 'input_required');
    const state = r1.body!.result!.requestState as string;
    const [key] = Object.keys(r1.body!.result!.inputRequests as object);
    const inputResponses = { [key!]: { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm' } };
    const forged = state.slice(0, -4) + (state.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.equal((await post('tools/call', { ...call, inputResponses, requestState: forged }, { id: 2 })).body?.error?.code, -32602);
    const otherUser = await post('tools/call', { ...call, inputResponses, requestState: state }, { id: 3, token: bob });
    assert.match(otherUser.body?.error?.message ?? '', /another user/);
    const otherArgs = await post('tools/call', { ...call, arguments: { prompt: 'y', maxTokens: 5 }, inputResponses, requestState: state }, { id: 4 });
    assert.match(otherArgs.body?.error?.message ?? '', /different request/);
    const done = await post('tools/call', { ...call, inputResponses, requestState: state }, { id: 5 });
    assert.equal(done.body?.id, 5);
    assert.equal(done.body?.result?.resultType, 'complete');
    assert.match(JSON.stringify(done.body?.result), /LLM sampling result/);
    const replay = await post('tools/call', { ...call, inputResponses, requestState: state }, { id: 6 });
    assert.equal(replay.status, 400);
    assert.match(replay.body?.error?.message ?? '', /no longer waiting/);
  });

  test('wire rules: header mismatch -32020, unknown version -32022, missing _meta -32602, removed methods 404, GET 405', T, async () => {
    const mismatch = await post('tools/list', {}, { headers: { 'mcp-method': 'prompts/list' } });
    assert.deepEqual([mismatch.status, mismatch.body?.error?.code, mismatch.body?.id], [400, -32020, 1]);
    const future = await post('tools/list', {}, {
      headers: { 'mcp-protocol-version': '2027-01-01' },
      meta: { 'io.modelcontextprotocol/protocolVersion': '2027-01-01', 'io.modelcontextprotocol/clientCapabilities': {} },
    });
    assert.deepEqual([future.status, future.body?.error?.code], [400, -32022]);
    assert.deepEqual((future.body?.error?.data as { supported: string[] }).supported, [V]);
    const noCaps = await post('tools/list', {}, { meta: { 'io.modelcontextprotocol/protocolVersion': V } });
    assert.deepEqual([noCaps.status, noCaps.body?.error?.code], [400, -32602]);
    const ping = await post('ping');
    assert.deepEqual([ping.status, ping.body?.error?.code], [404, -32601]);
    const get = await fetch(url, { headers: { authorization: `Bearer ${alice}`, accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  test('server/discover answers from what the tunnel registered, with resultType and cache hints', T, async () => {
    const r = await post('server/discover');
    assert.equal(r.status, 200);
    const result = r.body!.result!;
    assert.deepEqual(result.supportedVersions, [V]);
    assert.equal(result.resultType, 'complete');
    assert.equal(typeof result.ttlMs, 'number');
    assert.ok(['public', 'private'].includes(result.cacheScope as string));
    assert.equal((result._meta as Record<string, { name: string }>)['io.modelcontextprotocol/serverInfo']?.name, 'mcp-servers/everything');
    assert.ok((result.capabilities as Record<string, unknown>).tools);
  });

  test('closing a modern request\'s stream cancels it at the server', T, async () => {
    const recorder = `${gw.url}/servers/recorder/mcp`;
    const controller = new AbortController();
    const meta = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {}, progressToken: 'p1' };
    const res = await fetch(recorder, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': V,
        'mcp-method': 'tools/call',
        'mcp-name': 'wait',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'wait', arguments: {}, _meta: meta } }),
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    // The first event is the server's progress 0: the call has arrived.
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /notifications\/progress/);
    controller.abort();
    const client = await v2({ pin: V }, alice, recorder);
    const seen = await waitFor(async () => {
      const text = firstText(await client.callTool({ name: 'cancellations', arguments: {} }));
      const r = text ? (JSON.parse(text) as { waits: unknown[]; cancelled: unknown[] }) : undefined;
      return r && r.cancelled.length > 0 ? r : undefined;
    }, 'the server to see notifications/cancelled');
    assert.deepEqual(seen.cancelled, seen.waits);
    await client.close();
  });

  /** Open a listen stream and read its events as they come. */
  async function listen(id: number, notifications: Record<string, unknown>) {
    const controller = new AbortController();
    const meta = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {} };
    const res = await fetch(`${gw.url}/servers/conf/mcp`, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': V,
        'mcp-method': 'subscriptions/listen',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications, _meta: meta } }),
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const events: Array<{ method?: string; params?: Record<string, unknown> }> = [];
    const reader = res.body!.getReader();
    let buffered = '';
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buffered += new TextDecoder().decode(value);
        for (let i = buffered.indexOf('\n\n'); i >= 0; i = buffered.indexOf('\n\n')) {
          const block = buffered.slice(0, i);
          buffered = buffered.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)));
        }
      }
    })();
    return { events, close: () => controller.abort() };
  }

  test('listen streams get the list changes they opted in to, stamped with their own subscription id', T, async () => {
    const tools = await listen(101, { toolsListChanged: true });
    const prompts = await listen(102, { promptsListChanged: true });
    const sid = (e: { params?: Record<string, unknown> }) => (e.params?._meta as Record<string, unknown> | undefined)?.['io.modelcontextprotocol/subscriptionId'];
    await waitFor(() => tools.events.length > 0 && prompts.events.length > 0, 'both acknowledgements');
    assert.equal(tools.events[0]?.method, 'notifications/subscriptions/acknowledged');
    assert.deepEqual(tools.events[0]?.params?.notifications, { toolsListChanged: true });
    assert.equal(sid(tools.events[0]!), 101);
    const call = (name: string, id: number) => post('tools/call', { name, arguments: {} }, { id, target: `${gw.url}/servers/conf/mcp` });
    assert.equal((await call('test_trigger_tool_change', 1)).body?.result?.resultType, 'complete');
    await waitFor(() => tools.events.find((e) => e.method === 'notifications/tools/list_changed'), 'tools/list_changed on the tools stream');
    // Barrier: the prompts stream sees its own change after the tools change left the server.
    assert.equal((await call('test_trigger_prompt_change', 2)).body?.result?.resultType, 'complete');
    await waitFor(() => prompts.events.find((e) => e.method === 'notifications/prompts/list_changed'), 'prompts/list_changed on the prompts stream');
    assert.deepEqual(prompts.events.map((e) => e.method), ['notifications/subscriptions/acknowledged', 'notifications/prompts/list_changed']);
    assert.ok(!tools.events.some((e) => e.method === 'notifications/prompts/list_changed'));
    assert.ok(tools.events.every((e) => sid(e) === 101) && prompts.events.every((e) => sid(e) === 102));
    tools.close();
    prompts.close();
  });
});

describe('MCP 2026-07-28 clients through the tunnel to a 2026-07-28-only server', () => {
  let gw: GatewayProc;
  let alice: string;
  let bob: string;
  let url: string;

  before(async () => {
    ({ gw, alice, bob } = await openGateway());
    url = `${gw.url}/servers/modern/mcp`;
    spawnBin(['--local-stdio', `node ${fixture('modern-server.mjs')}`, '--gateway', gw.url, '--name', 'modern'], { REVERSE_PROXY_TOKEN: alice });
    await waitForServer(gw.url, alice, 'modern', (s) => (s as unknown as { era?: string }).era === 'modern');
  });
  after(stopAll);

  test('pass-through: tools, MRTR elicitation and sampling, progress; the server\'s requestState is wrapped per user', T, async () => {
    const client = new ClientV2({ name: 'v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: V } }, capabilities: { sampling: {}, elicitation: {} } });
    client.setRequestHandler('sampling/createMessage' as never, (async () => ({ role: 'assistant', content: { type: 'text', text: 'hello from the client' }, model: 'm', stopReason: 'endTurn' })) as never);
    client.setRequestHandler('elicitation/create' as never, (async () => ({ action: 'accept', content: { ok: true } })) as never);
    await client.connect(new HttpV2(new URL(url), { requestInit: { headers: { authorization: `Bearer ${alice}` } } }));
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { message: 'm' } })), 'Echo: m');
    assert.match(firstText(await client.callTool({ name: 'confirm', arguments: {} })), /elicitation accept: \{"ok":true\}/);
    assert.match(firstText(await client.callTool({ name: 'ask-llm', arguments: {} })), /hello from the client/);
    const progress: number[] = [];
    await client.callTool({ name: 'count', arguments: { steps: 3 } }, { onprogress: (p: { progress: number }) => void progress.push(p.progress) });
    assert.equal(progress.length, 3);
    await client.close();

    const meta = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } };
    const post = (token: string, params: Record<string, unknown>, id: number) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'confirm' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'confirm', arguments: {}, ...params, _meta: meta } }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string } } }));
    const first = await post(alice, {}, 1);
    assert.equal(first.body.result?.resultType, 'input_required');
    const state = first.body.result!.requestState as string;
    const inputResponses = { confirm: { action: 'accept', content: { ok: false } } };
    const stolen = await post(bob, { inputResponses, requestState: state }, 2);
    assert.equal(stolen.status, 400);
    assert.match(stolen.body.error?.message ?? '', /another user/);
    const done = await post(alice, { inputResponses, requestState: state }, 3);
    assert.equal(firstText(done.body.result), 'elicitation accept: {"ok":false}');
  });

  test('SDK v2 client in auto mode finds the modern era and calls tools', T, async () => {
    const client = new ClientV2({ name: 'v2-auto', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new HttpV2(new URL(url), { requestInit: { headers: { authorization: `Bearer ${alice}` } } }));
    assert.equal((client as unknown as { getProtocolEra(): string }).getProtocolEra(), 'modern');
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'echo'));
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { message: 'auto' } })), 'Echo: auto');
    await client.close();
  });

  test('server/discover is the server\'s own', T, async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V, 'mcp-method': 'server/discover' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {} } } }),
    });
    const body = (await res.json()) as { result: Record<string, unknown> };
    assert.deepEqual(body.result.supportedVersions, [V]);
    assert.match(String(body.result.instructions), /2026-07-28-only test server/);
  });

  test('2025-era clients (SDK v1, SDK 1.12, SDK v2 legacy) use it: envelope added, MRTR put to them as requests, results without resultType', T, async () => {
    const headers = { authorization: `Bearer ${alice}` };
    const one = new ClientV1({ name: 'v1', version: '1' }, { capabilities: { elicitation: {}, sampling: {} } });
    one.setRequestHandler(ElicitRequestSchemaV1, async () => ({ action: 'accept', content: { ok: true } }));
    one.setRequestHandler(CreateMessageRequestSchemaV1, async () => ({ role: 'assistant', content: { type: 'text', text: 'from v1' }, model: 'm' }));
    await one.connect(new HttpV1(new URL(url), { requestInit: { headers } }));
    const old = new Client112({ name: 'v1.12', version: '1' });
    await old.connect(new Http112(new URL(url), { requestInit: { headers } }));
    const legacyV2 = new ClientV2({ name: 'v2', version: '1' });
    await legacyV2.connect(new HttpV2(new URL(url), { requestInit: { headers } }));
    const { tools } = await one.listTools();
    assert.ok(tools.some((t) => t.name === 'confirm'));
    const texts = await Promise.all([
      one.callTool({ name: 'echo', arguments: { message: 'one' } }),
      old.callTool({ name: 'echo', arguments: { message: 'old' } }),
      legacyV2.callTool({ name: 'echo', arguments: { message: 'v2' } }),
    ]);
    assert.deepEqual(texts.map(firstText), ['Echo: one', 'Echo: old', 'Echo: v2']);
    assert.ok(!('resultType' in texts[0]!), 'a 2025 client does not see resultType');
    // The server's input_required becomes an elicitation request on the v1 session, then the call is retried.
    assert.equal(firstText(await one.callTool({ name: 'confirm', arguments: {} })), 'elicitation accept: {"ok":true}');
    assert.match(firstText(await one.callTool({ name: 'ask-llm', arguments: {} })), /from v1/);
    const progress: number[] = [];
    await one.callTool({ name: 'count', arguments: { steps: 2 } }, undefined, { onprogress: (p) => void progress.push(p.progress) });
    assert.deepEqual(progress, [1, 2]);
    await Promise.all([one.close(), old.close(), legacyV2.close()]);
  });

  test('a 2025-era client hears the server\'s list changes through the gateway\'s own listen stream', T, async () => {
    const client = new ClientV1({ name: 'listener', version: '1' });
    let changed!: () => void;
    const heard = new Promise<void>((resolve) => (changed = resolve));
    client.setNotificationHandler(ToolListChangedNotificationSchemaV1, async () => changed());
    await client.connect(new HttpV1(new URL(url), { requestInit: { headers: { authorization: `Bearer ${alice}` } } }));
    // Its GET stream is open once a request has been answered after connect.
    await client.listTools();
    await waitFor(async () => {
      await client.callTool({ name: 'add-tool', arguments: { name: `extra-${Date.now()}` } });
      return Promise.race([heard.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 200))]);
    }, 'tools/list_changed on the 2025 client');
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name.startsWith('extra-')));
    await client.close();
  });
});
