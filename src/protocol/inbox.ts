/**
 * The receiving half of a ReliableChannel (docs/protocol.md §3.1): the next expected seq,
 * the frames received but not yet delivered, in-order exactly-once delivery.
 *
 * A frame is *held* (received, neither delivered nor acknowledged) in two cases:
 * - it is ahead of a gap: a seq before it is missing, and only a replay brings it. Ordered
 *   transports never make gaps, so a peer that sends many frames past one is misbehaving;
 * - delivery is paused: the consumer cannot take more (the client's local server is not
 *   reading its stdin). Not acknowledging is the backpressure: the peer's outbox fills and
 *   the peer stops taking new work (the gateway answers -32002).
 *
 * Bounds: frames ahead of a gap at most `maxHeldFrames` (silently dropped beyond, as
 * before: replay re-sends them), and all held frames together at most `maxHeldBytes`,
 * counted as their sender's outbox counts them. A frame over the byte bound is dropped
 * without acknowledgement (the peer still has it) and reported through `onOverflow`, whose
 * owner decides: the gateway ends the session, the client resumes it to fetch them again.
 * While paused, the frames behind a dropped one are dropped too (silently: one report per
 * pause), since none of them can be delivered before a replay brings the first.
 */
import type { DataEnvelope } from './envelope.js';

export interface HeldOverflow {
  /** `gap`: ahead of a missing seq; `paused`: next in order while delivery is paused. */
  reason: 'gap' | 'paused';
  seq: number;
  frameBytes: number;
  heldBytes: number;
  limit: number;
}

export interface InboxOptions {
  deliver: (env: DataEnvelope) => void;
  maxHeldFrames: number;
  maxHeldBytes: number;
  onOverflow?: (info: HeldOverflow) => void;
}

/** What became of one inbound data frame; `delivered` and `duplicate` are acknowledged. */
export type Acceptance = 'delivered' | 'duplicate' | 'held' | 'dropped';

export class Inbox {
  private expected = 1;
  /** Every seq in expected..runEnd is held: the run delivery resumes with. */
  private runEnd = 0;
  private readonly held = new Map<number, { env: DataEnvelope; bytes: number }>();
  private heldBytes_ = 0;
  private paused_ = false;
  /** Lowest seq dropped while paused: everything from it on is dropped too until resume(). */
  private droppedFrom: number | undefined;
  /** After restore(): the first frame past `expected` moves it (see restore()). */
  private rebase = false;

  delivered = 0;
  duplicatesDropped = 0;
  gapsHeld = 0;

  constructor(private readonly o: InboxOptions) {}

  /** Highest contiguous seq delivered: what we acknowledge. */
  get ack(): number {
    return this.expected - 1;
  }

  get paused(): boolean {
    return this.paused_;
  }

  get heldBytes(): number {
    return this.heldBytes_;
  }

  get heldFrames(): number {
    return this.held.size;
  }

  /** One data frame with a seq; `textLength` is the length of the frame as received. */
  accept(env: DataEnvelope, textLength: number | undefined): Acceptance {
    const seq = env.seq!;
    if (this.rebase && seq >= this.expected) {
      this.rebase = false;
      this.expected = seq;
      this.runEnd = seq - 1;
    }
    if (seq < this.expected) {
      this.duplicatesDropped++;
      return 'duplicate';
    }
    if (this.held.has(seq)) {
      this.duplicatesDropped++;
      return 'held';
    }
    if (seq === this.expected && !this.paused_) {
      this.deliverOne(env);
      this.drainHeld();
      return 'delivered';
    }
    // Behind a frame dropped while paused, nothing can be delivered before a replay anyway.
    if (this.droppedFrom !== undefined && seq > this.droppedFrom) return 'dropped';
    const inRun = seq === this.runEnd + 1;
    if (!inRun && this.held.size - (this.runEnd - this.expected + 1) >= this.o.maxHeldFrames) return 'dropped';
    const bytes = senderBytes(env, textLength);
    if (this.held.size > 0 && this.heldBytes_ + bytes > this.o.maxHeldBytes) {
      if (inRun) this.droppedFrom = seq;
      this.o.onOverflow?.({ reason: inRun ? 'paused' : 'gap', seq, frameBytes: bytes, heldBytes: this.heldBytes_, limit: this.o.maxHeldBytes });
      return 'dropped';
    }
    this.held.set(seq, { env, bytes });
    this.heldBytes_ += bytes;
    if (inRun) this.extendRun();
    else this.gapsHeld++;
    return 'held';
  }

  /** Stop delivering: later frames are held (and not acknowledged) until resume(). */
  pause(): void {
    this.paused_ = true;
  }

  /** Deliver what is held in order (until paused again). Returns how many were delivered. */
  resume(): number {
    if (!this.paused_) return 0;
    this.paused_ = false;
    const before = this.delivered;
    this.drainHeld();
    // Caught up with the first dropped frame (not paused again on the way): from here on
    // only a replay can go on, and frames past it are gaps again.
    if (!this.paused_) this.droppedFrom = undefined;
    return this.delivered - before;
  }

  /**
   * Continue a session another process held (scale-out failover, docs/scale-out.md): `ack`
   * is the last delivery it recorded, which may lag behind what it acknowledged to the
   * peer. The peer only forgets frames once they are acknowledged, so the first frame it
   * replays past `ack` is the first one nobody delivered: delivery goes on from there, and
   * frames up to `ack` are still dropped as duplicates.
   */
  restore(ack: number): void {
    this.reset();
    this.expected = ack + 1;
    this.runEnd = ack;
    this.rebase = true;
  }

  /** Start over at seq 1 (a fresh session); the pause stays as the consumer set it. */
  reset(): void {
    this.held.clear();
    this.heldBytes_ = 0;
    this.expected = 1;
    this.runEnd = 0;
    this.droppedFrom = undefined;
    this.rebase = false;
  }

  private deliverOne(env: DataEnvelope): void {
    this.expected++;
    this.delivered++;
    this.o.deliver(env);
  }

  /** Deliver held frames that are next in order; the consumer may pause in between. */
  private drainHeld(): void {
    while (!this.paused_) {
      const next = this.held.get(this.expected);
      if (next === undefined) break;
      this.held.delete(this.expected);
      this.heldBytes_ -= next.bytes;
      this.deliverOne(next.env);
    }
    if (this.runEnd < this.expected - 1) this.runEnd = this.expected - 1;
    this.extendRun();
  }

  private extendRun(): void {
    while (this.held.has(this.runEnd + 1)) this.runEnd++;
  }
}

/**
 * A frame's size as its sender's outbox counted it: the text as received, less the
 * `"ack":n,` spliced in front at send time. With equal bounds on both ends, frames the
 * peer may have unacknowledged then always fit. Without the text, it is re-serialized.
 */
function senderBytes(env: DataEnvelope, textLength: number | undefined): number {
  const n = textLength ?? JSON.stringify(env).length;
  return env.ack === undefined ? n : n - (7 + String(env.ack).length);
}
