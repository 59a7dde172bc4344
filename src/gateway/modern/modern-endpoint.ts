/**
 * The 2026-07-28 side of `/servers/{name}/mcp` (docs/gateway.md, "MCP protocol eras"):
 * requests the classifier (protocol/mcp-modern.ts) found modern are served here,
 * statelessly — no initialize, no session id; each POST carries its own `_meta`. Served
 * locally: `server/discover` (from what the tunnel registered) and `subscriptions/listen`
 * (listen-stream.ts). Everything else is relayed to the tunneled server through its
 * Multiplexer as a ModernCall (modern-call.ts), which bridges MRTR for a 2025-era server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../observability/logger.js';
import { rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage } from '../../protocol/jsonrpc.js';
import {
  asModernResult,
  forLegacyServer,
  MODERN_PROTOCOL_VERSIONS,
  ModernErrorCode,
  MRTR_METHODS,
  REMOVED_METHODS,
  type CacheHints,
  type ModernEnvelope,
  type ModernMessage,
} from '../../protocol/mcp-modern.js';
import { realClock, type Clock } from '../../clock.js';
import type { Principal } from '../http/auth.js';
import { canUse } from '../http/access.js';
import { sendJson } from '../http/respond.js';
import type { Multiplexer } from '../mcp/multiplexer.js';
import type { Multiplexers } from '../mcp/multiplexers.js';
import { paramsDigest, type RequestStateSealer } from './request-state.js';
import type { SessionRegistry } from '../tunnel/session-registry.js';
import type { TunnelSession } from '../tunnel/tunnel-session.js';
import type { DiscoverResultLike } from '../../protocol/discover-result.js';
import type { InitializeResult as InitializeResultLike } from '../../protocol/mcp-handshake.js';
import { honoured, ListenStream, readFilter } from './listen-stream.js';
import { ModernCall, type CallHost, type Round } from './modern-call.js';
import { ResponseWriter } from './response-writer.js';
import { checkParamHeaders, ToolHeaderIndex } from './param-headers.js';

export interface ModernEndpointOptions {
  registry: SessionRegistry;
  /** The Multiplexer of each server name (the MCP side's, subscribed to the registry). */
  multiplexers: Multiplexers;
  logger: Logger;
  openServers: boolean;
  sealer: RequestStateSealer;
  /** A slot of the user's `--max-mcp-sessions-per-user` budget (listen streams and parked calls hold one); undefined when none is left. */
  takeSlot: (subject: string) => (() => void) | undefined;
  /** Cache hints on results of a 2025-era server, which gives none. */
  cacheHints: CacheHints;
  /** Keep-alive comment interval on listen streams (ms). */
  keepaliveMs: number;
  /** How long a parked MRTR call waits for its retry (ms). */
  parkMs: number;
  /** Unsent bytes a listen stream may hold before its reader is dropped. */
  maxBufferedBytes: number;
  clock?: Clock;
  /** How long server requests are gathered into one input_required answer (ms). */
  gatherMs?: number;
}

type Answer = { status: number; body: unknown };

export class ModernEndpoint {
  private readonly clock: Clock;
  /** Parked calls by id: what a valid requestState points to (single use). */
  private readonly parked = new Map<string, { call: ModernCall; release: () => void }>();
  /** Running calls per server name, by call id (log attribution). */
  private readonly running = new Map<string, Map<string, ModernCall>>();
  private readonly listens = new Set<ListenStream>();
  private readonly hosts = new WeakMap<Multiplexer, { legacy?: CallHost; modern?: CallHost }>();
  /** x-mcp-header declarations per server, learned from modern tools/list answers; dies with its Multiplexer. */
  private readonly toolHeaders = new WeakMap<Multiplexer, ToolHeaderIndex>();
  private keepalive: unknown;

  constructor(private readonly o: ModernEndpointOptions) {
    this.clock = o.clock ?? realClock;
    this.armKeepalive();
  }

