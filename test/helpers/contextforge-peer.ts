/**
 * ContextForge's reverse-proxy client, ported line by line for the gateway tests: the
 * plain peer our gateway must serve. Source: IBM/mcp-context-forge
 * mcpgateway/reverse_proxy.py (ReverseProxyClient, StdioProcess), commit ecba50e4.
 *
 * What it does, in its order:
 * 1. starts the local stdio server (a real child process);
 * 2. opens `ws(s)://…/reverse-proxy/ws` with `Authorization: Bearer …` and
 *    `X-Session-ID: <its own uuid4 hex>`; websockets pings every 20 s (10 s pong timeout);
 * 3. sends the child `initialize` itself (id `init-<hex>`, protocolVersion 2024-11-05) and
 *    forwards every stdout line as `{"type": "response"|"notification", "sessionId", "payload"}`
 *    (`response` whenever the payload has an `id`) — so the initialize answer reaches the
 *    gateway *before* register;
 * 4. then (after `asyncio.sleep(1)` upstream; here: once that answer went out, the same
 *    order without a sleep) sends
 *    `{"type":"register","sessionId",server:{"name":"reverse-proxy-<8 hex>","description","protocol":"stdio"}}`;
 * 5. every `keepalive` s sends `{"type":"heartbeat","sessionId"}`; answers every gateway
 *    `heartbeat` with one; writes the payload of every `request` frame to the child; logs
 *    `error` frames; anything else (register_ack included) is an "unknown message type";
 * 6. on disconnect sends `{"type":"unregister","sessionId"}`, closes, stops the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import type { Frame } from './gateway-fake-peer.js';

export interface ContextForgePeerOptions {
  /** Heartbeat interval (ms); upstream default 30 s. */
  keepaliveMs?: number;
  /** websockets' ping_interval / ping_timeout (ms); upstream 20 s / 10 s. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
}

type State = 'disconnected' | 'connecting' | 'connected' | 'shutting_down';

const uuidHex = (): string => randomUUID().replace(/-/g, '');

export class ContextForgePeer {
  readonly sessionId = uuidHex();
  readonly serverName = `reverse-proxy-${this.sessionId.slice(0, 8)}`;
  /** Frames from the gateway, in order. */
  readonly received: Frame[] = [];
  /** Frames sent to the gateway, in order. */
  readonly sent: Frame[] = [];
  /** What upstream logs at WARNING/ERROR: unknown types (register_ack), gateway errors. */
  readonly complaints: string[] = [];
  state: State = 'disconnected';
  closeCode: number | undefined;
  private ws: WebSocket | undefined;
  private child: ChildProcess | undefined;
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  private sentWaiters: Array<{ pred: (f: Frame) => boolean; resolve: () => void }> = [];
  private closed!: Promise<void>;

  constructor(
    private readonly gatewayUrl: string,
    private readonly token: string | undefined,
    private readonly command: string[],
    private readonly o: ContextForgePeerOptions = {},
  ) {}

  /** `connect()` upstream: child, WebSocket, register, keepalive. Resolves once register went out. */
  async connect(): Promise<void> {
    if (this.state !== 'disconnected') return;
    this.state = 'connecting';
    this.startChild();
    await this.connectWebSocket();
    this.state = 'connected';
    await this.register();
    const keepalive = setInterval(() => this.send({ type: 'heartbeat', sessionId: this.sessionId }), this.o.keepaliveMs ?? 30_000);
    keepalive.unref();
    this.timers.push(keepalive);
  }

  /** `disconnect()` upstream. */
  async disconnect(): Promise<void> {
    if (this.state === 'shutting_down') return;
    this.state = 'shutting_down';
    for (const t of this.timers.splice(0)) clearInterval(t);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.send({ type: 'unregister', sessionId: this.sessionId });
      this.ws.close();
      await this.closed;
    }
    await this.stopChild();
    this.state = 'disconnected';
  }

  /** Resolves once a frame matching `pred` has been sent to the gateway. */
  whenSent(pred: (f: Frame) => boolean): Promise<void> {
    if (this.sent.some(pred)) return Promise.resolve();
    return new Promise((resolve) => this.sentWaiters.push({ pred, resolve }));
  }

  whenClosed(): Promise<void> {
    return this.closed;
  }

  private startChild(): void {
    const [file, ...args] = this.command;
    const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child = child;
    child.stdin!.on('error', () => {});
    // StdioProcess._read_stdout: one message per non-empty line, to every handler.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = line.trim();
      if (message !== '') this.handleStdioMessage(message);
    });
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(kill);
  }

  private async connectWebSocket(): Promise<void> {
    // ws_url: http→ws, https→wss; urljoin(ws_url, "/reverse-proxy/ws") unless already there.
    let wsUrl = this.gatewayUrl.replace('http://', 'ws://').replace('https://', 'wss://');
    if (!wsUrl.includes('/reverse-proxy')) wsUrl = new URL('/reverse-proxy/ws', wsUrl).toString();
    const headers: Record<string, string> = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    headers['X-Session-ID'] = this.sessionId;
    const ws = new WebSocket(wsUrl, { headers });
    this.ws = ws;
    this.closed = new Promise((resolve) =>
      ws.once('close', (code) => {
        this.closeCode = code;
        this.state = this.state === 'shutting_down' ? this.state : 'disconnected';
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    ws.on('error', () => {});
    ws.on('message', (data) => this.handleGatewayMessage(data.toString()));
    this.startPings(ws);
  }

  /** websockets' ping_interval=20, ping_timeout=10: no pong in time closes the connection. */
  private startPings(ws: WebSocket): void {
    let awaitingPong: ReturnType<typeof setTimeout> | undefined;
    ws.on('pong', () => {
      clearTimeout(awaitingPong);
      awaitingPong = undefined;
    });
    const pinger = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN || awaitingPong) return;
      ws.ping();
      awaitingPong = setTimeout(() => ws.terminate(), this.o.pingTimeoutMs ?? 10_000);
      awaitingPong.unref();
    }, this.o.pingIntervalMs ?? 20_000);
    pinger.unref();
    this.timers.push(pinger);
    ws.once('close', () => clearTimeout(awaitingPong));
  }

  private async register(): Promise<void> {
    const initId = `init-${uuidHex()}`;
    const initRequest = {
      jsonrpc: '2.0',
      id: initId,
      method: 'initialize',
      params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'reverse-proxy', version: '1.0.0' } },
    };
    this.child!.stdin!.write(`${JSON.stringify(initRequest)}\n`);
    // Upstream: `await asyncio.sleep(1)` ("simplified - should correlate properly").
    await this.whenSent((f) => f.payload?.id === initId);
    this.send({
      type: 'register',
      sessionId: this.sessionId,
      server: { name: this.serverName, description: `Reverse proxied: ${this.command.join(' ')}`, protocol: 'stdio' },
    });
  }

  /** `_handle_stdio_message`: wrap and forward, `response` whenever the payload has an id. */
  private handleStdioMessage(message: string): void {
    let data: Frame;
    try {
      data = JSON.parse(message) as Frame;
    } catch (err) {
      this.complaints.push(`Error forwarding stdio message: ${(err as Error).message}`);
      return;
    }
    this.send({ type: 'id' in data ? 'response' : 'notification', sessionId: this.sessionId, payload: data });
  }

  /** `_handle_gateway_message`. */
  private handleGatewayMessage(message: string): void {
    let data: Frame;
    try {
      data = JSON.parse(message) as Frame;
    } catch (err) {
      this.complaints.push(`Error handling gateway message: ${(err as Error).message}`);
      return;
    }
    this.received.push(data);
    switch (data.type) {
      case 'request':
        this.child?.stdin?.write(`${JSON.stringify(data.payload ?? {})}\n`);
        return;
      case 'heartbeat':
        this.send({ type: 'heartbeat', sessionId: this.sessionId });
        return;
      case 'error':
        this.complaints.push(`Gateway error: ${data.message ?? 'Unknown error'}`);
        return;
      default:
        this.complaints.push(`Unknown message type: ${data.type}`);
    }
  }

  private send(frame: Frame): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(frame));
    this.sent.push(frame);
    for (const w of [...this.sentWaiters]) {
      if (w.pred(frame)) {
        this.sentWaiters.splice(this.sentWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}
