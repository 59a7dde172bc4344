/**
 * Many MCP client sessions onto one tunneled server (ARCHITECTURE.md, "multiplexes").
 *
 * - `initialize` and `ping` are answered here; everything else is relayed raw.
 * - Client request ids are rewritten to unique tunnel ids (a counter), so two clients may
 *   both send id 1; responses come back with the tunnel id and are restored and routed
 *   to the one client that asked. Progress tokens are rewritten the same way, which is
 *   what routes `notifications/progress` to the right client.
 * - Server→client requests (sampling, roots, elicitation) go to one capable client
 *   (server-requests.ts); other server notifications fan out to every client.
 * - Every request gets exactly one answer: the server's, or a JSON-RPC error on timeout,
 *   saturation, tunnel loss or session end.
 */
import type { Logger } from '../observability/logger.js';
import { QueueFullError } from '../errors.js';
import { classify, rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../protocol/jsonrpc.js';
import { realClock, type Clock } from '../protocol/reliable-channel.js';
import type { McpClientPort, TunnelPort } from './tunnel-port.js';
import { ServerRequestRouter, type ClientView } from './server-requests.js';
import { restoreProgressToken, rewriteRequest } from './progress-tokens.js';

export interface MultiplexerOptions {
  serverName: string;
  /** Deadline of one relayed request (ms). */
  requestTimeoutMs: number;
  logger: Logger;
  clock?: Clock;
}

interface ClientEntry extends ClientView {
  port: McpClientPort;
  /** originalId → tunnelId of the requests this client has in flight. */
  inFlight: Map<JsonRpcId, number>;
}

interface PendingRequest {
  tunnelId: number;
  clientId: string;
  originalId: JsonRpcId;
  method: string;
  startedAt: number;
  /** The tunnel session the request was pushed into: its loss fails the request. */
  sessionId: string;
  /** The client's own progress token, when the request carried one (we sent tunnelId instead). */
  progressToken?: string | number;
  timer: unknown;
}

export class Multiplexer {
  readonly serverName: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly requestTimeoutMs: number;
  private tunnel: TunnelPort | undefined;
  private readonly clients = new Map<string, ClientEntry>();
  private readonly pending = new Map<number, PendingRequest>();
  private nextTunnelId = 0;
  private readonly serverRequests: ServerRequestRouter;

  constructor(o: MultiplexerOptions) {
    this.serverName = o.serverName;
    this.requestTimeoutMs = o.requestTimeoutMs;
    this.clock = o.clock ?? realClock;
    this.log = o.logger.child({ server: o.serverName });
    this.serverRequests = new ServerRequestRouter({
      serverName: o.serverName,
      timeoutMs: o.requestTimeoutMs,
      clock: this.clock,
      logger: this.log,
      clients: () => this.clients.values(),
      deliver: (clientId, msg, related) => this.deliver(clientId, msg, related),
    });
  }

  get currentTunnel(): TunnelPort | undefined {
    return this.tunnel;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** A tunnel session for this server is ready: relay to it from now on. */
  attachTunnel(port: TunnelPort): void {
    this.tunnel = port;
  }

  /** A tunnel session ended for good: fail what it still owed, with this error. */
  detachTunnel(port: TunnelPort, code: number, message: string): void {
    if (this.tunnel === port) this.tunnel = undefined;
    for (const p of [...this.pending.values()]) {
      if (p.sessionId === port.sessionId) this.settle(p, rpcError(p.originalId, code, message));
    }
    this.serverRequests.forgetPort(port);
  }

  addClient(port: McpClientPort): void {
    this.clients.set(port.id, { port, id: port.id, capabilities: undefined, inFlight: new Map() });
  }

  /** The client went away (DELETE, transport closed): tell the server to stop working for it. */
  removeClient(clientId: string, reason = 'MCP client session closed'): void {
    const client = this.clients.get(clientId);
    if (!client) return;
    this.clients.delete(clientId);
    for (const tunnelId of client.inFlight.values()) {
      const p = this.pending.get(tunnelId);
      if (!p) continue;
      this.drop(p);
      this.cancelUpstream(p, reason);
    }
    this.serverRequests.clientGone(clientId);
  }

  /** Fail everything (gateway shutdown). */
  failAll(code: number, message: string): void {
    for (const p of [...this.pending.values()]) this.settle(p, rpcError(p.originalId, code, message));
    this.serverRequests.failAll(code, message);
  }

  /** One message from an MCP client session. */
  fromClient(clientId: string, msg: JsonRpcMessage): void {
    const client = this.clients.get(clientId);
    if (!client) {
      this.log.debug({ clientId }, 'message from an unknown MCP client session dropped');
      return;
    }
    switch (classify(msg)) {
      case 'request':
        return this.clientRequest(client, msg as JsonRpcRequest);
      case 'notification':
        return this.clientNotification(client, msg);
      case 'response':
        return this.serverRequests.answerFromClient(clientId, msg);
      default:
        this.log.debug({ clientId }, 'invalid JSON-RPC message from an MCP client ignored');
    }
  }

  /** One data payload from the tunnel. */
  fromServer(port: TunnelPort, msg: JsonRpcMessage): void {
    switch (classify(msg)) {
      case 'response':
        return this.serverResponse(msg);
      case 'request':
        return this.serverRequests.route(port, msg as JsonRpcRequest, this.pendingClientIds());
      case 'notification':
        return this.serverNotification(port, msg);
      default:
        this.log.debug('invalid JSON-RPC message from the tunneled server ignored');
    }
  }

  private clientRequest(client: ClientEntry, msg: JsonRpcRequest): void {
    if (msg.method === 'initialize') {
      const result = this.tunnel?.initializeResult;
      if (!result) {
        const why = this.tunnel?.unavailableReason() ?? this.unavailable();
        return this.reply(client, rpcError(msg.id, RpcErrorCode.TunnelUnavailable, why));
      }
      const caps = msg.params?.capabilities;
      client.capabilities = typeof caps === 'object' && caps !== null ? (caps as Record<string, unknown>) : {};
      return this.reply(client, { jsonrpc: '2.0', id: msg.id, result: { ...result } });
    }
    if (msg.method === 'ping') return this.reply(client, { jsonrpc: '2.0', id: msg.id, result: {} });
    const port = this.tunnel;
    const reason = port ? port.unavailableReason() : this.unavailable();
    if (!port || reason !== undefined) {
      return this.reply(client, rpcError(msg.id, RpcErrorCode.TunnelUnavailable, reason ?? this.unavailable()));
    }
    if (client.inFlight.has(msg.id)) {
      return this.reply(client, rpcError(msg.id, RpcErrorCode.InvalidRequest, `request id ${JSON.stringify(msg.id)} is already in flight`));
    }
    const tunnelId = ++this.nextTunnelId;
    const { payload, progressToken } = rewriteRequest(msg, tunnelId);
    try {
      port.push(payload);
    } catch (err) {
      const [code, text] =
        err instanceof QueueFullError
          ? [RpcErrorCode.TunnelSaturated, `tunnel to ${this.serverName} is saturated`]
          : [RpcErrorCode.InternalError, `could not queue the request: ${(err as Error).message}`];
      this.log.warn({ event: 'request_refused', method: msg.method, code }, text);
      return this.reply(client, rpcError(msg.id, code, text));
    }
    const p: PendingRequest = {
      tunnelId,
      clientId: client.id,
      originalId: msg.id,
      method: msg.method,
      startedAt: Date.now(),
      sessionId: port.sessionId,
      timer: undefined,
    };
    if (progressToken !== undefined) p.progressToken = progressToken;
    p.timer = this.clock.setTimeout(() => this.timeout(p), this.requestTimeoutMs);
    this.pending.set(tunnelId, p);
    client.inFlight.set(msg.id, tunnelId);
  }

  private clientNotification(client: ClientEntry, msg: JsonRpcMessage): void {
    const method = (msg as { method: string }).method;
    if (method === 'notifications/initialized') return;
    if (method === 'notifications/cancelled') {
      const params = (msg as { params?: Record<string, unknown> }).params ?? {};
      const tunnelId = client.inFlight.get(params.requestId as JsonRpcId);
      const p = tunnelId === undefined ? undefined : this.pending.get(tunnelId);
      // A cancel for something already answered is normal (races): nothing to do.
      if (!p) return;
      this.drop(p);
      this.cancelUpstream(p, typeof params.reason === 'string' ? params.reason : 'cancelled by the MCP client');
      return;
    }
    const port = this.tunnel;
    if (!port || port.unavailableReason() !== undefined) {
      this.log.debug({ method }, 'client notification dropped: tunnel unavailable');
      return;
    }
    try {
      port.push(msg);
    } catch (err) {
      this.log.warn({ method, err }, 'client notification dropped: tunnel saturated');
    }
  }

  private serverResponse(msg: JsonRpcMessage): void {
    const id = (msg as { id: unknown }).id;
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p) {
      this.log.debug({ id }, 'response nobody is waiting for ignored (cancelled, timed out, or unsolicited)');
      return;
    }
    this.settle(p, { ...msg, id: p.originalId } as JsonRpcMessage);
  }

  private serverNotification(port: TunnelPort, msg: JsonRpcMessage): void {
    const n = msg as { method: string; params?: Record<string, unknown> };
    if (n.method === 'notifications/progress') {
      const token = n.params?.progressToken;
      const p = typeof token === 'number' ? this.pending.get(token) : undefined;
      if (!p || p.progressToken === undefined) {
        this.log.debug({ token }, 'progress for no pending request dropped');
        return;
      }
      return this.deliver(p.clientId, restoreProgressToken(n, p.progressToken), p.originalId);
    }
    if (n.method === 'notifications/cancelled') return this.serverRequests.cancelledByServer(port, n.params);
    for (const c of this.clients.values()) {
      if (c.capabilities !== undefined) this.deliver(c.id, msg);
    }
  }

  private timeout(p: PendingRequest): void {
    if (this.pending.get(p.tunnelId) !== p) return;
    const secs = this.requestTimeoutMs / 1000;
    this.log.warn({ event: 'request_timeout', method: p.method, seconds: secs }, 'request through the tunnel timed out');
    this.settle(p, rpcError(p.originalId, RpcErrorCode.RequestTimeout, `request ${p.method} to ${this.serverName} timed out after ${secs} s`));
    this.cancelUpstream(p, 'timed out at the gateway');
  }

  /** Remove a pending request and deliver its one answer. */
  private settle(p: PendingRequest, answer: JsonRpcMessage): void {
    this.drop(p);
    this.deliver(p.clientId, answer, p.originalId);
  }

  private drop(p: PendingRequest): void {
    this.clock.clearTimeout(p.timer);
    this.pending.delete(p.tunnelId);
    this.clients.get(p.clientId)?.inFlight.delete(p.originalId);
  }

  private cancelUpstream(p: PendingRequest, reason: string): void {
    const port = this.tunnel;
    if (!port || port.sessionId !== p.sessionId || port.unavailableReason() !== undefined) return;
    try {
      port.push({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: p.tunnelId, reason } });
    } catch {
      // Saturated: the server finishes the work and its answer is ignored.
    }
  }

  private pendingClientIds(): Map<string, JsonRpcId> {
    const out = new Map<string, JsonRpcId>();
    for (const p of this.pending.values()) out.set(p.clientId, p.originalId);
    return out;
  }

  private reply(client: ClientEntry, msg: JsonRpcMessage): void {
    this.deliver(client.id, msg, (msg as { id?: JsonRpcId }).id);
  }

  private deliver(clientId: string, msg: JsonRpcMessage, related?: JsonRpcId): void {
    const client = this.clients.get(clientId);
    if (!client) {
      this.log.debug({ clientId }, 'message for a gone MCP client dropped');
      return;
    }
    Promise.resolve()
      .then(() => client.port.send(msg, related))
      .catch((err: unknown) => this.log.debug({ clientId, err }, 'could not deliver to the MCP client'));
  }

  private unavailable(): string {
    return `server ${this.serverName} is not connected to the gateway`;
  }
}