  /** Serve one classified modern message (Origin, auth and the body checks are done). */
  handle(req: IncomingMessage, res: ServerResponse, serverName: string, principal: Principal, msg: ModernMessage, envelope: ModernEnvelope): void {
    if (msg.id === undefined) {
      // No client→server notifications over HTTP in 2026-07-28 (cancel = closing the stream): accept, drop.
      res.writeHead(202).end();
      return;
    }
    const id = msg.id;
    if (REMOVED_METHODS.has(msg.method)) return reply(res, 404, rpcError(id, RpcErrorCode.MethodNotFound, `Method not found: ${msg.method} does not exist in MCP ${envelope.protocolVersion}`));
    const target = this.target(serverName, principal, id);
    if ('status' in target) return reply(res, target.status, target.body);
    const { mux, init, tunnel } = target;
    const modernServer = tunnel.era === 'modern';
    if (msg.method === 'server/discover') return reply(res, 200, { jsonrpc: '2.0', id, result: this.discover(init, tunnel.discoverResult) });
    if (msg.method === 'subscriptions/listen') return this.listen(res, principal, id, msg.params, init, mux);
    const params = msg.params ?? {};
    if (msg.method === 'tools/call') {
      const decls = this.toolHeaders.get(mux)?.get(String(params.name)) ?? [];
      const mismatch = checkParamHeaders(decls, params.arguments, (name) => headerOf(req, `mcp-param-${name.toLowerCase()}`));
      if (mismatch) return reply(res, 400, rpcError(id, ModernErrorCode.HeaderMismatch, `Bad Request: the request headers and body disagree: ${mismatch}`));
    }
    const progressToken = progressTokenOf(params);
    // An SSE stream only when something may come before the answer: progress or log messages.
    const mode = progressToken !== undefined || envelope.logLevel !== undefined ? 'sse' : 'json';
    const round: Round = { writer: new ResponseWriter(res, mode), id, envelope, progressToken };
    let forwarded: Record<string, unknown>;
    if (modernServer) {
      // The server keeps its own state; ours only wraps it (a retry is a new call for the server).
      const inner = params.requestState === undefined ? { ok: true as const, state: undefined } : this.unwrap(serverName, principal, msg);
      if (!inner.ok) return reply(res, 400, rpcError(id, RpcErrorCode.InvalidParams, `Invalid params: ${inner.reason}`));
      const { requestState: _r, ...rest } = params;
      forwarded = inner.state === undefined ? rest : { ...rest, requestState: inner.state };
    } else {
      // Only the three MRTR methods have retries; a first request with answers but no state starts afresh (and is asked again).
      if (params.requestState !== undefined && MRTR_METHODS.has(msg.method)) return this.retry(res, serverName, principal, msg, round);
      forwarded = forLegacyServer(params);
    }
    round.writer.startStream();
    const call = new ModernCall(this.host(serverName, mux, modernServer), principal.subject, serverName, msg.method, params, id, round);
    mux.addClient(call, envelope.clientCapabilities);
    this.track(serverName, call);
    call.start({ jsonrpc: '2.0', id, method: msg.method, params: forwarded });
  }

  /** Gateway shutdown: listen streams end gracefully; parked calls are cancelled. */
  close(): void {
    this.clock.clearTimeout(this.keepalive);
    this.keepalive = undefined;
    for (const l of [...this.listens]) l.complete();
    for (const { call } of [...this.parked.values()]) call.abandon('the gateway is shutting down');
  }

  private target(serverName: string, principal: Principal, id: JsonRpcId): { mux: Multiplexer; init: InitializeResultLike; tunnel: TunnelSession } | Answer {
    const tunnel = this.o.registry.serving(serverName);
    const mux = this.o.multiplexers.get(serverName);
    if (!tunnel || !mux) return { status: 404, body: rpcError(id, RpcErrorCode.TunnelUnavailable, `no tunneled server named ${serverName}`) };
    if (!canUse(principal, tunnel, this.o.openServers)) {
      return { status: 403, body: rpcError(id, -32000, `Forbidden: server ${serverName} belongs to another user (only its owner and admins may use it unless the gateway runs with --open-servers)`) };
    }
    const init = tunnel.initializeResult;
    const why = tunnel.unavailableReason();
    if (!init || why !== undefined) return { status: 503, body: rpcError(id, RpcErrorCode.TunnelUnavailable, why ?? `server ${serverName} is still initializing`) };
    return { mux, init, tunnel };
  }

