/**
 * ReliableChannel (docs/protocol.md §3): per-direction seq, cumulative ack, an outbox of
 * unacknowledged data frames, in-order exactly-once delivery. Pure logic: time comes from
 * an injected clock and bytes leave through an injected send function, so the same class
 * runs in the client and in the gateway and is tested without any transport.
 *
 * Outbound frames are serialized once, without `ack`; the current ack is spliced in
 * front at send time (`{"ack":n,` + rest) so a replay never re-serializes a payload. Their
 * UTF-8 length is counted once too, and handed to the send function with the frame.
 *
 * Backpressure, both ways (docs/delivery.md "Within which bounds"):
 * - out: when send() says the transport is congested, no further data frame is handed to
 *   it until drained() (they wait in the byte-bounded outbox, and leave in seq order);
 * - in: pauseDelivery() holds inbound frames unacknowledged (inbox.ts), so the peer's
 *   outbox fills and the peer stops taking new work.
 */
import { isDataEnvelope, type ControlEnvelope, type DataEnvelope, type DataType, type Frame } from './envelope.js';
import type { JsonRpcMessage } from './jsonrpc.js';
import { realClock, type Clock } from '../clock.js';
import { QueueFullError } from '../errors.js';
import { Inbox, type HeldOverflow } from './inbox.js';
import { Outbox, type OutboxEntry } from './outbox.js';

export type { HeldOverflow } from './inbox.js';

export type ChannelMode = 'reliable' | 'plain';

/** Hands one frame to the transport (`bytes`: its UTF-8 length); false when the transport is congested. */
export type SendFrame = (frame: string, bytes: number | undefined) => boolean;

export interface ReliableChannelOptions {
  /** Receives data frames in seq order, each exactly once (plain frames: as they come). */
  deliver: (env: DataEnvelope) => void;
  clock?: Clock;
  /** Standalone ack at most this long after unacknowledged inbound data (ms). */
  ackIntervalMs?: number;
  /** ... or at once after this many unacknowledged inbound frames. */
  ackEvery?: number;
  /** Byte bound of the outbox (serialized frames). */
  maxQueueBytes?: number;
  /** Out-of-order frames held while waiting for a gap to fill; beyond this they are dropped (replay re-sends them). */
  maxHeldFrames?: number;
  /** Byte bound of inbound frames held undelivered (ahead of a gap, or while delivery is paused). Default maxQueueBytes. */
  maxHeldBytes?: number;
  /** Called once the outbox has room again after a push was refused. */
  onDrain?: () => void;
  /** An inbound frame did not fit in maxHeldBytes and was dropped unacknowledged (inbox.ts). */
  onHeldOverflow?: (info: HeldOverflow) => void;
}

export const CHANNEL_DEFAULTS = {
  ackIntervalMs: 200,
  ackEvery: 64,
  maxQueueBytes: 16 * 1024 * 1024,
  maxHeldFrames: 4096,
} as const;

export interface ChannelStats {
  mode: ChannelMode;
  /** Data frames handed to send() the first time. */
  sent: number;
  /** Data frames sent again after a resume. */
  replayed: number;
  delivered: number;
  duplicatesDropped: number;
  gapsHeld: number;
  outboxFrames: number;
  outboxBytes: number;
  /** Highest contiguous seq received (what we ack). */
  inboundAck: number;
  /** Last seq assigned outbound. */
  outboundSeq: number;
}

export class ReliableChannel {
  private readonly deliverFn: (env: DataEnvelope) => void;
  private readonly clock: Clock;
  private readonly ackIntervalMs: number;
  private readonly ackEvery: number;
  readonly maxQueueBytes: number;
  private readonly onDrain: (() => void) | undefined;

  private mode_: ChannelMode = 'reliable';
  private sendFn: SendFrame | undefined;
  private readonly outbox = new Outbox();
  private readonly inbox: Inbox;
  private nextSeq = 1;
  /** Next seq to hand to send() on the current transport. */
  private cursor = 1;
  /** The transport said it is congested: data frames wait until drained(). */
  private congested = false;
  private pumping = false;
  private unackedInbound = 0;
  private ackTimer: unknown;
  private refused = false;
  /** Highest seq handed to send() at least once (tells a first send from a replay). */
  private transmittedSeq = 0;
  private closed = false;

  private sent = 0;
  private replayed = 0;

  constructor(options: ReliableChannelOptions) {
    this.deliverFn = options.deliver;
    this.clock = options.clock ?? realClock;
    this.ackIntervalMs = options.ackIntervalMs ?? CHANNEL_DEFAULTS.ackIntervalMs;
    this.ackEvery = options.ackEvery ?? CHANNEL_DEFAULTS.ackEvery;
    this.maxQueueBytes = options.maxQueueBytes ?? CHANNEL_DEFAULTS.maxQueueBytes;
    this.onDrain = options.onDrain;
    this.inbox = new Inbox({
      deliver: this.deliverFn,
      maxHeldFrames: options.maxHeldFrames ?? CHANNEL_DEFAULTS.maxHeldFrames,
      maxHeldBytes: options.maxHeldBytes ?? this.maxQueueBytes,
      ...(options.onHeldOverflow ? { onOverflow: options.onHeldOverflow } : {}),
    });
  }

