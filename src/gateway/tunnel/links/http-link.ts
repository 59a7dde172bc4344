/**
 * The gateway's end of an HTTP link (`sse` or `poll`, docs/protocol.md §4.1), as a
 * TunnelLink. One link spans many HTTP requests: a downstream (an SSE stream or one
 * pending long poll) and any number of NDJSON POSTs upstream.
 *
 * Every frame sent gets a link-local event id (1, 2, 3, …) and stays in a replay buffer
 * bounded at 1 MiB, so a dropped stream or a lost poll answer is fetched again without
 * tearing the link down. Overflow drops the oldest frames; a client that still needed
 * them gets 409 and resumes the tunnel on a new link (the ReliableChannel above makes
 * that lossless).
 *
 * Congestion: send() says false while the SSE stream's socket is full, or, on a poll link
 * (or an SSE link whose stream is being reopened), once half the replay buffer is taken;
 * `ondrain` follows when the stream drains or reattaches, or a poll acknowledges frames
 * (ackThrough). The
 * ReliableChannel above then stops sending, so frames wait in its outbox instead of
 * overflowing this buffer.
 *
 * A closed link lingers (LINGER_MS) so the frames written just before the close — an
 * `error` frame telling why a register was refused, `session_deleted` — can still be
 * fetched by a poll or a reopened stream.
 */
import { randomBytes } from 'node:crypto';
import { LinkBase } from './link.js';
import { realClock, type Clock } from '../../../clock.js';

/** Bound of the per-link replay buffer (protocol.md §4.1). */
export const REPLAY_BUFFER_BYTES = 1024 * 1024;
/** A link with no stream, no pending poll and no request for this long is closed (before register tells a keepalive, §4.1). */
export const UNATTENDED_LINK_MS = 60_000;
/** How long a closed link still answers polls/stream reopens with its remaining frames. */
export const LINGER_MS = 30_000;

export interface LinkEvent {
  id: number;
  data: string;
  bytes: number;
}

/** Where sent frames go while a client is attached: an SSE stream or one pending long poll. */
export interface Downstream {
  /** A new event for the client; false when the pipe is congested. */
  push(ev: LinkEvent): boolean;
  /** The link closed, or another downstream replaced this one: answer / end the response. */
  end(why: 'closed' | 'replaced'): void;
}

/** Frames after `id`, or why they cannot be had. */
export type Replay = { kind: 'ok'; events: LinkEvent[] } | { kind: 'gone'; message: string };

/** The sent-frames buffer: ids grow by one per frame; the oldest are dropped over the byte bound or on ack. */
export class EventBuffer {
  /** events[head..] are held; the dropped prefix is cut off in bulk (an array shift per frame would be O(n)). */
  private events: LinkEvent[] = [];
  private head = 0;
  private bytes = 0;
  private lastId = 0;
  /** Highest id no longer held (dropped by overflow or acknowledged). */
  private droppedThrough = 0;

  constructor(private readonly maxBytes: number = REPLAY_BUFFER_BYTES) {}

  get last(): number {
    return this.lastId;
  }

  get size(): number {
    return this.bytes;
  }

  append(data: string, bytes: number = Buffer.byteLength(data)): LinkEvent {
    const ev: LinkEvent = { id: ++this.lastId, data, bytes };
    this.events.push(ev);
    this.bytes += ev.bytes;
    // Keep at least the newest frame, even one larger than the whole bound: it has not been delivered yet.
    while (this.bytes > this.maxBytes && this.events.length - this.head > 1) this.dropOldest();
    this.compact();
    return ev;
  }

  /** Frames with id > `after`. */
  after(after: number): Replay {
    if (!Number.isSafeInteger(after) || after < 0 || after > this.lastId) {
      return { kind: 'gone', message: `event id ${after} was never sent on this link (last is ${this.lastId})` };
    }
    if (after < this.droppedThrough) {
      return { kind: 'gone', message: `event id ${after} is older than the replay buffer (frames up to ${this.droppedThrough} were dropped)` };
    }
    // Ids are contiguous, so the first wanted frame sits at a computable index.
    const first = this.events.length - (this.lastId - after);
    return { kind: 'ok', events: this.events.slice(Math.max(first, this.head)) };
  }

  /** The client has every frame up to `id`: drop them (poll `after`). */
  ackThrough(id: number): void {
    while (this.head < this.events.length && this.events[this.head]!.id <= id) this.dropOldest();
    if (id > this.droppedThrough && id <= this.lastId) this.droppedThrough = id;
    this.compact();
  }

