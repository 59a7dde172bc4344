/**
 * Run by test/gateway/session-lifetime.test.ts in its own process (`node --expose-gc
 * --import tsx`), so the test runner's heap does not blur the numbers: a real gateway on
 * 127.0.0.1:0, and thousands of tunnel sessions with distinct names over real WebSockets,
 * ended every way there is (unregister; DELETE with an MCP client session open; resume
 * window expiry; the MCP client session closed before or after its tunnel). Prints one
 * JSON line: heap used after GC before and after the measured cycles.
 */
import WebSocket from 'ws';
import { startGateway } from '../../src/gateway/index.js';
import { mintToken } from '../../src/gateway/http/auth.js';
import { GATEWAY_DEFAULTS } from '../../src/config/types.js';
import { silentLogger } from '../../src/observability/logger.js';

const SECRET = 'session-churn-secret-0123456789abcdef';
const WARMUP = Number(process.env.CHURN_WARMUP ?? 1500);
const CYCLES = Number(process.env.CHURN_CYCLES ?? 3000);
const PARALLEL = 8;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const gw = await startGateway(
  { ...GATEWAY_DEFAULTS, host: '127.0.0.1', port: 0, jwtSecret: SECRET, resumeWindow: 0.01, maxSessionsPerUser: 1000, maxLinksPerUser: 1000, maxPendingLinksPerUser: 1000 },
  silentLogger,
);
const token = await mintToken({ username: 'churn', secret: SECRET });
const auth = { Authorization: `Bearer ${token}` };
const wsUrl = `${gw.url.replace(/^http/, 'ws')}/reverse-proxy/ws`;

async function tunnel(name: string): Promise<{ ws: WebSocket; sessionId: string; closed: Promise<void> }> {
  const ws = new WebSocket(wsUrl, { headers: auth });
  ws.on('error', () => {});
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const ack = new Promise<any>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
  ws.send(JSON.stringify({
    type: 'register',
    reliability: 'seq-ack/1',
    server: { name, protocol: 'stdio', serverInfo: { name: 'churn', version: '1' }, capabilities: { tools: {} }, protocolVersion: '2025-06-18' },
  }));
  const a = await ack;
  if (a.type !== 'register_ack') throw new Error(`register ${name}: ${JSON.stringify(a)}`);
  return { ws, sessionId: a.sessionId, closed };
}

async function mcpSession(name: string): Promise<string> {
  const res = await fetch(`${gw.url}/servers/${name}/mcp`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'churn', version: '1' } } }),
  });
  await res.text();
  const id = res.headers.get('mcp-session-id');
  if (!id) throw new Error(`no MCP session for ${name}: HTTP ${res.status}`);
  return id;
}

async function closeMcp(name: string, id: string): Promise<void> {
  const res = await fetch(`${gw.url}/servers/${name}/mcp`, { method: 'DELETE', headers: { ...auth, 'mcp-session-id': id } });
  await res.text();
}

async function gone(name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { servers } = (await (await fetch(`${gw.url}/servers`, { headers: auth })).json()) as { servers: Array<{ name: string }> };
    if (!servers.some((s) => s.name === name)) return;
  }
  throw new Error(`${name} never left the catalog`);
}

async function cycle(i: number): Promise<void> {
  const name = `churn-${i}`;
  const t = await tunnel(name);
  switch (i % 4) {
    case 0: // unregister
      t.ws.send(JSON.stringify({ type: 'unregister' }));
      await t.closed;
      return;
    case 1: {
      // DELETE the tunnel session while an MCP client session is open, then close that.
      const mcp = await mcpSession(name);
      await (await fetch(`${gw.url}/reverse-proxy/sessions/${t.sessionId}`, { method: 'DELETE', headers: auth })).text();
      await t.closed;
      await closeMcp(name, mcp);
      return;
    }
    case 2: {
      // The MCP client session ends first, then the tunnel.
      const mcp = await mcpSession(name);
      await closeMcp(name, mcp);
      t.ws.send(JSON.stringify({ type: 'unregister' }));
      await t.closed;
      return;
    }
    default:
      // The link dies; the session expires at the end of the resume window.
      t.ws.terminate();
      await t.closed;
      await gone(name);
  }
}

async function churn(from: number, count: number): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < from + count) await cycle(next++);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc!();
  }
  return process.memoryUsage().heapUsed;
}

await churn(0, WARMUP);
const before = await heapAfterGc();
await churn(WARMUP, CYCLES);
const after = await heapAfterGc();
await gw.close();
process.stdout.write(`${JSON.stringify({ warmup: WARMUP, cycles: CYCLES, before, after })}\n`);
