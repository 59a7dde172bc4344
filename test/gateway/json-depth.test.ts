/**
 * JSON nested deeper than MAX_JSON_DEPTH is refused with a clear JSON-RPC error at every
 * entry point of the gateway — the MCP endpoint, the admin request route, tunnel frames
 * from a peer — and whatever session it came on keeps serving. A real gateway on
 * 127.0.0.1, a real SDK client, and a hand-made tunnel peer that sends what a hostile
 * tunnel client could.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';
import { RpcErrorCode } from '../../src/protocol/jsonrpc.js';
import { echoServer } from '../helpers/gateway-fake-peer.js';
import { registeredPeer, T, withHarness } from '../helpers/gateway-harness.js';

/** `levels` nested arrays as JSON text (built as text: JSON.stringify itself would overflow). */
const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
const DEEP = 5000;
const TOO_DEEP = /nested deeper than 128 levels/;

test('MCP endpoint: a 5,000-deep request gets 400 -32600 and the session keeps serving', T, () =>
  withHarness(async (h) => {
    const { peer, token } = await registeredPeer(h);
    const client = await h.mcpClient('echo', token);
    const sessionId = (client.transport as { sessionId?: string }).sessionId!;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId };
    const deep = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"x":${nested(DEEP)}}}}`;
    const res = await fetch(`${h.gw.url}/servers/echo/mcp`, { method: 'POST', headers, body: deep });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: number; message: string } };
    assert.equal(body.error.code, RpcErrorCode.InvalidRequest);
    assert.match(body.error.message, TOO_DEEP);
    // Exactly at the limit is fine: message (1) > params (2) > arguments (3) > x (4) > arrays.
    const atLimit = await client.callTool({ name: 'echo', arguments: { x: JSON.parse(nested(MAX_JSON_DEPTH - 4)) } });
    assert.ok(JSON.stringify(atLimit).length > 0);
    const res2 = await client.callTool({ name: 'echo', arguments: { after: 'deep' } });
    assert.deepEqual(res2.content, [{ type: 'text', text: '{"after":"deep"}' }]);
    peer.close();
  }),
);

test('admin request route: a 5,000-deep message gets 400 -32600; the next one is relayed', T, () =>
  withHarness(async (h) => {
    const { peer, ack, token } = await registeredPeer(h);
    const path = `/reverse-proxy/sessions/${ack.sessionId}/request`;
    const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"x":${nested(DEEP)}}}`;
    const res = await h.api(path, { method: 'POST', token, body: deep, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: number; message: string } };
    assert.deepEqual([body.error.code, TOO_DEEP.test(body.error.message)], [RpcErrorCode.InvalidRequest, true]);
    const ok = await h.api(path, { method: 'POST', token, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /"tools"/);
    peer.close();
  }),
);

test('tunnel: a too-deep response reaches the MCP client as a JSON-RPC error; the tunnel keeps serving', T, () =>
  withHarness(async (h) => {
    const { peer, token } = await registeredPeer(h);
    const client = await h.mcpClient('echo', token);
    peer.handler = undefined;
    const call = client.callTool({ name: 'echo', arguments: {} });
    const req = await peer.nthRequest(0);
    peer.sendDataText('response', `{"jsonrpc":"2.0","id":${JSON.stringify(req.payload.id)},"result":{"x":${nested(DEEP)}}}`);
    await assert.rejects(call, (err: unknown) => err instanceof McpError && err.code === RpcErrorCode.InternalError && TOO_DEEP.test(err.message));
    peer.handler = echoServer;
    const res = await client.callTool({ name: 'echo', arguments: { still: 'here' } });
    assert.deepEqual(res.content, [{ type: 'text', text: '{"still":"here"}' }]);
    peer.close();
  }),
);

test('tunnel: a too-deep server→client request is answered -32600 to the server; a deep control field is a bad_frame', T, () =>
  withHarness(async (h) => {
    const { peer, token } = await registeredPeer(h);
    const client = await h.mcpClient('echo', token);
    const from = peer.frames.length;
    peer.sendDataText('response', `{"jsonrpc":"2.0","id":"srv-1","method":"sampling/createMessage","params":{"x":${nested(DEEP)}}}`);
    const answer = await peer.next((f) => f.type === 'request' && f.payload?.id === 'srv-1', from);
    assert.equal(answer.payload.error.code, RpcErrorCode.InvalidRequest);
    assert.match(answer.payload.error.message, TOO_DEEP);
    peer.sendRaw(`{"type":"heartbeat","extra":${nested(DEEP)}}`);
    const bad = await peer.next((f) => f.type === 'error' && f.code === 'bad_frame', from);
    assert.match(bad.message, /frame field "extra" is nested deeper than 128 levels/);
    const res = await client.callTool({ name: 'echo', arguments: { still: 'here' } });
    assert.deepEqual(res.content, [{ type: 'text', text: '{"still":"here"}' }]);
    peer.close();
  }),
);
