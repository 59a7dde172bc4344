/**
 * One tunnel session: a registered server, its ReliableChannel, and whichever link it is
 * currently attached to. The session outlives its links: when a link drops, the session
 * is 'disconnected' for the resume window, MCP traffic queues in the channel's outbox,
 * and a `register` with `resume` re-attaches it (replaying what the client has not
 * acknowledged). PROTOCOL.md §2, §3.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../observability/logger.js';
import { clip } from '../../observability/log-text.js';
import { peerEventLog, type RateLimitedLog } from '../../observability/rate-limited-log.js';
import { ReverseProxyError, errorMessage } from '../../errors.js';
import { isKnownEnvelope, parseEnvelope, type DataEnvelope, type Frame, type ServerDescription } from '../../protocol/envelope.js';
import { DEFAULT_KEEPALIVE_S } from '../../protocol/constants.js';
import type { TunnelErrorCode } from '../../protocol/error-codes.js';
import type { InitializeResult } from '../../protocol/mcp-handshake.js';
import { classify, rpcError, RpcErrorCode, type JsonRpcMessage } from '../../protocol/jsonrpc.js';
import { exceedsDepth, tooDeepMessage } from '../../protocol/json-depth.js';
import { realClock, type Clock } from '../../clock.js';
import { ReliableChannel, type ChannelMode, type HeldOverflow } from '../../protocol/reliable-channel.js';
import type { TransportCloseInfo, TransportKind, TunnelLink } from '../../transport/transport.js';
import { ServerReadiness } from './server-readiness.js';
import type { DiscoverResultLike, ServerEra } from '../../protocol/discover-result.js';
import { WS_CLOSE } from './links/ws-link.js';
import { registeredEra } from './register-frame.js';
import type { SessionJournal } from './tunnel-cluster.js';

export type SessionEndKind = 'unregistered' | 'expired' | 'deleted' | 'replaced' | 'handshake_failed' | 'overflow' | 'shutdown' | 'moved';


/** What the client is told when the gateway ends its session: an `error` frame, then the link closes. */
export interface ClientNotice {
  code: TunnelErrorCode;
  message: string;
  /** WebSocket close code (default 1000). */
  closeCode?: number;
}

export interface SessionEnd {
  kind: SessionEndKind;
  message: string;
  /** JSON-RPC error code for requests still pending when the session ended. */
  rpcCode: number;
}

type Connection =
  | { state: 'connected'; link: TunnelLink; since: Date; unbind: () => void }
  | { state: 'disconnected'; since: Date; expiry: unknown }
  | { state: 'closed'; since: Date; end: SessionEnd };

export interface TunnelSessionHooks {
  onPayload(session: TunnelSession, payload: JsonRpcMessage): void;
  onReady(session: TunnelSession): void;
  onClosed(session: TunnelSession, end: SessionEnd): void;
}

export interface TunnelSessionOptions {
  owner: string;
  server: ServerDescription;
  mode: ChannelMode;
  /** From register; undefined starts the gateway's own initialize handshake. */
  initializeResult: InitializeResult | undefined;
  resumeWindowMs: number;
  requestTimeoutMs: number;
  maxQueueBytes: number;
  maxFrameBytes: number;
  logger: Logger;
  hooks: TunnelSessionHooks;
  /** The client's heartbeat interval (ms), from register; default 30 s. */
  keepaliveMs?: number;
  clock?: Clock;
  /** Scale-out takeover: the id the session had on the replica that held it before. */
  sessionId?: string;
}

export interface SessionSummary {
  sessionId: string;
  name: string;
  owner: string;
  transport: TransportKind | undefined;
  connected: boolean;
  /** False while requests would be refused: not ready, ended, or the client's local server restarting. */
  available: boolean;
  /** When the session entered its current state (ISO 8601). */
  since: string;
  mode: ChannelMode;
  serverInfo: InitializeResult['serverInfo'] | undefined;
  protocolVersion: string | undefined;
  capabilities: Record<string, unknown> | undefined;
  /** The MCP era the local server speaks, as the client registered it (legacy when it did not say). */
  era: ServerEra;
  /** era modern: the local server's DiscoverResult. */
  discover: DiscoverResultLike | undefined;
  /** Data frames sent or queued but not yet acknowledged by the client. */
  queuedFrames: number;
}