  /** A modern server's own requestState, out of the seal the gateway put around it. */
  private unwrap(serverName: string, principal: Principal, msg: ModernMessage): { ok: true; state: string | undefined } | { ok: false; reason: string } {
    const params = msg.params ?? {};
    const opened = this.o.sealer.open(params.requestState, { principal: principal.subject, server: serverName, method: msg.method, digest: paramsDigest(params) });
    if (!opened.ok) {
      this.o.logger.info({ event: 'request_state_refused', server: serverName, method: msg.method, reason: opened.reason }, `requestState refused: ${opened.reason}`);
      return opened;
    }
    return { ok: true, state: opened.claims.inner };
  }

  /** `server/discover` (S/server/discover): a 2026-07-28 server's own answer, else one made from the 2025-era server's InitializeResult. */
  private discover(init: InitializeResultLike, own: DiscoverResultLike | undefined): Record<string, unknown> {
    if (own) {
      const supportedVersions = own.supportedVersions.filter((v) => MODERN_PROTOCOL_VERSIONS.includes(v));
      return asModernResult('server/discover', { ...own, supportedVersions }, this.o.cacheHints, init.serverInfo);
    }
    // Tasks are an extension in 2026-07-28, not a core capability (MCP-2026.md §1, "Removed").
    const { tasks: _t, ...capabilities } = init.capabilities;
    const result: Record<string, unknown> = { supportedVersions: [...MODERN_PROTOCOL_VERSIONS], capabilities };
    if (init.instructions !== undefined) result.instructions = init.instructions;
    return asModernResult('server/discover', result, this.o.cacheHints, init.serverInfo);
  }

