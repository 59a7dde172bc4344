/**
 * A hand-written tunnel client for gateway tests: speaks the envelope protocol over a
 * real `ws` WebSocket to a gateway on 127.0.0.1, with just enough seq/ack to resume.
 * It answers gateway requests through `handler` (a fake MCP server), or lets the test
 * take them one by one (`handler = undefined` + `nextRequest()`).
 *
 * In plain mode (`reliable: false`) it behaves like ContextForge's client
 * (mcpgateway/reverse_proxy.py; contextforge-peer.ts is the full port): an
 * `X-Session-ID` header and its own `sessionId` on every frame, no `transport` in
 * register, every gateway heartbeat answered with a heartbeat, and `initializeOwnServer()`
 * forwards its server's initialize answer before register, as that client does.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { PeerInbox } from './gateway-peer-inbox.js';

export type Frame = Record<string, any>;
export type RpcHandler = (req: { id: string | number; method: string; params?: any }) => Frame | undefined;

export const FAKE_SERVER_INFO = { name: 'fake-server', version: '1.2.3' };
export const FAKE_TOOLS = [{ name: 'echo', description: 'echoes its arguments', inputSchema: { type: 'object' } }];

/** Answers like a tiny MCP server with one `echo` tool. */
export const echoServer: RpcHandler = (req) => {
  switch (req.method) {
    case 'initialize':
      return { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: FAKE_SERVER_INFO };
    case 'tools/list':
      return { tools: FAKE_TOOLS };
    case 'tools/call':
      return { content: [{ type: 'text', text: JSON.stringify(req.params?.arguments ?? {}) }] };
    default:
      return { echoed: req.method };
  }
};

export interface PeerOptions {
  /** seq/ack mode (register with reliability "seq-ack/1"). Default true. */
  reliable?: boolean;
}

export class FakeTunnelPeer extends PeerInbox {
  override handler: RpcHandler | undefined = echoServer;
  private outSeq = 0;
  private closeWaiters: Array<() => void> = [];
  closed = false;
  closeCode: number | undefined;
  closeReason: string | undefined;

  private constructor(
    readonly ws: WebSocket,
    readonly reliable: boolean,
    /** Plain mode: the client-made id ContextForge's client sends (the gateway ignores it). */
    readonly ownSessionId: string,
  ) {
    super();
    ws.on('message', (data) => this.onFrame(JSON.parse(data.toString()) as Frame));
    ws.on('close', (code, reason) => {
      this.closed = true;
      this.closeCode = code;
      this.closeReason = reason.toString('utf8');
      for (const w of this.closeWaiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }

  static async connect(gatewayUrl: string, token: string | undefined, options: PeerOptions = {}): Promise<FakeTunnelPeer> {
    const url = gatewayUrl.replace(/^http/, 'ws') + '/reverse-proxy/ws';
    const reliable = options.reliable ?? true;
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    const ownSessionId = randomUUID().replace(/-/g, '');
    if (!reliable) headers['X-Session-ID'] = ownSessionId;
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    return new FakeTunnelPeer(ws, reliable, ownSessionId);
  }

  /** Send `register` and wait for register_ack (or an error frame). */
  async register(server: Frame, extra: Frame = {}): Promise<Frame> {
    // ContextForge's register: type, its own sessionId, server — nothing else.
    const reg: Frame = this.reliable ? { type: 'register', server, transport: 'ws', reliability: 'seq-ack/1', ...extra } : { type: 'register', sessionId: this.ownSessionId, server, ...extra };
    const from = this.frames.length;
    this.sendRaw(reg);
    return this.next((f) => f.type === 'register_ack' || f.type === 'error', from);
  }

  /**
   * Plain mode, before register: what ContextForge's client does first — it sends its local
   * server `initialize` itself and forwards the answer (nobody asked the gateway for it).
   */
  initializeOwnServer(): void {
    const id = `init-${randomUUID().replace(/-/g, '')}`;
    const result = this.handler?.({ id, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'reverse-proxy', version: '1.0.0' } } });
    this.sendData({ jsonrpc: '2.0', id, result: result ?? {} });
  }

  /** A data frame to the gateway (seq'd in reliable mode, with our ack piggybacked). */
  sendData(payload: Frame): void {
    // ContextForge's rule: `response` whenever the payload has an id.
    const type = this.reliable ? (payload.id !== undefined && !('method' in payload) ? 'response' : 'notification') : 'id' in payload ? 'response' : 'notification';
    const env: Frame = { type, payload };
    if (this.reliable) {
      env.seq = ++this.outSeq;
      env.ack = this.inboundAck;
    } else {
      env.sessionId = this.ownSessionId;
    }
    this.sendRaw(env);
  }

  /** A data frame whose payload is given as JSON text (too deep for JSON.stringify, say), seq'd like sendData. */
  sendDataText(type: 'response' | 'notification', payloadText: string): void {
    const seq = this.reliable ? `"seq":${++this.outSeq},"ack":${this.inboundAck},` : '';
    this.sendRaw(`{"type":"${type}",${seq}"payload":${payloadText}}`);
  }

  sendRaw(frame: Frame | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  respond(id: string | number, result: Frame): void {
    this.sendData({ jsonrpc: '2.0', id, result });
  }

  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Drop the connection without a closing handshake (a dead network). */
  terminate(): Promise<void> {
    this.ws.terminate();
    return this.whenClosed();
  }

  close(): Promise<void> {
    if (!this.closed) this.ws.close();
    return this.whenClosed();
  }

  private onFrame(f: Frame): void {
    this.record(f, this.reliable);
    // ContextForge's client answers every heartbeat with one (reverse_proxy.py, _handle_gateway_message).
    if (!this.reliable && f.type === 'heartbeat' && !this.closed) this.sendRaw({ type: 'heartbeat', sessionId: this.ownSessionId });
  }
}

/** Status of a refused WebSocket upgrade (or 101 when it was accepted). */
export function upgradeStatus(gatewayUrl: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(gatewayUrl.replace(/^http/, 'ws') + '/reverse-proxy/ws', { headers });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}