/** Seen from the MCP side as a TunnelPort (gateway/mcp/tunnel-port.ts). */
export class TunnelSession {
  readonly sessionId: string;
  readonly owner: string;
  readonly server: ServerDescription;
  readonly channel: ReliableChannel;
  private conn: Connection = { state: 'disconnected', since: new Date(), expiry: undefined };
  private readonly server_: ServerReadiness;
  private transport: TransportKind | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  /** WARN lines the peer can trigger at will, rate-limited per event. */
  private readonly peerLog: RateLimitedLog;
  private lastHeartbeatAnswer = -Infinity;
  private registered: { era: ServerEra; discover?: DiscoverResultLike };
  private journal: SessionJournal | undefined;

  constructor(private readonly o: TunnelSessionOptions) {
    this.sessionId = o.sessionId ?? randomUUID();
    this.owner = o.owner;
    this.server = o.server;
    this.clock = o.clock ?? realClock;
    this.log = o.logger.child({ sessionId: this.sessionId, server: o.server.name });
    this.peerLog = peerEventLog(this.log, this.clock);
    this.channel = new ReliableChannel({
      deliver: (env) => this.deliver(env),
      maxQueueBytes: o.maxQueueBytes,
      clock: this.clock,
      onHeldOverflow: (info) => this.heldOverflow(info),
    });
    this.channel.setMode(o.mode);
    // register-frame.ts checked it; a server_status may replace it (a restarted child is probed again).
    const era = registeredEra(o.server as unknown as Record<string, unknown>);
    this.registered = typeof era === 'string' ? { era: 'legacy' } : era;
    this.server_ = new ServerReadiness({
      serverName: o.server.name,
      initializeResult: o.initializeResult,
      requestTimeoutMs: o.requestTimeoutMs,
      clock: this.clock,
      log: this.log,
      mayLog: (event) => this.peerLog.allow(event),
      push: (payload) => this.pushFrame(payload),
      announce: (payload) => this.o.hooks.onPayload(this, payload),
      onReady: () => this.o.hooks.onReady(this),
      onFailed: (why) =>
        this.close(
          { kind: 'handshake_failed', message: `initialize failed: ${why}`, rpcCode: RpcErrorCode.TunnelUnavailable },
          { code: 'initialize_failed', message: why },
        ),
    });
  }

  get serverName(): string {
    return this.server.name;
  }

  get state(): Connection['state'] {
    return this.conn.state;
  }

  get ready(): boolean {
    return this.server_.ready;
  }

  get initializeResult(): InitializeResult | undefined {
    return this.server_.result;
  }

  /** Which MCP era the tunneled server speaks: `modern` (2026-07-28, no initialize) or `legacy`. */
  get era(): ServerEra {
    return this.registered.era;
  }

  /** A modern server's DiscoverResult, as the client registered it (or sent it after a restart). */
  get discoverResult(): DiscoverResultLike | undefined {
    return this.registered.discover;
  }

  unavailableReason(): string | undefined {
    if (this.conn.state === 'closed') return `tunnel session to ${this.serverName} ended: ${this.conn.end.message}`;
    return this.server_.unavailableReason();
  }

  push(payload: JsonRpcMessage): void {
    if (this.conn.state === 'closed') throw new ReverseProxyError('ERR_SESSION_CLOSED', `tunnel session to ${this.serverName} has ended`);
    this.pushFrame(payload);
  }

  /** Scale-out: record from now on what a takeover by another replica needs (reliable mode only). */
  setJournal(journal: SessionJournal): void {
    if (this.channel.mode === 'reliable') this.journal = journal;
  }

  /** Gateway → client data frames are all `request`, whatever the payload (ContextForge naming). */
  private pushFrame(payload: JsonRpcMessage): void {
    const seq = this.channel.push('request', payload);
    if (this.journal && seq > 0) this.journal.queued(seq, this.channel.queuedBody(seq) ?? '');
  }