  private retry(res: ServerResponse, serverName: string, principal: Principal, msg: ModernMessage, round: Round): void {
    const params = msg.params ?? {};
    const id = round.id;
    const opened = this.o.sealer.open(params.requestState, { principal: principal.subject, server: serverName, method: msg.method, digest: paramsDigest(params) });
    if (!opened.ok) {
      this.o.logger.info({ event: 'request_state_refused', server: serverName, method: msg.method, reason: opened.reason }, `requestState refused: ${opened.reason}`);
      return reply(res, 400, rpcError(id, RpcErrorCode.InvalidParams, `Invalid params: ${opened.reason}`));
    }
    const entry = opened.claims.ref === undefined ? undefined : this.parked.get(opened.claims.ref);
    if (!entry) {
      return reply(res, 400, rpcError(id, RpcErrorCode.InvalidParams, 'Invalid params: requestState refers to a call that is no longer waiting (already retried, expired, or its server went away)'));
    }
    const inputs = params.inputResponses;
    if (inputs !== undefined && (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs))) {
      return reply(res, 400, rpcError(id, RpcErrorCode.InvalidParams, 'Invalid params: inputResponses must be an object'));
    }
    this.parked.delete(opened.claims.ref!);
    entry.release();
    round.writer.startStream();
    entry.call.resume(round, (inputs ?? {}) as Record<string, unknown>);
  }

  private listen(res: ServerResponse, principal: Principal, id: JsonRpcId, params: Record<string, unknown> | undefined, init: InitializeResultLike, mux: Multiplexer): void {
    const filter = readFilter(params);
    if (typeof filter === 'string') return reply(res, 400, rpcError(id, RpcErrorCode.InvalidParams, `Invalid params: ${filter}`));
    const release = this.o.takeSlot(principal.subject);
    if (!release) return reply(res, 429, rpcError(id, -32000, `Too many MCP sessions and listen streams for ${principal.subject} (--max-mcp-sessions-per-user)`));
    const stream = new ListenStream(principal.subject, id, honoured(filter, init.capabilities), new ResponseWriter(res, 'sse'));
    this.listens.add(stream);
    stream.acknowledge();
    mux.addClient(stream, {});
    for (const sub of stream.subscribeRequests()) mux.fromClient(stream.id, sub);
    res.once('close', () => {
      this.listens.delete(stream);
      release();
      mux.removeClient(stream.id, 'listen stream closed');
    });
  }

  private armKeepalive(): void {
    this.keepalive = this.clock.setTimeout(() => {
      this.sweepListens();
      this.armKeepalive();
    }, this.o.keepaliveMs);
  }

  private sweepListens(): void {
    for (const l of this.listens) {
      if (l.buffered > this.o.maxBufferedBytes) {
        this.o.logger.warn({ event: 'slow_client_closed', principal: l.principal, buffered: l.buffered }, 'listen stream closed: its reader stopped reading');
        l.close();
      } else {
        l.keepalive();
      }
    }
  }

  /** A requestState for this call's user and request, valid as long as a park may last. */
  private seal(call: ModernCall, extra: { ref?: string; inner?: string }): string {
    return this.o.sealer.seal({ principal: call.principal, server: call.server, method: call.method, digest: call.digest, exp: this.clock.now() + this.o.parkMs, ...extra });
  }

  /** The calls' view of the endpoint, one per Multiplexer and server era (made once, not per request). */
  private host(serverName: string, mux: Multiplexer, modernServer = false): CallHost {
    let hosts = this.hosts.get(mux);
    if (!hosts) this.hosts.set(mux, (hosts = {}));
    const key = modernServer ? 'modern' : 'legacy';
    return (hosts[key] ??= this.makeHost(serverName, mux, modernServer));
  }

  private makeHost(serverName: string, mux: Multiplexer, modernServer: boolean): CallHost {
    return {
      modernServer,
      wrapState: (call, inner) => this.seal(call, inner === undefined ? {} : { inner }),
      fromClient: (clientId, msg) => mux.fromClient(clientId, msg),
      removeClient: (clientId, reason) => {
        this.untrack(serverName, clientId);
        mux.removeClient(clientId, reason);
      },
      setCapabilities: (clientId, caps) => mux.setCapabilities(clientId, caps),
      sealState: (call) => this.seal(call, { ref: call.parkRef }),
      park: (call) => {
        const release = this.o.takeSlot(call.principal);
        if (release) this.parked.set(call.parkRef, { call, release });
        return release !== undefined;
      },
      unpark: (call) => {
        this.parked.get(call.parkRef)?.release();
        this.parked.delete(call.parkRef);
      },
      soleCall: (call) => {
        const calls = this.running.get(serverName);
        return calls?.size === 1 && calls.get(call.id) === call;
      },
      serverInfo: () => this.o.registry.serving(serverName)?.initializeResult?.serverInfo,
      learned: (method, result) => {
        if (method !== 'tools/list') return;
        let index = this.toolHeaders.get(mux);
        if (!index) this.toolHeaders.set(mux, (index = new ToolHeaderIndex()));
        index.learn(result);
      },
      cacheHints: this.o.cacheHints,
      clock: this.clock,
      logger: this.o.logger,
      gatherMs: this.o.gatherMs ?? 20,
      parkMs: this.o.parkMs,
    };
  }

  private track(serverName: string, call: ModernCall): void {
    let calls = this.running.get(serverName);
    if (!calls) this.running.set(serverName, (calls = new Map()));
    calls.set(call.id, call);
  }

  private untrack(serverName: string, clientId: string): void {
    const calls = this.running.get(serverName);
    if (!calls?.delete(clientId)) return;
    if (calls.size === 0) this.running.delete(serverName);
  }
}

function progressTokenOf(params: Record<string, unknown>): string | number | undefined {
  const meta = params._meta as Record<string, unknown> | undefined;
  const t = meta?.progressToken;
  return typeof t === 'string' || typeof t === 'number' ? t : undefined;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body as JsonRpcMessage);
}