  get mode(): ChannelMode {
    return this.mode_;
  }

  /** Plain mode (peer without seq/ack): frames leave without seq and are forgotten once sent. */
  setMode(mode: ChannelMode): void {
    this.mode_ = mode;
  }

  /** Highest contiguous inbound seq: what we acknowledge, and what `resume.ack` carries. */
  get inboundAck(): number {
    return this.inbox.ack;
  }

  get outboxBytes(): number {
    return this.outbox.bytes;
  }

  get outboxFrames(): number {
    return this.outbox.frames;
  }

  /** Inbound frames received but not delivered (ahead of a gap, or delivery paused). */
  get heldBytes(): number {
    return this.inbox.heldBytes;
  }

  get attached(): boolean {
    return this.sendFn !== undefined;
  }

  /** True while the transport reported congestion and has not drained yet. */
  get transportCongested(): boolean {
    return this.congested;
  }

  get deliveryPaused(): boolean {
    return this.inbox.paused;
  }

  /** Whether a frame of this many bytes fits in the outbox now. */
  hasRoom(bytes: number): boolean {
    return this.outbox.bytes + bytes <= this.maxQueueBytes;
  }

  /**
   * A transport is up and the peer acknowledged `peerAck`: forget what it has, then send
   * the rest in order (replay first, then live) as fast as the transport takes it.
   * Returns the number of frames queued for it at this point.
   */
  attach(send: SendFrame, peerAck: number): number {
    // Trim while detached: trim() may call onDrain, and a push made from there must queue
    // behind the replay (in seq order), not go out ahead of it.
    this.sendFn = undefined;
    if (this.mode_ === 'reliable') this.trim(peerAck);
    this.sendFn = send;
    this.congested = false;
    this.cursor = this.outbox.firstSeq ?? this.nextSeq;
    const n = this.outbox.frames;
    this.pump();
    return n;
  }

  /** The transport is gone; frames pile up in the outbox until the next attach(). */
  detach(): void {
    this.sendFn = undefined;
    this.cancelAckTimer();
  }

  /** For good: nothing is queued or sent any more. */
  close(): void {
    this.closed = true;
    this.detach();
  }

  /** The transport has room again after send() returned false: continue in seq order. */
  drained(): void {
    if (!this.congested) return;
    this.congested = false;
    this.pump();
  }

  /**
   * Queue one data frame and send it if attached. Throws QueueFullError (and remembers to
   * call onDrain later) when the outbox has no room; nothing is queued then.
   */
  push(type: DataType, payload: JsonRpcMessage, extra?: Record<string, unknown>): number {
    if (this.closed) return 0;
    const seq = this.nextSeq;
    const frame: DataEnvelope = this.mode_ === 'reliable' ? { type, seq, payload } : { type, payload };
    if (extra) Object.assign(frame, extra);
    const body = JSON.stringify(frame);
    const bytes = Buffer.byteLength(body);
    if (!this.hasRoom(bytes)) {
      this.refused = true;
      throw new QueueFullError(this.outbox.bytes + bytes, this.maxQueueBytes);
    }
    this.nextSeq++;
    this.outbox.push({ seq, body, bytes });
    this.pump();
    return seq;
  }

  /** The serialized body (without ack) of a frame still in the outbox (scale-out: its journal). */
  queuedBody(seq: number): string | undefined {
    return this.outbox.get(seq)?.body;
  }

  /** Before the first attach(): continue a session another process held (scale-out failover; inbox.ts restore()). */
  restore(state: { frames: Array<{ seq: number; body: string }>; nextSeq: number; inboundAck: number }): void {
    this.outbox.clear();
    for (const f of state.frames) this.outbox.push({ seq: f.seq, body: f.body, bytes: Buffer.byteLength(f.body) });
    this.nextSeq = state.nextSeq;
    this.cursor = this.outbox.firstSeq ?? this.nextSeq;
    this.transmittedSeq = this.nextSeq - 1;
    this.inbox.restore(state.inboundAck);
  }

  /** Send a control frame (heartbeat, error, ...) now, with the current ack. Never queued. */
  sendControl(env: ControlEnvelope): boolean {
    if (!this.sendFn) return false;
    if (this.mode_ === 'reliable') {
      env.ack = this.inboundAck;
      this.acknowledged();
    }
    return this.sendFn(JSON.stringify(env), undefined);
  }

