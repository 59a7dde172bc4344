/**
 * ReliableChannel (docs/protocol.md §3): per-direction seq, cumulative ack, an outbox of
 * unacknowledged data frames, in-order exactly-once delivery. Pure logic: time comes from
 * an injected clock and bytes leave through an injected send function, so the same class
 * runs in the client and in the gateway and is tested without any transport.
 *
 * Outbound frames are serialized once, without `ack`; the current ack is spliced in
 * front at send time (`{"ack":n,` + rest) so a replay never re-serializes a payload.
 */
import { DATA_TYPES, type Envelope } from './envelope.js';
import type { JsonRpcMessage } from './jsonrpc.js';
import { QueueFullError } from '../errors.js';

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

export type ChannelMode = 'reliable' | 'plain';

export interface ReliableChannelOptions {
  /** Receives data frames in seq order, each exactly once (plain frames: as they come). */
  deliver: (env: Envelope) => void;
  clock?: Clock;
  /** Standalone ack at most this long after unacknowledged inbound data (ms). */
  ackIntervalMs?: number;
  /** ... or at once after this many unacknowledged inbound frames. */
  ackEvery?: number;
  /** Byte bound of the outbox (serialized frames). */
  maxQueueBytes?: number;
  /** Out-of-order frames held while waiting for a gap to fill; beyond this they are dropped (replay re-sends them). */
  maxHeldFrames?: number;
  /** Called once the outbox has room again after a push was refused. */
  onDrain?: () => void;
}

export const CHANNEL_DEFAULTS = {
  ackIntervalMs: 200,
  ackEvery: 64,
  maxQueueBytes: 16 * 1024 * 1024,
  maxHeldFrames: 4096,
} as const;

