/**
 * Congestion on both ends of a WebSocket tunnel, over a real socket on 127.0.0.1: the
 * client transport (undici, src/transport/websocket.ts) and the gateway's link
 * (src/gateway/tunnel/links/ws-link.ts) say false from send() once their peer stops reading, and
 * fire `ondrain` once it reads again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { WebSocketTransport, WS_HIGH_WATER_BYTES } from '../../src/transport/websocket.js';
import { WsLink } from '../../src/gateway/tunnel/links/ws-link.js';
import { waitFor } from '../helpers/system.js';

/** The underlying net.Socket of a `ws` WebSocket: pausing it stops reading from the wire. */
function rawSocket(ws: WebSocket): { pause(): void; resume(): void } {
  return (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
}

async function wsServer(): Promise<{ url: string; connections: WebSocket[]; close(): Promise<void> }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  const connections: WebSocket[] = [];
  wss.on('connection', (ws) => connections.push(ws));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    async close() {
      for (const ws of connections) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const FRAME = 'x'.repeat(64 * 1024);
/** Enough frames to fill every socket buffer on loopback and the high-water mark behind them. */
const MAX_FRAMES = 4096;

test('client transport: send() says false while the gateway does not read; ondrain once it does', { timeout: 30_000 }, async () => {
  const srv = await wsServer();
  const agent = new Agent();
  const t = new WebSocketTransport({ url: srv.url, dispatcher: agent, handshakeTimeoutMs: 5_000 });
  let drains = 0;
  t.ondrain = () => drains++;
  try {
    await t.start();
    await waitFor(() => srv.connections.length === 1, 'the server side');
    const peer = srv.connections[0]!;
    rawSocket(peer).pause();
    let sent = 0;
    while (sent < MAX_FRAMES && t.send(FRAME)) {
      sent++;
      // Let the socket write what it can, as the event loop would between sends.
      if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok(sent < MAX_FRAMES, 'congestion was reported');
    assert.equal(drains, 0);
    let received = 0;
    peer.on('message', () => received++);
    rawSocket(peer).resume();
    await waitFor(() => drains === 1, 'ondrain');
    await waitFor(() => received === sent + 1, 'every frame, including the one that met congestion');
    assert.ok(WS_HIGH_WATER_BYTES >= FRAME.length);
  } finally {
    await t.close();
    await srv.close();
    await agent.close();
  }
});

test('gateway link: send() says false while the client does not read; ondrain once it does', { timeout: 30_000 }, async () => {
  const srv = await wsServer();
  const client = new WebSocket(srv.url);
  await new Promise<void>((resolve, reject) => client.once('open', () => resolve()).once('error', reject));
  await waitFor(() => srv.connections.length === 1, 'the server side');
  const link = new WsLink(srv.connections[0]!);
  let drains = 0;
  link.ondrain = () => drains++;
  try {
    rawSocket(client).pause();
    let sent = 0;
    while (sent < MAX_FRAMES && link.send(FRAME)) {
      sent++;
      if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok(sent < MAX_FRAMES, 'congestion was reported');
    let received = 0;
    client.on('message', () => received++);
    rawSocket(client).resume();
    await waitFor(() => drains === 1, 'ondrain');
    await waitFor(() => received === sent + 1, 'every frame');
  } finally {
    link.close();
    client.terminate();
    await srv.close();
  }
});
