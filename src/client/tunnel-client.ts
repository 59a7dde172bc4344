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
import {
  parseEnvelope,
  RELIABILITY_VERSION,
  upstreamTypeFor,
  type Envelope,
  type RegisterAckEnvelope,
  type RegisterEnvelope,
  type ServerDescription,
} from '../protocol/envelope.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import { ReliableChannel } from '../protocol/reliable-channel.js';
import { errorMessage, isRetryable, QueueFullError, ReverseProxyError, TransportError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { TransportNegotiator } from '../transport/negotiator.js';
import type { Transport, TransportCloseInfo, TransportKind } from '../transport/transport.js';
import { BACKOFF_CAP_MS, backoffDelay } from './backoff.js';

export type TunnelState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface TunnelClientOptions {
  server: ServerDescription;
  negotiator: TransportNegotiator;
  reconnectDelayMs: number;
  /** 0 = forever. Counts consecutive failed attempts. */
  maxRetries: number;
  keepaliveMs: number;
  /** Deadline for register_ack once the transport is open. */
  registerTimeoutMs: number;
  maxQueueBytes: number;
  logger: Logger;
}

export interface TunnelEvents {
  connected: [{ sessionId: string; transport: TransportKind; resumed: boolean; replayed: number; mode: string }];
  disconnected: [{ reason: string; transport: TransportKind }];
  'transport-changed': [{ from: TransportKind; to: TransportKind }];
  'fresh-session': [{ previousSessionId: string; sessionId: string; droppedFrames: number }];
  message: [JsonRpcMessage];
  drain: [];
}

/** A silent peer is declared dead after this many keepalive intervals (so within 2×). */
const DEAD_AFTER_KEEPALIVES = 1.5;

export class TunnelClient extends EventEmitter<TunnelEvents> {
  readonly channel: ReliableChannel;
  private readonly opts: TunnelClientOptions;
  private readonly log: Logger;
  private state_: TunnelState = 'idle';
  private sessionId_: string | undefined;
  private transport: Transport | undefined;
  private lastKind: TransportKind | undefined;
  private wake: (() => void) | undefined;
  private fatal: ReverseProxyError | undefined;
  /** A re-probe found a better transport: the next reconnect skips the backoff. */
  private movingUp = false;
  reconnects = 0;

  constructor(opts: TunnelClientOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger;
    this.channel = new ReliableChannel({
      deliver: (env) => this.emit('message', env.payload!),
      maxQueueBytes: opts.maxQueueBytes,
      onDrain: () => this.emit('drain'),
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
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
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
    let onFrame: (text: string) => void = () => undefined;
    let closed!: (info: TransportCloseInfo) => void;
    const closedP = new Promise<TransportCloseInfo>((r) => (closed = r));
    const transport = await this.opts.negotiator.open((t) => {
      t.onmessage = (text) => onFrame(text);
      t.onclose = (info) => closed(info);
      t.onerror = (err) => this.log.debug({ err }, 'transport error');
    });
    if (this.isStopped()) {
      await transport.close('client shutting down');
      return { reason: 'stopped' };
    }

    // Frames that arrive right behind register_ack (a transport may deliver a whole batch
    // synchronously: the ack plus the gateway's replay) are kept here and fed in below,
    // after the channel knows whether this is a resume or a fresh session.
    const early: string[] = [];
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
    const replayed = this.channel.attach((frame) => transport.send(frame), resumed ? (ack.ack ?? 0) : 0);
    this.state_ = 'open';
    this.log.info(
      { event: 'connected', sessionId: ack.sessionId, transport: transport.kind, resumed, replayed, mode: this.channel.mode, duplicatesDropped: this.channel.stats().duplicatesDropped },
      `tunnel ${resumed ? 'resumed' : 'registered'} on ${transport.kind} (session ${ack.sessionId}${replayed ? `, replayed ${replayed} frames` : ''})` +
        (reliable ? '' : '; gateway is a plain peer: best-effort delivery, no replay'),
    );
    this.emit('connected', { sessionId: ack.sessionId, transport: transport.kind, resumed, replayed, mode: this.channel.mode });

    let lastRx = Date.now();
    let lastHeartbeat = Date.now();
    onFrame = (text) => {
      lastRx = Date.now();
      this.onFrame(text, transport);
    };
    for (const text of early.splice(0)) onFrame(text);
    const keepalive = this.opts.keepaliveMs;
    const tick = setInterval(() => {
      const now = Date.now();
      if (now - lastRx > keepalive * DEAD_AFTER_KEEPALIVES) {
        void transport.close(`no frame from the gateway for ${Math.round((now - lastRx) / 1000)} s (dead peer)`);
        closed({ reason: `gateway silent for ${now - lastRx} ms: dead peer`, error: new TransportError('dead peer', { code: 'ERR_PEER_DEAD' }) });
        return;
      }
      if (now - lastHeartbeat >= keepalive) {
        lastHeartbeat = now;
        this.channel.sendControl({ type: 'heartbeat' });
      }
    }, Math.max(50, Math.floor(keepalive / 4)));
    tick.unref();

    const info = await closedP;
    clearInterval(tick);
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
    setHandler: (h: (text: string) => void) => void,
    early: string[],
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
    return new Promise<RegisterAckEnvelope>((resolve, reject) => {
      const timer = setTimeout(() => {
        void transport.close('no register_ack');
        reject(new TransportError(`gateway did not answer register within ${this.opts.registerTimeoutMs} ms`, { code: 'ERR_HANDSHAKE_TIMEOUT' }));
      }, this.opts.registerTimeoutMs);
      timer.unref();
      void closedP.then((info) => {
        clearTimeout(timer);
        reject(info.error ?? new TransportError(`transport closed during registration (${info.reason})`));
      });
      setHandler((text) => {
        const env = this.parse(text);
        if (!env) return;
        if (env.type === 'register_ack' && typeof env.sessionId === 'string') {
          clearTimeout(timer);
          setHandler((next) => early.push(next));
          resolve(env as RegisterAckEnvelope);
        } else if (env.type === 'error') {
          clearTimeout(timer);
          void transport.close('registration refused');
          const code = typeof env.code === 'string' ? env.code : undefined;
          const msg = `gateway refused registration: ${String(env.message ?? 'no reason given')}`;
          // A name owned by someone else or a forbidden registration will not fix itself.
          const fatal = code === 'name_taken' || code === 'invalid_name' || code === 'forbidden' || code === 'invalid_register';
          reject(fatal ? new ReverseProxyError('ERR_SESSION_CLOSED', msg) : new TransportError(msg));
        } else {
          this.log.debug({ type: env.type }, 'frame before register_ack ignored');
        }
      });
      transport.send(JSON.stringify(reg));
    });
  }

  /** A frame from the gateway, or undefined (logged) when it is malformed: dropped, the session goes on. */
  private parse(text: string): Envelope | undefined {
    try {
      return parseEnvelope(text);
    } catch (err) {
      this.log.warn({ err }, `ignoring malformed frame from the gateway: ${errorMessage(err)}`);
      return undefined;
    }
  }

  private onFrame(text: string, transport: Transport): void {
    const env = this.parse(text);
    if (!env) return;
    if (this.channel.receive(env)) return;
    switch (env.type) {
      case 'heartbeat':
      case 'ack':
        return;
      case 'error': {
        const message = String(env.message ?? 'unspecified error');
        if (env.code === 'session_deleted' || env.code === 'session_replaced') {
          // Documented rule: a deleted session is never resumed; the client exits (the
          // operator asked for it to go away) instead of re-registering behind their back.
          // A replaced one means another instance registered the same name: two clients
          // replacing each other forever helps nobody, so this one stops and says why.
          this.fatal = new ReverseProxyError('ERR_SESSION_CLOSED', `gateway closed the session: ${message}`);
          void transport.close('session deleted by the gateway');
          return;
        }
        this.log.warn({ event: 'gateway_error', code: env.code }, `gateway reported: ${message}`);
        return;
      }
      default:
        this.log.debug({ type: env.type }, 'ignoring frame of unknown type');
    }
  }
}
