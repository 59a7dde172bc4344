/**
 * The client's side of liveness (docs/protocol.md §1, `heartbeat`): a heartbeat to the
 * gateway every keepalive, and the gateway declared dead once it has been silent for
 * GATEWAY_SILENCE_KEEPALIVES of them (it answers every heartbeat, so silence that long
 * means an answer is missing). Checked every quarter keepalive, on the injected clock.
 */
import type { Clock } from '../clock.js';
import { GATEWAY_SILENCE_KEEPALIVES } from '../protocol/constants.js';

export interface KeepaliveOptions {
  keepaliveMs: number;
  clock: Clock;
  /** Time to send a heartbeat. */
  heartbeat: () => void;
  /** The gateway has been silent for `silentMs`: the link is to be given up (called once). */
  dead: (silentMs: number) => void;
}

export class Keepalive {
  private lastRx: number;
  private lastHeartbeat: number;
  private timer: unknown;
  private readonly tickMs: number;

  constructor(private readonly o: KeepaliveOptions) {
    this.lastRx = o.clock.now();
    this.lastHeartbeat = this.lastRx;
    this.tickMs = Math.max(50, Math.floor(o.keepaliveMs / 4));
    this.timer = o.clock.setTimeout(() => this.check(), this.tickMs);
  }

  /** A frame came from the gateway: it is alive. */
  heard(): void {
    this.lastRx = this.o.clock.now();
  }

  stop(): void {
    this.o.clock.clearTimeout(this.timer);
  }

  private check(): void {
    const now = this.o.clock.now();
    const silent = now - this.lastRx;
    if (silent > this.o.keepaliveMs * GATEWAY_SILENCE_KEEPALIVES) return this.o.dead(silent);
    if (now - this.lastHeartbeat >= this.o.keepaliveMs) {
      this.lastHeartbeat = now;
      this.o.heartbeat();
    }
    this.timer = this.o.clock.setTimeout(() => this.check(), this.tickMs);
  }
}
