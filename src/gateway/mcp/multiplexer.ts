/**
 * Many MCP client sessions onto one tunneled server (ARCHITECTURE.md, "multiplexes").
 *
 * - `initialize` and `ping` are answered here (local-answers.ts); everything else is relayed.
 * - Client request ids and progress tokens become unique tunnel ids (two clients may both
 *   send id 1); answers and progress go back to the one client that asked, restored.
 * - Server→client requests go to one capable client of the principal whose request is in
 *   flight, never across principals (server-requests.ts); notifications fan out, except
 *   `resources/updated` (subscribers) and `message` (by level): shared-server-state.ts.
 * - A server that speaks only MCP 2026-07-28 is bridged for 2025-era clients (modern-server.ts).
 * - Every request gets exactly one answer (pending-requests.ts): the server's, or a JSON-RPC
 *   error on timeout, saturation, tunnel loss or session end.
 */
import type { Logger } from '../../observability/logger.js';
import { QueueFullError } from '../../errors.js';
import { classify, rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../../protocol/jsonrpc.js';
import { realClock, type Clock } from '../../clock.js';
import { sendSoon, type McpClientPort, type TunnelPort } from './tunnel-port.js';
import { ServerRequestRouter, type ClientView } from './server-requests.js';
import { restoreProgressToken, rewriteRequest } from './progress-tokens.js';
import { answerLocally } from './local-answers.js';
import type { RequestDone, RequestOutcome } from './request-outcome.js';
import { PendingRequests, type PendingRequest } from './pending-requests.js';
import { SharedServerState } from './shared-server-state.js';
import { ModernServerBridge, type ShimCall } from './modern-server.js';

/** What a 2026-07-28 server does not have: the gateway answers these for 2025-era clients. */
const LOCAL_FOR_MODERN = new Set(['logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

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

export class Multiplexer {
  readonly serverName: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly requestTimeoutMs: number;
  private tunnel: TunnelPort | undefined;
  private readonly clients = new Map<string, ClientEntry>();
  private readonly pending: PendingRequests;
  private nextTunnelId = 0;
  private readonly serverRequests: ServerRequestRouter;
  private readonly shared = new SharedServerState();
  private readonly modern = new ModernServerBridge();
  /** The tunnel session that has been given the shared state (subscriptions, log level). */
  private synced: TunnelPort | undefined;
  private readonly onUnused: (() => void) | undefined;

  constructor(o: MultiplexerOptions) {
    this.serverName = o.serverName;
    this.requestTimeoutMs = o.requestTimeoutMs;
    this.clock = o.clock ?? realClock;
    this.log = o.logger.child({ server: o.serverName });
    this.onUnused = o.onUnused;
    this.serverRequests = new ServerRequestRouter({
      serverName: o.serverName,
      timeoutMs: o.requestTimeoutMs,
      clock: this.clock,
      logger: this.log,
      clients: () => this.clients.values(),
      deliver: (clientId, msg, related) => this.deliver(clientId, msg, related),
    });
    this.pending = new PendingRequests({
      serverName: o.serverName,
      requestTimeoutMs: o.requestTimeoutMs,
      clock: this.clock,
      log: this.log,
      onRequestDone: o.onRequestDone,
      onTimeout: (p) => this.timeout(p),
      onDropped: (p) => {
        if (p.call) this.modern.callEnded(p.call);
        this.clients.get(p.clientId)?.inFlight.delete(p.originalId);
      },
    });
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
      if (port.era === 'modern') this.relisten(true);
      else for (const m of this.shared.resync()) this.pushOwn(port, m);
    }
  }

  /** A tunnel session ended for good: fail what it still owed, with this error. */
  detachTunnel(port: TunnelPort, code: number, message: string): void {
    if (this.tunnel === port) this.tunnel = undefined;
    // An ended session must not stay reachable (with its outbox) through us; the next one is resynced anyway.
    if (this.synced === port) this.synced = undefined;
    for (const p of this.pending.values()) {
      if (p.sessionId === port.sessionId) this.settle(p, rpcError(p.originalId, code, message), 'tunnel_lost');
    }
    this.serverRequests.forgetPort(port);
    if (this.clients.size === 0 && this.tunnel === undefined) this.onUnused?.();
  }

  /** `capabilities`: known up front for a 2026-07-28 request (its `_meta`); a 2025 session declares them in initialize. */
  addClient(port: McpClientPort, capabilities?: Record<string, unknown>): void {
    const entry: ClientEntry = { port, id: port.id, principal: port.principal, capabilities, inFlight: new Map() };
    this.clients.set(port.id, Object.assign(entry, port.exclusive ? { exclusive: true } : {}, port.notificationsOnly ? { notificationsOnly: true } : {}));
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
      this.pending.drop(p, 'client_gone');
      this.cancelUpstream(p, reason);
    }
    this.serverRequests.clientGone(clientId);
    this.modern.clientGone(clientId);
    const port = this.tunnel;
    const syncs = this.shared.clientGone(clientId);
    if (port?.era === 'modern') this.relisten();
    else if (port && port.unavailableReason() === undefined) for (const m of syncs) this.pushOwn(port, m);
    if (this.clients.size === 0 && this.tunnel === undefined) this.onUnused?.();
  }

  /** Fail everything (gateway shutdown). */
  failAll(code: number, message: string): void {
    for (const p of this.pending.values()) this.settle(p, rpcError(p.originalId, code, message), 'shutdown');
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
        return this.modernAnswer(clientId, msg) ? undefined : this.serverRequests.answerFromClient(clientId, msg);
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
        return this.serverRequests.route(port, msg as JsonRpcRequest, this.pending.busyClients());
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
      this.pending.report(msg.method, 'refused', undefined);
      return this.reply(client, rpcError(msg.id, RpcErrorCode.InvalidRequest, `request id ${JSON.stringify(msg.id)} is already in flight`));
    }
    const step = this.shared.intercept(client.id, msg);
    if (this.tunnel?.era === 'modern' && LOCAL_FOR_MODERN.has(msg.method)) return this.modernLocal(client, msg);
    if (step.kind === 'local') return this.reply(client, { jsonrpc: '2.0', id: msg.id, result: step.result });
    const port = this.tunnel;
    const reason = port ? port.unavailableReason() : this.unavailable();
    if (!port || reason !== undefined) {
      step.onError?.();
      this.pending.report(msg.method, 'unavailable', undefined);
      return this.reply(client, rpcError(msg.id, RpcErrorCode.TunnelUnavailable, reason ?? this.unavailable()));
    }
    const tunnelId = ++this.nextTunnelId;
    const request = port.era === 'modern' ? this.modern.withEnvelope(client, step.payload) : step.payload;
    const { payload, progressToken } = rewriteRequest(request, tunnelId);
    try {
      port.push(payload);
    } catch (err) {
      const saturated = err instanceof QueueFullError;
      const [code, text] = saturated
        ? [RpcErrorCode.TunnelSaturated, `tunnel to ${this.serverName} is saturated`]
        : [RpcErrorCode.InternalError, `could not queue the request: ${(err as Error).message}`];
      this.log.warn({ event: 'request_refused', method: msg.method, code }, text);
      step.onError?.();
      this.pending.report(msg.method, saturated ? 'saturated' : 'refused', undefined);
      return this.reply(client, rpcError(msg.id, code, text));
    }
    this.pending.add({
      tunnelId,
      clientId: client.id,
      originalId: msg.id,
      method: msg.method,
      sessionId: port.sessionId,
      ...(progressToken !== undefined ? { progressToken } : {}),
      ...(step.onError ? { onError: step.onError } : {}),
      // Bridged only when the gateway put the envelope on (a request with its own is a 2026-07-28 client's).
      ...(request !== step.payload ? { call: { clientId: client.id, originalId: msg.id, request, rounds: 0 } } : {}),
    });
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
      this.pending.drop(p, 'cancelled');
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
    const p = this.pending.get(id);
    const failed = 'error' in msg;
    if (!p) {
      if (this.modern.ownAnswer(id)) return;
      if (typeof id === 'string' && id.startsWith('gateway-sync-')) {
        if (failed) this.log.info({ event: 'sync_refused', error: msg.error }, 'the server refused a request the gateway sent for its clients');
        return;
      }
      this.log.debug({ id }, 'response nobody is waiting for ignored (cancelled, timed out, or unsolicited)');
      return;
    }
    if (failed) p.onError?.();
    if (p.call) return this.modernResponse(p, p.call, msg);
    this.settle(p, { ...msg, id: p.originalId } as JsonRpcMessage, failed ? 'error' : 'ok');
  }

  private serverNotification(port: TunnelPort, raw: JsonRpcMessage): void {
    const msg = port.era === 'modern' ? this.modern.notification(raw as { method: string }) : raw;
    if (msg === 'drop') return;
    const n = msg as { method: string; params?: Record<string, unknown> };
    if (n.method === 'notifications/progress') {
      const token = n.params?.progressToken;
      const p = this.pending.get(token);
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
    const secs = this.requestTimeoutMs / 1000;
    this.log.warn({ event: 'request_timeout', method: p.method, seconds: secs }, 'request through the tunnel timed out');
    this.settle(p, rpcError(p.originalId, RpcErrorCode.RequestTimeout, `request ${p.method} to ${this.serverName} timed out after ${secs} s`), 'timeout');
    this.cancelUpstream(p, 'timed out at the gateway');
  }

  /** Remove a pending request and deliver its one answer. */
  private settle(p: PendingRequest, answer: JsonRpcMessage, outcome: RequestOutcome): void {
    this.pending.drop(p, outcome);
    this.deliver(p.clientId, answer, p.originalId);
  }

  /** A request the gateway sends on its own; its answer is only logged. */
  private pushOwn(port: TunnelPort, msg: JsonRpcMessage): void {
    try {
      port.push(msg);
      this.log.debug({ event: 'sync_request', method: (msg as JsonRpcRequest).method }, 'sent shared client state to the server');
    } catch (err) {
      this.log.warn({ method: (msg as JsonRpcRequest).method, err }, 'could not send shared client state to the server: tunnel saturated');
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

  private reply(client: ClientEntry, msg: JsonRpcMessage): void {
    this.deliver(client.id, msg, (msg as { id?: JsonRpcId }).id);
  }

  private deliver(clientId: string, msg: JsonRpcMessage, related?: JsonRpcId): void {
    const client = this.clients.get(clientId);
    if (!client) {
      this.log.debug({ clientId }, 'message for a gone MCP client dropped');
      return;
    }
    sendSoon(client.port, msg, related, (err) => this.log.debug({ clientId, err }, 'could not deliver to the MCP client'));
  }

  /** `logging/setLevel`, `resources/(un)subscribe` for a 2026-07-28 server: kept here (shared state counted them). */
  private modernLocal(client: ClientEntry, msg: JsonRpcRequest): void {
    if (msg.method === 'logging/setLevel' && typeof msg.params?.level === 'string') this.modern.setLevel(client.id, msg.params.level);
    else this.relisten();
    this.reply(client, { jsonrpc: '2.0', id: msg.id, result: {} });
  }

  /** Open (or reopen, with the subscribed resources) the gateway's listen on a 2026-07-28 server. */
  private relisten(force = false): void {
    const port = this.tunnel;
    if (port?.era === 'modern' && port.unavailableReason() === undefined) for (const m of this.modern.listen(this.shared.subscribedUris(), force)) this.pushOwn(port, m);
  }

  /** A 2026-07-28 server's answer to a 2025-era client: deliver it, or put its input requests to the client. */
  private modernResponse(p: PendingRequest, call: ShimCall, msg: JsonRpcMessage): void {
    const step = this.modern.answer(call, msg);
    if (step.kind === 'deliver') return this.settle(p, step.msg, 'error' in step.msg ? 'error' : 'ok');
    if (step.requests.length === 0) return this.reissue(p, this.modern.reissue(call).retry);
    for (const r of step.requests) this.deliver(p.clientId, r, p.originalId);
  }

  /** A client answered an input request of a 2026-07-28 server: true when it was one. */
  private modernAnswer(clientId: string, msg: JsonRpcMessage): boolean {
    const r = this.modern.clientAnswer(clientId, msg);
    if (r === undefined || r === 'wait') return r === 'wait';
    const p = this.pending.values().find((x) => x.call === r.call);
    if (!p) return true;
    if ('failed' in r) this.settle(p, rpcError(p.originalId, RpcErrorCode.InternalError, r.failed), 'error');
    else this.reissue(p, r.retry);
    return true;
  }

  /** The same call again (a new tunnel id, the client's progress token kept), for the next MRTR round. */
  private reissue(p: PendingRequest, request: JsonRpcRequest): void {
    const port = this.tunnel;
    if (!port || port.sessionId !== p.sessionId) return this.settle(p, rpcError(p.originalId, RpcErrorCode.TunnelUnavailable, this.unavailable()), 'tunnel_lost');
    const tunnelId = ++this.nextTunnelId;
    try {
      port.push(rewriteRequest(request, tunnelId).payload);
    } catch {
      return this.settle(p, rpcError(p.originalId, RpcErrorCode.TunnelSaturated, `tunnel to ${this.serverName} is saturated`), 'saturated');
    }
    this.pending.rekey(p, tunnelId);
    this.clients.get(p.clientId)?.inFlight.set(p.originalId, tunnelId);
  }

  private unavailable(): string {
    return `server ${this.serverName} is not connected to the gateway`;
  }
}