  /**
   * Take over `link` (the caller already sent register_ack on it). Replays the outbox
   * beyond `peerAck`; returns how many frames were replayed.
   */
  attach(link: TunnelLink, peerAck: number): number {
    if (this.conn.state === 'closed') throw new ReverseProxyError('ERR_SESSION_CLOSED', 'cannot attach a closed session');
    if (this.conn.state === 'connected') {
      const old = this.conn.link;
      this.conn.unbind();
      old.close('superseded by a newer link for the same session');
    } else {
      this.clock.clearTimeout(this.conn.expiry);
    }
    const onMessage = (frame: string): void => this.onFrame(frame);
    const onClose = (info: TransportCloseInfo): void => this.linkClosed(link, info);
    const onDrain = (): void => this.channel.drained();
    link.onmessage = onMessage;
    link.onclose = onClose;
    link.ondrain = onDrain;
    const unbind = (): void => {
      if (link.onmessage === onMessage) link.onmessage = undefined;
      if (link.onclose === onClose) link.onclose = undefined;
      if (link.ondrain === onDrain) link.ondrain = undefined;
      this.channel.detach();
    };
    this.conn = { state: 'connected', link, since: new Date(), unbind };
    this.transport = link.kind;
    const replayed = this.channel.attach((frame, bytes) => link.send(frame, bytes), peerAck);
    if (replayed > 0) this.log.info({ event: 'replayed', replayed, stats: this.channel.stats() }, `replayed ${replayed} frame(s) after resume`);
    this.server_.linked();
    return replayed;
  }

  /** End the session for good: the link is closed, pending work is failed by the hooks. */
  close(end: SessionEnd, notifyClient?: ClientNotice): void {
    if (this.conn.state === 'closed') return;
    if (this.conn.state === 'connected') {
      const link = this.conn.link;
      if (notifyClient) this.channel.sendControl({ type: 'error', code: notifyClient.code, message: notifyClient.message });
      this.conn.unbind();
      link.close(end.message, notifyClient?.closeCode);
    } else {
      this.clock.clearTimeout(this.conn.expiry);
    }
    this.server_.stop();
    this.conn = { state: 'closed', since: new Date(), end };
    this.channel.close();
    this.log.info({ event: 'session_closed', kind: end.kind, stats: this.channel.stats() }, `tunnel session closed: ${end.message}`);
    this.o.hooks.onClosed(this, end);
  }

  summary(): SessionSummary {
    const init = this.initializeResult;
    return {
      sessionId: this.sessionId,
      name: this.serverName,
      owner: this.owner,
      transport: this.transport,
      connected: this.conn.state === 'connected',
      available: this.unavailableReason() === undefined,
      since: this.conn.since.toISOString(),
      mode: this.channel.mode,
      serverInfo: init?.serverInfo,
      protocolVersion: init?.protocolVersion,
      capabilities: init?.capabilities,
      era: this.registered.era,
      discover: this.registered.discover,
      queuedFrames: this.channel.outboxFrames,
    };
  }

  private onFrame(text: string): void {
    let env: Frame;
    try {
      env = parseEnvelope(text, this.o.maxFrameBytes);
    } catch (err) {
      const why = clip(errorMessage(err))!;
      if (this.peerLog.allow('bad_frame')) this.log.warn({ event: 'bad_frame', reason: why }, `bad frame dropped: ${why}`);
      this.channel.sendControl({ type: 'error', code: 'bad_frame', message: `bad frame dropped: ${why}` });
      return;
    }
    const data = this.channel.receive(env, text.length);
    if (this.journal && env.ack !== undefined) this.journal.acked(env.ack);
    if (data) return;
    if (!isKnownEnvelope(env)) {
      this.log.debug({ type: clip(env.type, 40) }, 'frame of unknown type ignored');
      return;
    }
    switch (env.type) {
      case 'heartbeat':
        this.heartbeat();
        return;
      case 'unregister':
        this.close({ kind: 'unregistered', message: `server ${this.serverName} unregistered`, rpcCode: RpcErrorCode.SessionClosed });
        return;
      case 'error':
        if (this.peerLog.allow('client_error')) {
          this.log.warn({ event: 'client_error', code: clip(env.code, 60), message: clip(env.message) }, 'client reported an error');
        }
        return;
      case 'ack':
        return;
      case 'server_status':
        this.server_.serverStatus(env);
        if (env.available === true && env.server) this.reRegistered(env.server as unknown as Record<string, unknown>);
        return;
      case 'register':
        this.channel.sendControl({ type: 'error', code: 'already_registered', message: 'this link is already registered' });
        return;
      default:
        // register_ack, or a data frame receive() took: nothing a client sends us here.
        this.log.debug({ type: env.type }, 'frame of unexpected type ignored');
    }
  }