interface OutboxEntry {
  seq: number;
  /** Serialized frame without `ack`, starting with `{`. */
  body: string;
  bytes: number;
}

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
  private readonly deliverFn: (env: Envelope) => void;
  private readonly clock: Clock;
  private readonly ackIntervalMs: number;
  private readonly ackEvery: number;
  readonly maxQueueBytes: number;
  private readonly maxHeldFrames: number;
  private readonly onDrain: (() => void) | undefined;

  private mode_: ChannelMode = 'reliable';
  private sendFn: ((frame: string) => boolean) | undefined;
  private outbox: OutboxEntry[] = [];
  private outboxHead = 0;
  private outboxBytes_ = 0;
  private nextSeq = 1;
  private expected = 1;
  private readonly held = new Map<number, Envelope>();
  private unackedInbound = 0;
  private ackTimer: unknown;
  private refused = false;
  /** Highest seq handed to send() at least once (tells a first send from a replay). */
  private transmittedSeq = 0;
  private closed = false;

  private sent = 0;
  private replayed = 0;
  private delivered = 0;
  private duplicatesDropped = 0;
  private gapsHeld = 0;

  constructor(options: ReliableChannelOptions) {
    this.deliverFn = options.deliver;
    this.clock = options.clock ?? realClock;
    this.ackIntervalMs = options.ackIntervalMs ?? CHANNEL_DEFAULTS.ackIntervalMs;
    this.ackEvery = options.ackEvery ?? CHANNEL_DEFAULTS.ackEvery;
    this.maxQueueBytes = options.maxQueueBytes ?? CHANNEL_DEFAULTS.maxQueueBytes;
    this.maxHeldFrames = options.maxHeldFrames ?? CHANNEL_DEFAULTS.maxHeldFrames;
    this.onDrain = options.onDrain;
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
    return this.expected - 1;
  }

  get outboxBytes(): number {
    return this.outboxBytes_;
  }

  get outboxFrames(): number {
    return this.outbox.length - this.outboxHead;
  }

  get attached(): boolean {
    return this.sendFn !== undefined;
  }

  /** Whether a frame of this many bytes fits in the outbox now. */
  hasRoom(bytes: number): boolean {
    return this.outboxBytes_ + bytes <= this.maxQueueBytes;
  }

  /**
   * A transport is up and the peer acknowledged `peerAck`: forget what it has, replay the
   * rest in order, then send live. Returns the number of frames replayed.
   */
  attach(send: (frame: string) => boolean, peerAck: number): number {
    if (this.mode_ === 'plain') {
      this.sendFn = send;
      const n = this.outboxFrames;
      for (let i = this.outboxHead; i < this.outbox.length; i++) send(this.outbox[i]!.body);
      this.sent += n;
      this.clearOutbox();
      return n;
    }
    // Trim while detached: trim() may call onDrain, and a push made from there must queue
    // behind the replay (in seq order), not go out ahead of it and then again in the loop.
    this.sendFn = undefined;
    this.trim(peerAck);
    this.sendFn = send;
    let n = 0;
    for (let i = this.outboxHead; i < this.outbox.length; i++) {
      const entry = this.outbox[i]!;
      this.transmit(entry);
      // Frames queued while detached go out here for the first time: they count as sent.
      if (entry.seq > this.transmittedSeq) {
        this.transmittedSeq = entry.seq;
        this.sent++;
      } else {
        this.replayed++;
      }
      n++;
    }
    return n;
  }

  /** The transport is gone; frames pile up in the outbox until the next attach(). */
  detach(): void {
    this.sendFn = undefined;
    this.cancelAckTimer();
  }

  /**
   * Queue one data frame and send it if attached. Throws QueueFullError (and remembers to
   * call onDrain later) when the outbox has no room; nothing is queued then.
   */
  push(type: 'request' | 'response' | 'notification', payload: JsonRpcMessage, extra?: Record<string, unknown>): number {
    if (this.closed) return 0;
    const seq = this.nextSeq;
    const frame: Envelope = this.mode_ === 'reliable' ? { type, seq, payload } : { type, payload };
    if (extra) Object.assign(frame, extra);
    const body = JSON.stringify(frame);
    const bytes = Buffer.byteLength(body);
    if (!this.hasRoom(bytes)) {
      this.refused = true;
      throw new QueueFullError(this.outboxBytes_ + bytes, this.maxQueueBytes);
    }
    this.nextSeq++;
    const entry: OutboxEntry = { seq, body, bytes };
    if (this.mode_ === 'plain' && this.sendFn) {
      this.sendFn(body);
      this.sent++;
      return seq;
    }
    this.outbox.push(entry);
    this.outboxBytes_ += bytes;
    if (this.sendFn) {
      this.transmit(entry);
      this.transmittedSeq = seq;
      this.sent++;
    }
    return seq;
  }

  /** Send a control frame (heartbeat, error, ...) now, with the current ack. Never queued. */
  sendControl(env: Envelope): boolean {
    if (!this.sendFn) return false;
    if (this.mode_ === 'reliable') {
      env.ack = this.inboundAck;
      this.ackSent();
    }
    return this.sendFn(JSON.stringify(env));
  }

  /**
   * Feed one inbound frame. Processes its `ack`; data frames are delivered in order
   * exactly once. Returns true when the frame was a data frame (the caller handles
   * control frames itself).
   */
  receive(env: Envelope): boolean {
    if (env.ack !== undefined) this.trim(env.ack);
    if (!DATA_TYPES.has(env.type)) return false;
    if (env.seq === undefined) {
      // Plain peer: best effort, as delivered.
      this.delivered++;
      this.deliverFn(env);
      return true;
    }
    const seq = env.seq;
    if (seq < this.expected) {
      this.duplicatesDropped++;
      this.noteInbound();
      return true;
    }
    if (seq > this.expected) {
      if (!this.held.has(seq) && this.held.size < this.maxHeldFrames) {
        this.held.set(seq, env);
        this.gapsHeld++;
      } else if (this.held.has(seq)) {
        this.duplicatesDropped++;
      }
      return true;
    }
    this.deliverOne(env);
    for (let next = this.held.get(this.expected); next !== undefined; next = this.held.get(this.expected)) {
      this.held.delete(this.expected);
      this.deliverOne(next);
    }
    this.noteInbound();
    return true;
  }

  /**
   * Start over for a fresh session (the peer could not resume): everything queued or held
   * is dropped and both sequences restart at 1. Returns the payloads that were still
   * unacknowledged so the caller can answer what they owed.
   */
  reset(): JsonRpcMessage[] {
    const dropped: JsonRpcMessage[] = [];
    for (let i = this.outboxHead; i < this.outbox.length; i++) {
      const env = JSON.parse(this.outbox[i]!.body) as Envelope;
      if (env.payload) dropped.push(env.payload);
    }
    this.clearOutbox();
    this.held.clear();
    this.nextSeq = 1;
    this.transmittedSeq = 0;
    this.expected = 1;
    this.unackedInbound = 0;
    this.cancelAckTimer();
    return dropped;
  }

  close(): void {
    this.closed = true;
    this.detach();
  }

  stats(): ChannelStats {
    return {
      mode: this.mode_,
      sent: this.sent,
      replayed: this.replayed,
      delivered: this.delivered,
      duplicatesDropped: this.duplicatesDropped,
      gapsHeld: this.gapsHeld,
      outboxFrames: this.outboxFrames,
      outboxBytes: this.outboxBytes_,
      inboundAck: this.inboundAck,
      outboundSeq: this.nextSeq - 1,
    };
  }

  private deliverOne(env: Envelope): void {
    this.expected++;
    this.delivered++;
    this.deliverFn(env);
  }

  private transmit(entry: OutboxEntry): void {
    const send = this.sendFn!;
    send(`{"ack":${this.inboundAck},${entry.body.slice(1)}`);
    this.ackSent();
  }

  /** Drop outbox entries the peer has acknowledged (cumulative). */
  private trim(peerAck: number): void {
    let head = this.outboxHead;
    while (head < this.outbox.length && this.outbox[head]!.seq <= peerAck) {
      this.outboxBytes_ -= this.outbox[head]!.bytes;
      head++;
    }
    if (head === this.outboxHead) return;
    this.outboxHead = head;
    // Compact once the consumed prefix dominates, so the array does not grow forever.
    if (head > 1024 && head * 2 > this.outbox.length) {
      this.outbox = this.outbox.slice(head);
      this.outboxHead = 0;
    }
    if (this.refused && this.outboxBytes_ <= this.maxQueueBytes / 2) {
      this.refused = false;
      this.onDrain?.();
    }
  }

  private clearOutbox(): void {
    this.outbox = [];
    this.outboxHead = 0;
    this.outboxBytes_ = 0;
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
    this.sendFn(`{"type":"ack","ack":${this.inboundAck}}`);
    this.ackSent();
  }

  private ackSent(): void {
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