  private dropOldest(): void {
    const ev = this.events[this.head++]!;
    this.bytes -= ev.bytes;
    this.droppedThrough = ev.id;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }
}

export interface HttpLinkOptions {
  kind: 'sse' | 'poll';
  owner: string;
  unattendedMs?: number;
  clock?: Clock;
  /** Called once, LINGER_MS after the close: the link can be forgotten. */
  onGone?: (link: HttpLink) => void;
  /** Put in front of the id with a `.` (scale-out: the replica holding the link, docs/scale-out.md). */
  idPrefix?: string;
}

export class HttpLink extends LinkBase {
  readonly id: string;
  readonly kind: 'sse' | 'poll';
  readonly owner: string;
  readonly buffer = new EventBuffer();

  private downstream: Downstream | undefined;
  private congested = false;
  private lastRequest: number;
  private timer: unknown;
  /** The link's timers, and those of its downstreams (sse-downstream.ts, poll-downstream.ts). */
  readonly clock: Clock;
  private readonly unattendedMs: number;

  constructor(private readonly o: HttpLinkOptions) {
    super();
    const random = randomBytes(16).toString('base64url');
    this.id = o.idPrefix ? `${o.idPrefix}.${random}` : random;
    this.kind = o.kind;
    this.owner = o.owner;
    this.clock = o.clock ?? realClock;
    this.unattendedMs = o.unattendedMs ?? UNATTENDED_LINK_MS;
    this.lastRequest = this.clock.now();
    this.armUnattended(this.unattendedMs);
  }

  send(frame: string, bytes?: number): boolean {
    if (!this.open) return false;
    const ev = this.buffer.append(frame, bytes);
    const pushed = this.downstream?.push(ev) ?? true;
    const ok = this.streaming() ? pushed : this.hasRoom();
    if (!ok) this.congested = true;
    return ok;
  }

  /**
   * An SSE stream carries frames away as they are written; otherwise (a poll link, or a
   * stream being reopened) they stay in the buffer until a poll acknowledges them.
   */
  private streaming(): boolean {
    return this.kind === 'sse' && this.downstream !== undefined;
  }

  private hasRoom(): boolean {
    return this.buffer.size < REPLAY_BUFFER_BYTES / 2;
  }

  /** A poll says the client has every frame up to `id`: they leave the buffer. */
  ackThrough(id: number): void {
    this.buffer.ackThrough(id);
    this.drained();
  }

  /** There may be room again: the SSE stream drained, a downstream attached, or a poll acknowledged frames. */
  drained(): void {
    if (!this.congested || !this.open) return;
    if (!this.streaming() && !this.hasRoom()) return;
    this.congested = false;
    this.ondrain?.();
  }

  /** One NDJSON POST body: each non-empty line is a frame, in order. Returns how many were taken. */
  receive(body: string): number {
    this.touch();
    let taken = 0;
    for (const raw of body.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      // A register refused by the first line closes the link: the rest has nowhere to go.
      if (!this.open) break;
      taken++;
      this.onmessage?.(line);
    }
    return taken;
  }

  /** Make `d` the link's downstream, ending the previous one. Returns its detach function. */
  attach(d: Downstream): () => void {
    this.touch();
    const old = this.downstream;
    this.downstream = d;
    old?.end('replaced');
    this.drained();
    return () => {
      if (this.downstream !== d) return;
      this.downstream = undefined;
      this.touch();
    };
  }

  /** Any request on the link counts as the client being there. */
  touch(): void {
    this.lastRequest = this.clock.now();
  }

  close(reason = 'closed by gateway'): void {
    this.finish({ reason });
  }

  protected released(): void {
    this.stopTimer();
    const d = this.downstream;
    this.downstream = undefined;
    d?.end('closed');
    this.timer = this.clock.setTimeout(() => this.o.onGone?.(this), LINGER_MS);
  }

  /** Like idle-guard: one lazily re-armed timer, checking the last request when it fires. */
  private armUnattended(ms: number): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.open) return;
      const idle = this.clock.now() - this.lastRequest;
      if (this.downstream === undefined && idle >= this.unattendedMs) {
        this.finish({ reason: `no stream, poll or POST for ${(idle / 1000).toFixed(1)} s: link abandoned` });
      } else {
        this.armUnattended(this.downstream === undefined ? this.unattendedMs - idle : this.unattendedMs);
      }
    }, ms);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Gateway shutdown: close and forget at once (no linger). */
  dispose(reason: string): void {
    this.finish({ reason });
    this.stopTimer();
  }
}
