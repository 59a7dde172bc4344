/**
 * Many MCP client sessions onto one tunneled server (ARCHITECTURE.md, "multiplexes").
 *
 * - `initialize` and `ping` are answered here (local-answers.ts); everything else is
 *   relayed raw.
 * - Client request ids are rewritten to unique tunnel ids (a counter), so two clients may
 *   both send id 1; responses come back with the tunnel id and are restored and routed
 *   to the one client that asked. Progress tokens are rewritten the same way, which is
 *   what routes `notifications/progress` to the right client.
 * - Server→client requests (sampling, roots, elicitation) go to one capable client of
 *   the principal whose request is in flight, never across principals
 *   (server-requests.ts); other server notifications fan out to every client, except
 *   `resources/updated` (subscribers only) and `message` (filtered by each client's
 *   logging level): shared-server-state.ts.
 * - Every request gets exactly one answer: the server's, or a JSON-RPC error on timeout,
 *   saturation, tunnel loss or session end.
 */
import type { Logger } from '../../observability/logger.js';
import { QueueFullError } from '../../errors.js';
import { classify, rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../../protocol/jsonrpc.js';
import { realClock, type Clock } from '../../clock.js';
import type { McpClientPort, TunnelPort } from './tunnel-port.js';
import { ServerRequestRouter, type ClientView } from './server-requests.js';
import { restoreProgressToken, rewriteRequest } from './progress-tokens.js';
import { answerLocally } from './local-answers.js';
import type { RequestDone, RequestOutcome } from './request-outcome.js';
import { SharedServerState } from './shared-server-state.js';

export interface MultiplexerOptions {
  serverName: string;
  /** Deadline of one relayed request (ms). */
  requestTimeoutMs: number;
  logger: Logger;
  clock?: Clock;
  /** Called once per client request that was not answered locally (metrics). */
  onRequestDone?: (done: RequestDone) => void;
  /** Called when the last client left and no tunnel session is attached: the owner may forget this multiplexer. */
  onUnused?: () => void;
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
  /** Undo gateway bookkeeping when the server refuses (e.g. a first subscribe). */
  onError?: () => void;
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
  private readonly shared = new SharedServerState();
  /** The tunnel session that has been given the shared state (subscriptions, log level). */
  private synced: TunnelPort | undefined;
  private readonly onRequestDone: ((done: RequestDone) => void) | undefined;
  private readonly onUnused: (() => void) | undefined;

  constructor(o: MultiplexerOptions) {
    this.serverName = o.serverName;
    this.requestTimeoutMs = o.requestTimeoutMs;
    this.clock = o.clock ?? realClock;
    this.log = o.logger.child({ server: o.serverName });
    this.onRequestDone = o.onRequestDone;
    this.onUnused = o.onUnused;
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
    // A new session is a new server process (or one that forgot us): once it takes
    // requests, give it back the subscriptions and log level our clients still hold.
    if (this.synced !== port && port.unavailableReason() === undefined) {
      this.synced = port;
      for (const m of this.shared.resync()) this.pushOwn(port, m);
    }
  }

  /** A tunnel session ended for good: fail what it still owed, with this error. */
  detachTunnel(port: TunnelPort, code: number, message: string): void {
    if (this.tunnel === port) this.tunnel = undefined;
    // An ended session must not stay reachable (with its outbox) through us; the next one is resynced anyway.
    if (this.synced === port) this.synced = undefined;
    for (const p of [...this.pending.values()]) {
      if (p.sessionId === port.sessionId) this.settle(p, rpcError(p.originalId, code, message), 'tunnel_lost');
    }
    this.serverRequests.forgetPort(port);
    if (this.clients.size === 0 && this.tunnel === undefined) this.onUnused?.();
  }

  /** `capabilities`: known up front for a 2026-07-28 request (its `_meta`); a 2025 session declares them in initialize. */
  addClient(port: McpClientPort, capabilities?: Record<string, unknown>): void {
    this.clients.set(port.id, { port, id: port.id, principal: port.principal, capabilities, inFlight: new Map(), ...(port.exclusive ? { exclusive: true } : {}) });
  }

  /** A 2026-07-28 client declares its capabilities per request (an MRTR retry may declare others). */
  setCapabilities(clientId: string, capabilities: Record<string, unknown>): void {
    const c = this.clients.get(clientId);
    if (c) c.capabilities = capabilities;
  }

  /** The client went away (DELETE, transport closed): tell the server to stop working for it. */
  removeClient(clientId: string, reason = 'MCP client session closed'): void {
    const client = this.clients.get(clientId);
    if (!client) return;
    this.clients.delete(clientId);
    for (const tunnelId of client.inFlight.values()) {
      const p = this.pending.get(tunnelId);
      if (!p) continue;
      this.drop(p, 'client_gone');
      this.cancelUpstream(p, reason);
    }
    this.serverRequests.clientGone(clientId);
    const port = this.tunnel;
    if (port && port.unavailableReason() === undefined) for (const m of this.shared.clientGone(clientId)) this.pushOwn(port, m);
    else this.shared.clientGone(clientId);
    if (this.clients.size === 0 && this.tunnel === undefined) this.onUnused?.();
  }

  /** Fail everything (gateway shutdown). */
  failAll(code: number, message: string): void {
    for (const p of [...this.pending.values()]) this.settle(p, rpcError(p.originalId, code, message), 'shutdown');
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
    const local = answerLocally(msg, client, this.tunnel, () => this.unavailable());
    if (local) return this.reply(client, local);
    if (client.inFlight.has(msg.id)) {
      this.report(msg.method, 'refused', undefined);
      return this.reply(client, rpcError(msg.id, RpcErrorCode.InvalidRequest, `request id ${JSON.stringify(msg.id)} is already in flight`));
    }
    const step = this.shared.intercept(client.id, msg);
    if (step.kind === 'local') return this.reply(client, { jsonrpc: '2.0', id: msg.id, result: step.result });
    const port = this.tunnel;
    const reason = port ? port.unavailableReason() : this.unavailable();
    if (!port || reason !== undefined) {
      step.onError?.();
      this.report(msg.method, 'unavailable', undefined);
      return this.reply(client, rpcError(msg.id, RpcErrorCode.TunnelUnavailable, reason ?? this.unavailable()));
    }
    const tunnelId = ++this.nextTunnelId;
    const { payload, progressToken } = rewriteRequest(step.payload, tunnelId);
    try {
      port.push(payload);
    } catch (err) {
      const saturated = err instanceof QueueFullError;
      const [code, text] = saturated
        ? [RpcErrorCode.TunnelSaturated, `tunnel to ${this.serverName} is saturated`]
        : [RpcErrorCode.InternalError, `could not queue the request: ${(err as Error).message}`];
      this.log.warn({ event: 'request_refused', method: msg.method, code }, text);
      step.onError?.();
      this.report(msg.method, saturated ? 'saturated' : 'refused', undefined);
      return this.reply(client, rpcError(msg.id, code, text));
    }
    const p: PendingRequest = {
      tunnelId,
      clientId: client.id,
      originalId: msg.id,
      method: msg.method,
      startedAt: this.clock.now(),
      sessionId: port.sessionId,
      timer: undefined,
    };
    if (progressToken !== undefined) p.progressToken = progressToken;
    if (step.onError) p.onError = step.onError;
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
      this.drop(p, 'cancelled');
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
    const failed = 'error' in msg;
    if (!p) {
      if (typeof id === 'string' && id.startsWith('gateway-sync-')) {
        if (failed) this.log.info({ event: 'sync_refused', error: msg.error }, 'the server refused a request the gateway sent for its clients');
        return;
      }
      this.log.debug({ id }, 'response nobody is waiting for ignored (cancelled, timed out, or unsolicited)');
      return;
    }
    if (failed) p.onError?.();
    this.settle(p, { ...msg, id: p.originalId } as JsonRpcMessage, failed ? 'error' : 'ok');
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
      if (c.capabilities !== undefined && this.shared.wants(c.id, n)) this.deliver(c.id, msg);
    }
  }

  private timeout(p: PendingRequest): void {
    if (this.pending.get(p.tunnelId) !== p) return;
    const secs = this.requestTimeoutMs / 1000;
    this.log.warn({ event: 'request_timeout', method: p.method, seconds: secs }, 'request through the tunnel timed out');
    this.settle(p, rpcError(p.originalId, RpcErrorCode.RequestTimeout, `request ${p.method} to ${this.serverName} timed out after ${secs} s`), 'timeout');
    this.cancelUpstream(p, 'timed out at the gateway');
  }

  /** Remove a pending request and deliver its one answer. */
  private settle(p: PendingRequest, answer: JsonRpcMessage, outcome: RequestOutcome): void {
    this.drop(p, outcome);
    this.deliver(p.clientId, answer, p.originalId);
  }

  private drop(p: PendingRequest, outcome: RequestOutcome): void {
    this.clock.clearTimeout(p.timer);
    this.pending.delete(p.tunnelId);
    this.clients.get(p.clientId)?.inFlight.delete(p.originalId);
    this.report(p.method, outcome, (this.clock.now() - p.startedAt) / 1000);
  }

  private report(method: string, outcome: RequestOutcome, seconds: number | undefined): void {
    try {
      this.onRequestDone?.({ server: this.serverName, method, outcome, seconds });
    } catch (err) {
      this.log.debug({ err }, 'request metrics hook failed');
    }
  }

  /** A request the gateway sends on its own; its answer is only logged. */
  private pushOwn(port: TunnelPort, msg: JsonRpcRequest): void {
    try {
      port.push(msg);
      this.log.debug({ event: 'sync_request', method: msg.method, params: msg.params }, 'sent shared client state to the server');
    } catch (err) {
      this.log.warn({ method: msg.method, err }, 'could not send shared client state to the server: tunnel saturated');
    }
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

  /** Clients with a request in flight, the one with the newest request last. */
  private pendingClientIds(): Map<string, JsonRpcId> {
    const out = new Map<string, JsonRpcId>();
    for (const p of this.pending.values()) {
      out.delete(p.clientId);
      out.set(p.clientId, p.originalId);
    }
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
