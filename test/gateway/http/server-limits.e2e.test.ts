/**
 * The gateway's HTTP server against anyone who can open a socket (docs/gateway.md,
 * "Connections"): silent connections and requests trickled a byte at a time are closed by
 * --headers-timeout / --receive-timeout while real MCP calls through a real tunnel go on,
 * and --max-connections refuses connections over the cap. The real binary, raw sockets.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { connectMcp, firstText, fixture, spawnBin, startGateway, stopAll, waitFor, waitForServer } from '../../helpers/system.js';

const SECRET = 'server-limits-e2e-secret-0123456789';
const T = { timeout: 120_000 };

interface Probe {
  socket: Socket;
  /** Everything the gateway sent on it. */
  received(): string;
  /** Resolves when the socket is closed (by the gateway: the test never closes a probe itself until the end). */
  closed: Promise<void>;
}

/** A raw connection: `prefix` at once, then `text` one byte every `everyMs` (never finishing unless it is short). */
function probe(port: number, text = '', everyMs = 100, prefix = ''): Probe {
  const socket = connect(port, '127.0.0.1');
  if (prefix) socket.write(prefix);
  let got = '';
  socket.setEncoding('latin1').on('data', (d: string) => (got += d));
  socket.on('error', () => {});
  let i = 0;
  const timer = setInterval(() => {
    if (i >= text.length || socket.destroyed) return clearInterval(timer);
    socket.write(text[i++]!);
  }, everyMs);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve();
    }),
  );
  return { socket, received: () => got, closed };
}

const endless = (head: string): string => head + 'x'.repeat(100_000);

/** initialize over fetch, then the session's GET stream on a raw socket (status line seen). */
async function mcpGetStream(url: string, port: number, token: string): Promise<Probe> {
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const res = await fetch(`${url}/servers/echo/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(init),
  });
  await res.text();
  const sid = res.headers.get('mcp-session-id')!;
  const head = `GET /servers/echo/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${sid}\r\nMcp-Protocol-Version: 2025-06-18\r\n\r\n`;
  const p = probe(port, '', 100, head);
  await waitFor(() => p.received().startsWith('HTTP/1.1 200'), 'the MCP GET stream to open');
  return p;
}

describe('HTTP server timeouts and caps', () => {
  after(stopAll);

  test('silent and trickling connections are closed while an MCP call through the tunnel is served; streams stay', T, async () => {
    const token = await mintToken({ username: 'alice', secret: SECRET });
    const gw = await startGateway(['--jwt-secret', SECRET, '--headers-timeout', '2', '--receive-timeout', '3', '--keep-alive-timeout', '2', '--keepalive', '1']);
    // An sse tunnel: its long-lived GET must outlive every request deadline.
    spawnBin(['--local-stdio', `node ${fixture('echo-server.mjs')}`, '--gateway', gw.url, '--name', 'echo', '--transport', 'sse'], { REVERSE_PROXY_TOKEN: token });
    await waitForServer(gw.url, token, 'echo', (s) => s.transport === 'sse');
    // And a ws tunnel: an upgraded connection is not a request either.
    spawnBin(['--local-stdio', `node ${fixture('echo-server.mjs')}`, '--gateway', gw.url, '--name', 'echo-ws', '--transport', 'ws'], { REVERSE_PROXY_TOKEN: token });
    await waitForServer(gw.url, token, 'echo-ws', (s) => s.transport === 'ws');
    // And an MCP client's standalone GET stream, opened before the attack.
    const stream = await mcpGetStream(gw.url, gw.port, token);

    const kinds = {
      silent: () => probe(gw.port),
      headers: () => probe(gw.port, endless('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')),
      upgrade: () => probe(gw.port, endless('GET /reverse-proxy/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: ')),
      // Complete headers at once, then a body that trickles.
      body: () =>
        probe(
          gw.port,
          endless('{"a":"'),
          100,
          `POST /servers/echo/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
        ),
    };
    const counts = { silent: 150, headers: 40, upgrade: 20, body: 10 };
    const probes: Array<{ kind: keyof typeof kinds; p: Probe }> = [];
    let attacking = true;
    const open = (kind: keyof typeof kinds): void => {
      const p = kinds[kind]();
      probes.push({ kind, p });
      // Keep the attack at full strength until the real call is done (bounded in count).
      void p.closed.then(() => {
        if (attacking && probes.length < 3000) open(kind);
      });
    };
    for (const [kind, n] of Object.entries(counts) as Array<[keyof typeof kinds, number]>) for (let i = 0; i < n; i++) open(kind);

    // A real client through the real tunnel, while all of that is open.
    const client = await connectMcp(gw.url, 'echo', token);
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { message: 'during the attack' } })), 'Echo: during the attack');
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { message: 'again' } })), 'Echo: again');
    attacking = false;

    // Every attacking connection is closed by the gateway (the test never closes one).
    await Promise.all(probes.map(({ p }) => p.closed));
    // Longer than every deadline has passed since the streams opened: they are still there, kept alive.
    assert.equal(stream.socket.destroyed, false, 'the MCP GET stream is still open');
    await waitFor(() => stream.received().includes(': keepalive'), 'a keepalive comment on the MCP GET stream');
    assert.doesNotMatch(gw.stderr(), /"event":"link_closed"/, 'neither tunnel link was ever cut');
    const wsClient = await connectMcp(gw.url, 'echo-ws', token);
    assert.equal(firstText(await wsClient.callTool({ name: 'echo', arguments: { message: 'ws' } })), 'Echo: ws');
    await wsClient.close();
    const silent = probes.filter((x) => x.kind === 'silent');
    assert.ok(silent.every(({ p }) => p.received().startsWith('HTTP/1.1 408 ')), 'silent connections get 408 Request Timeout');
    assert.ok(probes.every(({ p }) => !/^HTTP\/1\.1 (101|200)/.test(p.received())), 'no trickled request was served');
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { message: 'after' } })), 'Echo: after');
    await client.close();
    stream.socket.destroy();
    await gw.stop();
  });

  test('--max-connections: connections over the cap are closed at accept; a freed slot serves again', T, async () => {
    const gw = await startGateway(['--jwt-secret', SECRET, '--max-connections', '20', '--headers-timeout', '60', '--receive-timeout', '60']);
    const held: Probe[] = [];
    for (let i = 0; i < 20; i++) {
      const p = probe(gw.port);
      await new Promise((resolve) => p.socket.once('connect', resolve));
      held.push(p);
    }
    const GET = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
    const over = probe(gw.port, '', 100, GET);
    await over.closed;
    assert.equal(over.received(), '', 'the 21st connection is closed without an answer');
    assert.ok(held.every((p) => !p.socket.destroyed), 'the 20 held connections are still open');

    held.shift()!.socket.destroy();
    // The gateway learns about the freed slot asynchronously: retry, each attempt a real connection.
    let answer = '';
    for (let attempt = 0; attempt < 200 && !answer.startsWith('HTTP/1.1 200'); attempt++) {
      const p = probe(gw.port, '', 100, GET);
      await p.closed;
      answer = p.received();
    }
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const metrics = probe(gw.port, '', 100, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await metrics.closed;
    const refused = /mcp_reverse_proxy_refusals_total\{reason="max_connections"\} (\d+)/.exec(metrics.received());
    assert.ok(refused && Number(refused[1]) >= 1, 'refusals are counted');
    assert.match(gw.stderr(), /"event":"connection_refused"/);
    for (const p of held) p.socket.destroy();
    await gw.stop();
  });
});
