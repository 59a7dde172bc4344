/**
 * The 2025-era side of `/servers/{name}/mcp` (mcp-door.ts routes here): the MCP Streamable
 * HTTP sessions, one SDK StreamableHTTPServerTransport per MCP client session. We use only the SDK's transport
 * (HTTP, SSE streams, session header checks), never its Server class: messages are
 * relayed raw through the server's Multiplexer.
 *
 * Checks, in order (after the door's Origin and body checks): the session header, then for
 * a new session: the server exists, the caller may use it (access.ts canUse), and has a
 * slot left (session-slots.ts). Streams are resumable (event-store.ts).
 * Slow clients: when a session's open responses hold more than `maxBufferedBytes` unsent
 * bytes (a reader that stopped reading its SSE stream), the session is closed — its
 * buffered output would otherwise grow without bound in gateway memory.
 * A single request on a session is answered with JSON when it can be (json-responses.ts),
 * else on the gateway's own SSE stream (request-streams.ts): one or two writes instead of
 * the SDK's web stream per POST. The SDK transport keeps the rest (initialize, batches,
 * notifications and responses from the client, the GET stream, DELETE).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { realClock, type Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import { rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage } from '../../protocol/jsonrpc.js';
import type { Principal } from '../http/auth.js';
import { canUse } from '../http/access.js';
import type { Multiplexer } from './multiplexer.js';
import type { SessionRegistry } from '../tunnel/session-registry.js';
import type { Multiplexers } from './multiplexers.js';
import { sendJson } from '../http/respond.js';
import { singleRequest, JsonResponses } from './json-responses.js';
import { DEFAULT_KEEPALIVE_MS, RequestStreams } from './request-streams.js';
import type { SessionSlots } from './session-slots.js';
import { BoundedEventStore } from './event-store.js';
import { markInitialized, requestsOnStream, type McpSessionStore } from './session-store.js';
import { sdkTransport, type SdkTransportClass } from './sdk-transport.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/mcp-handshake.js';

/** SSE events kept per MCP session for clients that reconnect (`--mcp-resume-bytes`). */
export const DEFAULT_RESUME_BYTES = 1024 * 1024;
const MAX_RESUME_EVENTS = 4096;
/** The `retry:` a client waits before reconnecting a dropped stream (ms). */
const RECONNECT_AFTER_MS = 1000;

export interface McpEndpointOptions {
  registry: SessionRegistry;
  multiplexers: Multiplexers;
  logger: Logger;
  /** `--open-servers`: every authenticated user may use every server. */
  openServers: boolean;
  /** Unsent bytes one MCP session may have queued on its responses before it is closed. */
  maxBufferedBytes: number;
  /** Metrics: a request refused for a policy reason. */
  onRefused?: (reason: 'forbidden' | 'slow_client' | 'max_mcp_sessions') => void;
  /** Close a session with no request and no open stream for this long (ms); 0 = never. */
  idleMs?: number;
  /** SSE keepalive comment interval on the session's streams (ms; the SDK's default is 15 s). */
  keepaliveMs?: number;
  /** Bytes of SSE events kept per session for resuming clients (`--mcp-resume-bytes`). */
  resumeBytes?: number;
  /** The user's budget of sessions, shared with the 2026-07-28 side. */
  slots: SessionSlots;
  /** The idle sweep (tests: fake time). */
  clock?: Clock;
  /** Scale-out: sessions (and their streams) kept where every replica can take them up. */
  store?: McpSessionStore;
}

interface McpSession {
  transport: StreamableHTTPServerTransport;
  serverName: string;
  owner: string;
  /** Responses (SSE streams, pending POSTs) still open for this session. */
  responses: Set<ServerResponse>;
  /** Open GET requests: with status 200 sent, the standalone SSE stream (json-responses.ts). */
  gets: Set<ServerResponse>;
  /** Requests answered with application/json instead of an SSE stream (json-responses.ts). */
  json: JsonResponses;
  /** Requests answered on the gateway's own SSE streams (request-streams.ts). */
  streams: RequestStreams;
  mux: Multiplexer;
  lastActive: number;
  /** Give back the owner's session slot (once; on close, or when initialize did not open a session). */
  release: () => void;
}

export class McpEndpoint {
  private readonly sessions = new Map<string, McpSession>();
  /** Token subject → sessions it holds, counted from the initialize request on. */
  private readonly clock: Clock;
  private sweeper: unknown;
  private handingOver = false;

