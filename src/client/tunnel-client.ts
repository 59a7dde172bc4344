/**
 * TunnelClient: one tunnel session to the gateway, kept alive across transport failures.
 *
 *   connecting ──register_ack──▶ open ──transport lost──▶ reconnecting ──▶ open ...
 *        │                                                   │
 *        └──── fatal (401/403, 407, TLS, max retries) ───────┴──▶ closed
 *
 * Data goes through one ReliableChannel for the life of the process, so whatever the
 * child says while the tunnel is down waits in the outbox and is replayed in order after
 * `register` + `resume` (docs/protocol.md §2–§3), whichever transport carries it then.
 */
import { EventEmitter } from 'node:events';
import { realClock, wait, type Clock } from '../clock.js';
import {
  frameOf,
  isKnownEnvelope,
  parseEnvelope,
  RELIABILITY_VERSION,
  upstreamTypeFor,
  type ErrorEnvelope,
  type Frame,
  type RegisterAckEnvelope,
  type RegisterEnvelope,
  type ServerDescription,
} from '../protocol/envelope.js';
import { errorEffect } from '../protocol/error-codes.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import { ReliableChannel, type HeldOverflow } from '../protocol/reliable-channel.js';
import { errorMessage, isRetryable, QueueFullError, ReverseProxyError, TransportError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { TransportNegotiator } from '../transport/negotiator.js';
import type { InboundFrame, Transport, TransportCloseInfo, TransportKind } from '../transport/transport.js';
import { BACKOFF_CAP_MS, backoffDelay } from './backoff.js';
import { Keepalive } from './keepalive.js';
import { registerOn } from './register-handshake.js';

export type TunnelState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface TunnelClientOptions {
  server: ServerDescription;
  negotiator: TransportOpener;
  reconnectDelayMs: number;
  /** 0 = forever. Counts consecutive failed attempts. */
  maxRetries: number;
  keepaliveMs: number;
  /** Deadline for register_ack once the transport is open. */
  registerTimeoutMs: number;
  maxQueueBytes: number;
  logger: Logger;
  /** Keepalive, backoff and register deadline (tests: fake time). */
  clock?: Clock;
}

/** What the tunnel needs of the TransportNegotiator, so that tests can hand in their own. */
export type TransportOpener = Pick<TransportNegotiator, 'open' | 'dispose' | 'onupgrade'>;

export interface TunnelEvents {
  connected: [{ sessionId: string; transport: TransportKind; resumed: boolean; replayed: number; mode: string }];
  disconnected: [{ reason: string; transport: TransportKind }];
  'transport-changed': [{ from: TransportKind; to: TransportKind }];
  'fresh-session': [{ previousSessionId: string; sessionId: string; droppedFrames: number }];
  message: [JsonRpcMessage];
  drain: [];
}

export class TunnelClient extends EventEmitter<TunnelEvents> {
  readonly channel: ReliableChannel;
  private readonly opts: TunnelClientOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private state_: TunnelState = 'idle';
  private sessionId_: string | undefined;
  private transport: Transport | undefined;
  private lastKind: TransportKind | undefined;
  private wake: (() => void) | undefined;
  private fatal: ReverseProxyError | undefined;
  /** A re-probe found a better transport: the next reconnect skips the backoff. */
  private movingUp = false;
  /** Frames were dropped while delivery was paused: resume the session once it is not. */
  private refetch = false;
  reconnects = 0;

  constructor(opts: TunnelClientOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger;
    this.clock = opts.clock ?? realClock;
    this.channel = new ReliableChannel({
      clock: this.clock,
      deliver: (env) => this.emit('message', env.payload!),
      maxQueueBytes: opts.maxQueueBytes,
      onDrain: () => this.emit('drain'),
      onHeldOverflow: (info) => this.heldOverflow(info),
    });
    opts.negotiator.onupgrade = (to) => this.moveUp(to);
  }

  /**
   * The negotiator's background re-probe found that `to` (ws) gets through again: close
   * the current transport and reconnect at once. The session resumes on the new transport
   * with replay (docs/protocol.md §2–§3), so nothing is lost; 'transport-changed' follows.
   */
  private moveUp(to: TransportKind): void {
    if (this.isStopped()) return;
    this.movingUp = true;
    this.log.info({ event: 'transport_move_up', from: this.lastKind, to }, `moving the tunnel up to ${to}`);
    if (this.transport) void this.transport.close(`moving up to ${to}`);
    else this.wake?.();
  }

  get state(): TunnelState {
    return this.state_;
  }

  private isStopped(): boolean {
    return this.state_ === 'closed';
  }

  get sessionId(): string | undefined {
    return this.sessionId_;
  }

  get transportKind(): TransportKind | undefined {
    return this.transport ? this.lastKind : undefined;
  }

  /**
   * Queue one message from the child. Returns false when the outbox is full: the caller
   * stops reading the child and retries after 'drain' (nothing is dropped).
   */
  push(msg: JsonRpcMessage): boolean {
    try {
      this.channel.push(upstreamTypeFor(msg), msg);
      return true;
    } catch (err) {
      if (err instanceof QueueFullError) return false;
      throw err;
    }
  }

  /**
   * The local server cannot take more: hold the gateway's frames, unacknowledged, until
   * resumeInbound(). The gateway's queue then fills and it answers new MCP requests with
   * -32002 instead of this process buffering them without bound.
   */
  pauseInbound(): void {
    this.channel.pauseDelivery();
  }

  resumeInbound(): void {
    this.channel.resumeDelivery();
    if (this.refetch && !this.channel.deliveryPaused) {
      this.refetch = false;
      this.resumeSession('fetching the frames dropped while the local server was not reading');
    }
  }

  /**
   * More than --max-queue-bytes arrived undelivered; the gateway still has what was dropped.
   * Paused: it sent more than our bound (its --max-queue-bytes is larger); fetch the rest by
   * resuming once delivery goes on. A gap: only a resume (replay) can fill it.
   */
  private heldOverflow(info: HeldOverflow): void {
    const paused = info.reason === 'paused';
    if (paused && this.refetch) return;
    this.log.warn(
      { event: 'held_overflow', reason: info.reason, heldBytes: info.heldBytes, limit: info.limit },
      paused
        ? `the gateway sent more than --max-queue-bytes (${info.limit}) while the local server was not reading; the rest is fetched again later`
        : `the gateway sent more than ${info.limit} bytes past a missing frame; resuming the session to get it again`,
    );
    if (paused) this.refetch = true;
    else this.resumeSession('frames missing from the gateway');
  }

  /** Close the transport: the run loop reconnects and resumes, and the gateway replays what we have not acknowledged. */
  private resumeSession(why: string): void {
    if (this.transport) void this.transport.close(why);
  }

  /** Runs until stop() (resolves) or a fatal error (rejects). */
  async run(): Promise<void> {
    let failures = 0;
    while (!this.isStopped()) {
      this.state_ = this.sessionId_ === undefined ? 'connecting' : 'reconnecting';
      try {
        const info = await this.connectOnce(() => {
          failures = 0;
        });
        if (this.isStopped()) break;
        if (this.fatal) throw this.fatal;
        if (this.movingUp) {
          this.movingUp = false;
          continue;
        }
        this.reconnects++;
        const st = this.channel.stats();
        this.log.warn(
          { event: 'disconnected', reason: info.reason, reconnects: this.reconnects, outboxFrames: st.outboxFrames, outboxBytes: st.outboxBytes, duplicatesDropped: st.duplicatesDropped, replayedTotal: st.replayed },
          `tunnel lost: ${info.reason}; reconnecting (${st.outboxFrames} frames / ${st.outboxBytes} bytes queued)`,
        );
      } catch (err) {
        if (this.isStopped()) break;
        if (!isRetryable(err)) {
          this.state_ = 'closed';
          throw err;
        }
        failures++;
        this.log.warn(
          { event: 'connect_failed', attempt: failures, err },
          `connection attempt ${failures}${this.opts.maxRetries ? ` of ${this.opts.maxRetries}` : ''} failed: ${errorMessage(err)}`,
        );
        if (this.opts.maxRetries > 0 && failures >= this.opts.maxRetries) {
          this.state_ = 'closed';
          throw new ReverseProxyError(
            'ERR_MAX_RETRIES',
            `max retries exceeded (${this.opts.maxRetries} attempts); last error: ${errorMessage(err)}`,
            { cause: err },
          );
        }
      }
      if (this.isStopped()) break;
      const delay = backoffDelay({ baseMs: this.opts.reconnectDelayMs, capMs: BACKOFF_CAP_MS }, Math.max(1, failures));
      this.log.debug({ event: 'backoff', delayMs: delay }, `next attempt in ${delay} ms`);
      // The one thing keeping the process alive while the gateway is away: a ref'd timer.
      const backoff = wait(this.clock, delay, { ref: true });
      this.wake = backoff.cancel;
      await backoff.done;
      this.wake = undefined;
      this.movingUp = false;
    }
  }

  /** Clean shutdown: unregister, close the transport, stop the loop. Idempotent. */
  async stop(): Promise<void> {
    if (this.state_ === 'closed') return;
    this.state_ = 'closed';
    const t = this.transport;
    if (t) {
      this.channel.sendControl({ type: 'unregister', ...(this.sessionId_ ? { sessionId: this.sessionId_ } : {}) });
      await t.close('client shutting down');
    }
    this.channel.close();
    void this.opts.negotiator.dispose();
    this.wake?.();
  }

  /** Open, register, serve until the transport closes. */
  private async connectOnce(onRegistered: () => void): Promise<TransportCloseInfo> {
    let onFrame: (frame: InboundFrame) => void = () => undefined;
    let closed!: (info: TransportCloseInfo) => void;
    const closedP = new Promise<TransportCloseInfo>((r) => (closed = r));
    const transport = await this.opts.negotiator.open((t) => {
      t.onmessage = (frame) => onFrame(frame);
      t.onclose = (info) => closed(info);
      t.ondrain = () => {
        if (this.transport === t) this.channel.drained();
      };
      t.onerror = (err) => this.log.debug({ err }, 'transport error');
    });
    if (this.isStopped()) {
      await transport.close('client shutting down');
      return { reason: 'stopped' };
    }

    // Frames that arrive right behind register_ack (a transport may deliver a whole batch
    // synchronously: the ack plus the gateway's replay) are kept here and fed in below,
    // after the channel knows whether this is a resume or a fresh session.
    const early: InboundFrame[] = [];
    const ack = await this.register(transport, closedP, (h) => (onFrame = h), early);
    onRegistered();
    this.transport = transport;
    if (this.lastKind && this.lastKind !== transport.kind) {
      this.emit('transport-changed', { from: this.lastKind, to: transport.kind });
    }
    this.lastKind = transport.kind;

    const reliable = ack.reliability === RELIABILITY_VERSION;
    this.channel.setMode(reliable ? 'reliable' : 'plain');
    const previous = this.sessionId_;
    const resumed = ack.resumed === true && previous === ack.sessionId;
    if (previous !== undefined && !resumed) {
      const dropped = this.channel.reset();
      this.emit('fresh-session', { previousSessionId: previous, sessionId: ack.sessionId, droppedFrames: dropped.length });
    }
    this.sessionId_ = ack.sessionId;
    const replayed = this.channel.attach((frame, bytes) => transport.send(frame, bytes), resumed ? (ack.ack ?? 0) : 0);
    this.state_ = 'open';
    this.log.info(
      { event: 'connected', sessionId: ack.sessionId, transport: transport.kind, resumed, replayed, mode: this.channel.mode, duplicatesDropped: this.channel.stats().duplicatesDropped },
      `tunnel ${resumed ? 'resumed' : 'registered'} on ${transport.kind} (session ${ack.sessionId}${replayed ? `, replayed ${replayed} frames` : ''})` +
        (reliable ? '' : '; gateway is a plain peer: best-effort delivery, no replay'),
    );
    this.emit('connected', { sessionId: ack.sessionId, transport: transport.kind, resumed, replayed, mode: this.channel.mode });

    const keepalive = new Keepalive({
      keepaliveMs: this.opts.keepaliveMs,
      clock: this.clock,
      heartbeat: () => this.channel.sendControl({ type: 'heartbeat' }),
      dead: (silentMs) => {
        void transport.close(`no frame from the gateway for ${Math.round(silentMs / 1000)} s (dead peer)`);
        closed({ reason: `gateway silent for ${silentMs} ms: dead peer`, error: new TransportError('dead peer', { code: 'ERR_PEER_DEAD' }) });
      },
    });
    onFrame = (frame) => {
      keepalive.heard();
      this.onFrame(frame, transport);
    };
    for (const frame of early.splice(0)) onFrame(frame);

    const info = await closedP;
    keepalive.stop();
    this.channel.detach();
    this.transport = undefined;
    if (!this.isStopped()) {
      this.state_ = 'reconnecting';
      this.emit('disconnected', { reason: info.reason, transport: transport.kind });
    }
    return info;
  }

  private register(
    transport: Transport,
    closedP: Promise<TransportCloseInfo>,
    setHandler: (h: (frame: InboundFrame) => void) => void,
    early: InboundFrame[],
  ): Promise<RegisterAckEnvelope> {
    const reg: RegisterEnvelope = {
      type: 'register',
      server: this.opts.server,
      reliability: RELIABILITY_VERSION,
      keepalive: this.opts.keepaliveMs / 1000,
      transport: transport.kind,
    };
    if (this.sessionId_ !== undefined) reg.resume = { sessionId: this.sessionId_, ack: this.channel.inboundAck };
    this.log.debug(
      { event: 'register', transport: transport.kind, resume: reg.resume, outboxFrames: this.channel.outboxFrames },
      reg.resume ? `asking to resume session ${reg.resume.sessionId} (acked ${reg.resume.ack})` : 'registering a new session',
    );
    return registerOn({
      transport,
      register: reg,
      closed: closedP,
      setHandler,
      early,
      timeoutMs: this.opts.registerTimeoutMs,
      clock: this.clock,
      parse: (frame) => this.parse(frame),
      log: this.log,
    });
  }

  /** A frame from the gateway, or undefined (logged) when it is malformed: dropped, the session goes on. */
  private parse(frame: InboundFrame): Frame | undefined {
    try {
      return typeof frame === 'string' ? parseEnvelope(frame) : frameOf(frame.json);
    } catch (err) {
      this.log.warn({ err }, `ignoring malformed frame from the gateway: ${errorMessage(err)}`);
      return undefined;
    }
  }

  private onFrame(frame: InboundFrame, transport: Transport): void {
    const env = this.parse(frame);
    if (!env) return;
    // A parsed frame's length is measured only if it has to be held (inbox.ts).
    if (this.channel.receive(env, typeof frame === 'string' ? frame.length : undefined)) return;
    if (isKnownEnvelope(env) && env.type === 'error') return this.gatewayError(env, transport);
    // A heartbeat or an ack says nothing beyond its `ack` (taken by receive()).
    if (env.type !== 'heartbeat' && env.type !== 'ack') this.log.debug({ type: env.type }, 'ignoring frame of unknown type');
  }

  private gatewayError(env: ErrorEnvelope, transport: Transport): void {
    const message = String(env.message ?? 'unspecified error');
    if (errorEffect(env.code) === 'stop') {
      // Documented rule: a deleted session is never resumed; the client exits (the
      // operator asked for it to go away) instead of re-registering behind their back.
      // A replaced one means another instance registered the same name: two clients
      // replacing each other forever helps nobody, so this one stops and says why.
      this.fatal = new ReverseProxyError('ERR_SESSION_CLOSED', `gateway closed the session: ${message}`);
      void transport.close('session deleted by the gateway');
      return;
    }
    this.log.warn({ event: 'gateway_error', code: env.code }, `gateway reported: ${message}`);
  }
}
