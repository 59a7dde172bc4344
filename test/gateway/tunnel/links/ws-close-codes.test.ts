/**
 * What a raw WebSocket peer reads when the gateway closes on it: a frame over
 * --max-frame-bytes closes with 1009 and a reason naming the limit (docs/protocol.md §1),
 * before and after register, and the gateway goes on serving others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { GATEWAY_DEFAULTS } from '../../../../src/config/types.js';
import { ECHO_SERVER, registeredPeer, T, withHarness, type Harness } from '../../../helpers/gateway-harness.js';

async function rawSocket(h: Harness, user: string): Promise<WebSocket> {
  const ws = new WebSocket(`${h.gw.url.replace(/^http/, 'ws')}/reverse-proxy/ws`, { headers: { Authorization: `Bearer ${await h.token(user)}` } });
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return ws;
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
}

test('an oversize frame (default 4 MiB limit, sent in many TCP segments) closes with 1009 and a reason', T, async () => {
  await withHarness(async (h) => {
    const limit = GATEWAY_DEFAULTS.maxFrameBytes;
    const reason = `frame larger than ${limit} bytes (--max-frame-bytes)`;

    // Before register.
    const early = await rawSocket(h, 'alice');
    const earlyClosed = closeOf(early);
    early.send('x'.repeat(limit + 1024 * 1024));
    assert.deepEqual(await earlyClosed, { code: 1009, reason });

    // After register, on a live session: the session loses its link, the gateway keeps serving.
    const ws = await rawSocket(h, 'bob');
    const acked = new Promise((resolve) => ws.once('message', resolve));
    ws.send(JSON.stringify({ type: 'register', server: { ...ECHO_SERVER, name: 'big' } }));
    await acked;
    const closed = closeOf(ws);
    ws.send(JSON.stringify({ type: 'notification', payload: { jsonrpc: '2.0', method: 'x', params: { pad: 'y'.repeat(limit + 10) } } }));
    assert.deepEqual(await closed, { code: 1009, reason });

    const { peer, token } = await registeredPeer(h, 'carol');
    const client = await h.mcpClient('echo', token);
    assert.equal((await client.listTools()).tools.length, 1);
    await peer.close();
  });
});