  constructor(private readonly o: McpEndpointOptions) {
    this.clock = o.clock ?? realClock;
    // MCP clients often vanish without DELETE; their sessions (and multiplexer state) would
    // otherwise stay until the gateway stops.
    const idleMs = o.idleMs ?? 0;
    if (idleMs > 0) this.sweep(idleMs, Math.min(60_000, Math.max(250, idleMs / 4)));
  }

  private sweep(idleMs: number, everyMs: number): void {
    this.sweeper = this.clock.setTimeout(() => {
      this.closeIdle(idleMs);
      this.sweep(idleMs, everyMs);
    }, everyMs);
  }

  private closeIdle(idleMs: number): void {
    const now = this.clock.now();
    for (const [id, s] of this.sessions) {
      if (s.responses.size > 0 || now - s.lastActive < idleMs) continue;
      this.o.logger.info({ event: 'mcp_session_idle', mcpSessionId: id, server: s.serverName }, `MCP client session idle for ${Math.round(idleMs / 1000)} s: closed`);
      void s.transport.close();
    }
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A 2025-era request (mcp-door.ts did the Origin, body and era checks). */
  async handle(req: IncomingMessage, res: ServerResponse, serverName: string, principal: Principal, body: unknown): Promise<void> {
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const existing = this.sessions.get(sid) ?? (this.o.store ? await this.revive(sid, serverName, principal) : undefined);
      // Another user's session id is as unknown to this caller as a made-up one.
      if (!existing || existing.serverName !== serverName || existing.owner !== principal.subject) {
        return sendJson(res, 404, rpcError(null, -32001, 'Session not found'));
      }
      existing.lastActive = this.clock.now();
      this.o.store?.used(sid, principal.subject);
      track(existing, res, this.clock);
      const single = singleRequest(req, body, (this.o.resumeBytes ?? DEFAULT_RESUME_BYTES) > 0);
      if (single && !existing.json.has(single.msg.id) && !existing.streams.has(single.msg.id)) {
        const { msg } = single;
        if (single.answer === 'json' && hasStandaloneStream(existing)) {
          existing.json.begin(msg.id, res, sid);
          return existing.mux.fromClient(sid, msg);
        }
        if (!this.o.store && (req.headers.accept ?? '').includes('text/event-stream')) {
          existing.streams.begin(msg.id, res, sid, single.primed);
          return existing.mux.fromClient(sid, msg);
        }
      }
      if (req.method === 'GET' && this.resumeOwnStream(existing, req, res, sid)) return;
      if (req.method === 'GET') {
        existing.gets.add(res);
        res.once('close', () => existing.gets.delete(res));
      }
      return existing.transport.handleRequest(req, res, body);
    }
    // 2026-07-28 has no GET stream and no sessions to DELETE (S/…/streamable-http, "Backward Compatibility").
    if (req.method !== 'POST') return sendJson(res, 405, rpcError(null, -32000, `Method Not Allowed: ${req.method} needs an Mcp-Session-Id of a 2025-era session`), { Allow: 'POST' });
    if (!isInitialize(body)) {
      return sendJson(res, 400, rpcError(null, -32000, 'Bad Request: no Mcp-Session-Id header; a new MCP session must start with initialize'));
    }
    const Transport = await this.loadTransport(res, body);
    if (!Transport) return;
    const tunnel = this.o.registry.serving(serverName);
    const mux = this.o.multiplexers.get(serverName);
    if (!tunnel || !mux) return sendJson(res, 404, rpcError(null, RpcErrorCode.TunnelUnavailable, `no tunneled server named ${serverName}`));
    if (!canUse(principal, tunnel, this.o.openServers)) {
      this.o.onRefused?.('forbidden');
      this.o.logger.info({ event: 'mcp_forbidden', server: serverName, subject: principal.subject }, 'MCP session refused: not the server owner');
      return sendJson(
        res,
        403,
        rpcError(null, -32000, `Forbidden: server ${serverName} belongs to another user (only its owner and admins may use it unless the gateway runs with --open-servers)`),
      );
    }
    const limit = this.o.slots.limit;
    let held = this.o.slots.count(principal.subject);
    let release = this.o.slots.take(principal.subject);
    // Scale-out: the user's sessions on every replica count (best effort under concurrent initializes).
    const everywhere = release && this.o.store ? await this.o.store.heldBy(principal.subject).catch(() => 0) : 0;
    if (release && everywhere >= limit) {
      release();
      release = undefined;
      held = everywhere;
    }
    if (!release) {
      this.o.onRefused?.('max_mcp_sessions');
      this.o.logger.warn({ event: 'mcp_sessions_exhausted', subject: principal.subject, server: serverName, limit }, 'MCP session refused: too many sessions for this user');
      const id = (body as { id?: unknown }).id;
      return sendJson(
        res,
        429,
        rpcError(
          typeof id === 'string' || typeof id === 'number' ? id : null,
          -32000,
          `Too many MCP sessions: ${principal.subject} already holds ${held} (--max-mcp-sessions-per-user ${limit}); close one (DELETE) or let an idle one expire`,
        ),
      );
    }
    // Counted before the first await, so concurrent initializes cannot both take the last slot.
    const capabilities = (body as { params?: { capabilities?: Record<string, unknown> } }).params?.capabilities;
    const session = this.open(Transport, serverName, principal.subject, mux, release, { capabilities });
    track(session, res, this.clock);
    try {
      await session.transport.handleRequest(req, res, body);
    } finally {
      // The SDK refused the initialize (bad headers or body): no session, no slot.
      if (session.transport.sessionId === undefined) session.release();
    }
  }