  /**
   * Answer a client heartbeat (its liveness check needs to hear from us). A plain peer gets
   * at most one answer per half keepalive: the ContextForge client answers every heartbeat
   * it receives with a heartbeat, and answering those too would ping-pong for as long as
   * the link lives. (Our own client, in reliable mode, never answers heartbeats.)
   */
  private heartbeat(): void {
    const now = this.clock.now();
    const gapMs = (this.o.keepaliveMs ?? DEFAULT_KEEPALIVE_S * 1000) / 2;
    if (this.channel.mode === 'plain' && now - this.lastHeartbeatAnswer < gapMs) return;
    this.lastHeartbeatAnswer = now;
    this.channel.sendControl({ type: 'heartbeat', timestamp: new Date(now).toISOString() });
  }

  /** A restarted child was probed again: its era (and DiscoverResult) may have changed. */
  private reRegistered(server: Record<string, unknown>): void {
    const era = registeredEra(server);
    if (typeof era !== 'string') this.registered = era;
    else if (this.peerLog.allow('bad_server_status')) this.log.warn({ event: 'bad_server_status', reason: clip(era) }, `server_status era ignored: ${clip(era)}`);
  }

  private deliver(env: DataEnvelope): void {
    if (this.journal && env.seq !== undefined) this.journal.delivered(env.seq);
    const payload = exceedsDepth(env.payload) ? this.refuseTooDeep(env.payload) : env.payload;
    if (payload === undefined || this.server_.answered(payload)) return;
    this.o.hooks.onPayload(this, payload);
  }

  /**
   * A payload nested deeper than MAX_JSON_DEPTH: nothing downstream may recurse over it.
   * Whoever waits for it still gets an answer: a response is replaced by a JSON-RPC error
   * for the same id (returned, to be delivered in its place); a request is answered with
   * an error to the server; a notification is dropped.
   */
  private refuseTooDeep(payload: JsonRpcMessage): JsonRpcMessage | undefined {
    const kind = classify(payload);
    const id = (payload as { id?: unknown }).id;
    const message = tooDeepMessage(`the server's ${kind === 'invalid' ? 'message' : kind}`);
    this.log.warn({ event: 'payload_too_deep', kind }, `${message}: refused`);
    if (typeof id !== 'string' && typeof id !== 'number') return undefined;
    if (kind === 'response') return rpcError(id, RpcErrorCode.InternalError, `${message}; the gateway refused it`);
    if (kind !== 'request') return undefined;
    try {
      this.pushFrame(rpcError(id, RpcErrorCode.InvalidRequest, `Invalid Request: ${message}`));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not answer the server: tunnel saturated');
    }
    return undefined;
  }

  /**
   * The client sent more than --max-queue-bytes of frames past a seq it never sent. Our
   * transports are ordered, so a real client never does: it is misbehaving (or hostile,
   * holding gateway memory hostage). End its session; the Multiplexer fails what it owed.
   */
  private heldOverflow(info: HeldOverflow): void {
    const message =
      `client sent ${info.heldBytes + info.frameBytes} bytes of frames ahead of seq ${this.channel.inboundAck + 1}, ` +
      `which it never sent (limit ${info.limit} bytes, --max-queue-bytes)`;
    this.log.warn({ event: 'gap_overflow', reason: info.reason, heldBytes: info.heldBytes, frameBytes: info.frameBytes, seq: info.seq, limit: info.limit }, message);
    this.close(
      { kind: 'overflow', message: `tunnel session to ${this.serverName} ended: ${message}`, rpcCode: RpcErrorCode.SessionClosed },
      { code: 'gap_overflow', message, closeCode: WS_CLOSE.policyViolation },
    );
  }

  private linkClosed(link: TunnelLink, info: TransportCloseInfo): void {
    if (this.conn.state !== 'connected' || this.conn.link !== link) return;
    this.conn.unbind();
    const windowS = this.o.resumeWindowMs / 1000;
    const expiry = this.clock.setTimeout(() => this.expire(windowS), this.o.resumeWindowMs);
    this.conn = { state: 'disconnected', since: new Date(), expiry };
    this.log.info(
      { event: 'link_closed', reason: clip(info.reason), resumeWindowS: windowS, stats: this.channel.stats() },
      `tunnel link closed (${clip(info.reason)}); keeping the session for ${windowS} s`,
    );
  }

  private expire(windowS: number): void {
    if (this.conn.state !== 'disconnected') return;
    this.log.warn({ event: 'session_expired', resumeWindowS: windowS }, 'tunnel did not come back within the resume window');
    this.close({
      kind: 'expired',
      message: `tunnel to ${this.serverName} did not come back within ${windowS} s`,
      rpcCode: RpcErrorCode.TunnelUnavailable,
    });
  }
}