  /**
   * Feed one inbound frame (`textLength`: its length as received, for the held-bytes
   * bound). Processes its `ack`; data frames are delivered in order exactly once. Returns
   * true when the frame was a data frame (the caller handles control frames itself).
   */
  receive(env: Frame, textLength?: number): boolean {
    if (env.ack !== undefined) this.trim(env.ack);
    if (!isDataEnvelope(env)) return false;
    if (env.seq === undefined) {
      // Plain peer: best effort, as delivered.
      this.inbox.delivered++;
      this.deliverFn(env);
      return true;
    }
    const outcome = this.inbox.accept(env, textLength);
    if (outcome === 'delivered' || outcome === 'duplicate') this.noteInbound();
    return true;
  }

  /** The consumer cannot take more: hold inbound data frames, unacknowledged, until resumeDelivery(). */
  pauseDelivery(): void {
    this.inbox.pause();
  }

  resumeDelivery(): void {
    if (this.inbox.resume() > 0) this.noteInbound();
  }

  /**
   * Start over for a fresh session (the peer could not resume): everything queued or held
   * is dropped and both sequences restart at 1. Returns the payloads that were still
   * unacknowledged so the caller can answer what they owed.
   */
  reset(): JsonRpcMessage[] {
    const dropped = this.outbox.payloads();
    this.clearOutbox();
    this.inbox.reset();
    this.nextSeq = 1;
    this.cursor = 1;
    this.transmittedSeq = 0;
    this.acknowledged();
    return dropped;
  }

  stats(): ChannelStats {
    return {
      mode: this.mode_,
      sent: this.sent,
      replayed: this.replayed,
      delivered: this.inbox.delivered,
      duplicatesDropped: this.inbox.duplicatesDropped,
      gapsHeld: this.inbox.gapsHeld,
      outboxFrames: this.outbox.frames,
      outboxBytes: this.outbox.bytes,
      inboundAck: this.inboundAck,
      outboundSeq: this.nextSeq - 1,
    };
  }

  /** Hand queued frames to the transport in seq order until it is congested or all are out. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      // An ack can overtake the cursor (the peer got frames of an older transport late).
      const first = this.outbox.firstSeq;
      if (first !== undefined && this.cursor < first) this.cursor = first;
      while (this.sendFn && !this.congested) {
        const entry = this.outbox.get(this.cursor);
        if (entry === undefined) break;
        this.cursor++;
        const ok = this.mode_ === 'plain' ? this.sendPlain(entry) : this.transmit(entry);
        if (entry.seq > this.transmittedSeq) {
          this.transmittedSeq = entry.seq;
          this.sent++;
        } else {
          this.replayed++;
        }
        if (!ok) this.congested = true;
      }
    } finally {
      this.pumping = false;
    }
  }

  private transmit(entry: OutboxEntry): boolean {
    const ack = String(this.inboundAck);
    // `{"ack":` + digits + `,` in front of the body's `{`: ASCII, so 7 + digits more bytes.
    const ok = this.sendFn!(`{"ack":${ack},${entry.body.slice(1)}`, entry.bytes + 7 + ack.length);
    this.acknowledged();
    return ok;
  }

  /** Plain mode keeps nothing once sent: no ack will ever release it. */
  private sendPlain(entry: OutboxEntry): boolean {
    const ok = this.sendFn!(entry.body, entry.bytes);
    this.release(this.outbox.trimThrough(entry.seq));
    return ok;
  }

  /** Drop outbox entries the peer has acknowledged (cumulative). */
  private trim(peerAck: number): void {
    this.release(this.outbox.trimThrough(peerAck));
  }

  private release(frames: number): void {
    if (frames > 0 && this.refused && this.outbox.bytes <= this.maxQueueBytes / 2) {
      this.refused = false;
      this.onDrain?.();
    }
  }

  private clearOutbox(): void {
    this.outbox.clear();
    if (this.refused) {
      this.refused = false;
      this.onDrain?.();
    }
  }

  private noteInbound(): void {
    if (this.mode_ !== 'reliable' || !this.sendFn) return;
    this.unackedInbound++;
    if (this.unackedInbound >= this.ackEvery) {
      this.sendStandaloneAck();
    } else if (this.ackTimer === undefined) {
      this.ackTimer = this.clock.setTimeout(() => {
        this.ackTimer = undefined;
        this.sendStandaloneAck();
      }, this.ackIntervalMs);
    }
  }

  private sendStandaloneAck(): void {
    if (!this.sendFn || this.unackedInbound === 0) return;
    const frame = `{"type":"ack","ack":${this.inboundAck}}`;
    this.sendFn(frame, frame.length);
    this.acknowledged();
  }

  /** Nothing received is left unacknowledged: no standalone ack is due. */
  private acknowledged(): void {
    this.unackedInbound = 0;
    this.cancelAckTimer();
  }

  private cancelAckTimer(): void {
    if (this.ackTimer !== undefined) {
      this.clock.clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
  }
}