  /** A reconnect (`Last-Event-ID`) to one of the gateway's own request streams: true when handled here. */
  private resumeOwnStream(session: McpSession, req: IncomingMessage, res: ServerResponse, sid: string): boolean {
    const last = req.headers['last-event-id'];
    if (typeof last !== 'string' || !(req.headers.accept ?? '').includes('text/event-stream')) return false;
    const version = req.headers['mcp-protocol-version'];
    if (version !== undefined && !(typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version))) return false;
    const outcome = session.streams.resume(last, res, sid);
    if (outcome === 'not_ours') return false;
    if (outcome !== 'resumed') sendJson(res, outcome.status, rpcError(null, -32000, outcome.message));
    return true;
  }

  /**
   * Close every MCP client session (gateway shutdown). `handOver` (scale-out): their records
   * stay in the store, so the replica that takes over their server takes them up.
   */
  async close(opts: { handOver?: boolean } = {}): Promise<void> {
    this.clock.clearTimeout(this.sweeper);
    if (opts.handOver) this.handingOver = true;
    await Promise.allSettled([...this.sessions.values()].map((s) => s.transport.close()));
  }

  /**
   * Scale-out: a session another replica opened (and lost, or handed on with its server's
   * tunnel), taken up here from the store — same id, same owner and server, its streams
   * resumable. Undefined when there is nothing to take up (the caller answers 404).
   */
  private async revive(sid: string, serverName: string, principal: Principal): Promise<McpSession | undefined> {
    const Transport = await sdkTransport();
    const rec = await this.o.store!.find(sid).catch(() => undefined);
    const mux = this.o.multiplexers.get(serverName);
    if (!rec || rec.server !== serverName || rec.subject !== principal.subject || !mux || this.sessions.has(sid)) return this.sessions.get(sid);
    const release = this.o.slots.take(principal.subject);
    if (!release) return undefined;
    const session = this.open(Transport, serverName, principal.subject, mux, release, { capabilities: rec.capabilities, revived: sid });
    markInitialized(session.transport, sid);
    this.adopt(session, sid, rec.capabilities ?? {});
    this.o.logger.info({ event: 'mcp_session_revived', mcpSessionId: sid, server: serverName }, 'MCP client session taken up from the cluster store');
    return session;
  }

  private adopt(session: McpSession, id: string, capabilities: Record<string, unknown> | undefined): void {
    this.sessions.set(id, session);
    session.mux.addClient({ id, principal: session.owner, send: (msg, related) => this.send(session, msg, related) }, capabilities);
  }

  /** The SDK transport for a new session (sdk-transport.ts); undefined once `res` was answered with the error. */
  private async loadTransport(res: ServerResponse, body: unknown): Promise<SdkTransportClass | undefined> {
    try {
      return await sdkTransport();
    } catch (err) {
      this.o.logger.error({ event: 'mcp_transport_unavailable', err }, 'could not load the MCP session transport');
      const id = (body as { id?: unknown }).id;
      sendJson(res, 500, rpcError(typeof id === 'string' || typeof id === 'number' ? id : null, RpcErrorCode.InternalError, 'the gateway could not open an MCP session (its session transport failed to load); see its log'));
      return undefined;
    }
  }

  private open(
    Transport: SdkTransportClass,
    serverName: string,
    owner: string,
    mux: Multiplexer,
    release: () => void,
    from: { capabilities?: Record<string, unknown> | undefined; revived?: string },
  ): McpSession {
    const log = this.o.logger.child({ server: serverName, owner });
    const resumeBytes = this.o.resumeBytes ?? DEFAULT_RESUME_BYTES;
    const cluster = this.o.store;
    // Scale-out: the session's events live in the cluster store, where the replica that takes
    // the session up finds them; the gateway's own request streams (local store only) stay off.
    const local = resumeBytes > 0 && !cluster ? new BoundedEventStore({ maxBytes: resumeBytes, maxEvents: MAX_RESUME_EVENTS }) : undefined;
    const events = cluster ? cluster.events(() => transport.sessionId, (streamId) => requestsOnStream(transport, streamId)) : local;
    const transport: StreamableHTTPServerTransport = new Transport({
      sessionIdGenerator: () => from.revived ?? randomUUID(),
      // Comments on idle streams: proxies' read timeouts see traffic, and a write to a vanished
      // client eventually fails at the TCP level and ends the stream (docs/gateway.md, "Connections").
      ...(this.o.keepaliveMs !== undefined ? { keepAliveMs: this.o.keepaliveMs } : {}),
      // Resumable streams (2025-11-25, SEP-1699): a priming event gives the client a cursor,
      // and a reconnect with Last-Event-ID gets what it missed, from a bounded store.
      ...(resumeBytes > 0 && events ? { eventStore: events, retryInterval: RECONNECT_AFTER_MS } : {}),
      onsessioninitialized: (id) => {
        // The multiplexer learns the capabilities from initialize itself; the store keeps them for a revival.
        this.adopt(session, id, undefined);
        cluster?.opened(id, { server: serverName, subject: owner, ...(from.capabilities ? { capabilities: from.capabilities } : {}) });
        log.info({ event: 'mcp_session_opened', mcpSessionId: id }, 'MCP client session opened');
      },
    });
    transport.onmessage = (msg) => {
      const id = transport.sessionId;
      if (id !== undefined) mux.fromClient(id, msg as JsonRpcMessage);
    };
    transport.onclose = () => {
      release();
      const id = transport.sessionId;
      if (id === undefined || this.sessions.get(id)?.transport !== transport) return;
      this.sessions.delete(id);
      if (!this.handingOver) cluster?.closed(id);
      mux.removeClient(id);
      session.json.closeAll();
      session.streams.closeAll();
      log.info({ event: 'mcp_session_closed', mcpSessionId: id }, 'MCP client session closed');
    };
    transport.onerror = (err) => log.debug({ err }, 'MCP transport reported an error');
    const streams = new RequestStreams({ store: local, retryMs: RECONNECT_AFTER_MS, keepaliveMs: this.o.keepaliveMs ?? DEFAULT_KEEPALIVE_MS, clock: this.clock });
    const session: McpSession = { transport, serverName, owner, responses: new Set(), gets: new Set(), json: new JsonResponses(), streams, mux, lastActive: this.clock.now(), release };
    return session;
  }

  private async send(session: McpSession, msg: JsonRpcMessage, relatedRequestId: JsonRpcId | undefined): Promise<void> {
    // A fast-path request's answer is written as JSON; what relates to it goes on the GET stream.
    const route = session.json.route(msg, relatedRequestId);
    if (route === 'standalone') await session.transport.send(msg as JSONRPCMessage);
    else if (route === 'sdk' && !session.streams.route(msg, relatedRequestId)) {
      await session.transport.send(msg as JSONRPCMessage, relatedRequestId === undefined ? undefined : { relatedRequestId });
    }
    let buffered = 0;
    for (const r of session.responses) buffered += r.writableLength;
    if (buffered <= this.o.maxBufferedBytes) return;
    this.o.onRefused?.('slow_client');
    this.o.logger.warn(
      { event: 'slow_client_closed', server: session.serverName, owner: session.owner, mcpSessionId: session.transport.sessionId, buffered, limit: this.o.maxBufferedBytes },
      `MCP client session closed: ${buffered} bytes unsent to a client that stopped reading (limit ${this.o.maxBufferedBytes})`,
    );
    // Destroy first: ending a response would still wait to flush what the client never reads.
    for (const r of session.responses) r.destroy();
    await session.transport.close();
  }
}

function track(session: McpSession, res: ServerResponse, clock: Clock): void {
  session.responses.add(res);
  res.once('close', () => {
    session.responses.delete(res);
    session.lastActive = clock.now();
  });
}

/** The SDK has accepted a GET (status 200 sent) that is still open: the standalone stream. */
function hasStandaloneStream(session: McpSession): boolean {
  for (const r of session.gets) if (r.headersSent && r.statusCode === 200 && !r.writableEnded) return true;
  return false;
}

function isInitialize(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && (body as { method?: unknown }).method === 'initialize';
}
