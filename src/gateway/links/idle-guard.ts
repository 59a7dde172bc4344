/**
 * Dead-link detection by wrapping (any link kind): if nothing arrives for `idleMs`, the
 * link is closed. The client heartbeats every `keepalive` seconds; we allow 2.5 of those
 * before declaring the peer dead, so one lost heartbeat is not fatal.
 *
 * One timer per link, re-armed lazily: every frame only stamps `lastSeen`, and the timer
 * checks the stamp when it fires, so a busy link costs no timer churn.
 */
import type { TransportCloseInfo, TunnelLink } from '../../transport/transport.js';
import { realClock, type Clock } from '../../clock.js';

/** Silence allowed, in keepalive intervals. */
export const DEAD_AFTER_KEEPALIVES = 2.5;
/** Client keepalive assumed when `register` advertises none (s). */
export const DEFAULT_CLIENT_KEEPALIVE_S = 30;

export function idleTimeoutMs(keepaliveSeconds: number | undefined): number {
  const k = typeof keepaliveSeconds === 'number' && keepaliveSeconds > 0 ? keepaliveSeconds : DEFAULT_CLIENT_KEEPALIVE_S;
  return Math.round(k * DEAD_AFTER_KEEPALIVES * 1000);
}

export class IdleGuardedLink implements TunnelLink {
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  ondrain?: () => void;

  private lastSeen: number;
  private timer: unknown;
  private closed = false;

  constructor(
    private readonly inner: TunnelLink,
    private idleMs: number,
    private readonly clock: Clock = realClock,
  ) {
    this.lastSeen = clock.now();
    inner.onmessage = (frame) => {
      this.lastSeen = this.clock.now();
      this.onmessage?.(frame);
    };
    inner.onclose = (info) => {
      this.closed = true;
      this.stop();
      this.onclose?.(info);
    };
    inner.ondrain = () => this.ondrain?.();
    this.arm(idleMs);
  }

  get kind(): TunnelLink['kind'] {
    return this.inner.kind;
  }

  /** The peer told us its keepalive: re-arm with the matching allowance. */
  setIdleTimeout(ms: number): void {
    this.idleMs = ms;
    this.stop();
    if (!this.closed) this.arm(Math.max(0, this.lastSeen + ms - this.clock.now()));
  }

  send(frame: string): boolean {
    return this.inner.send(frame);
  }

  close(reason?: string, code?: number): void {
    this.stop();
    this.inner.close(reason, code);
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      const silent = this.clock.now() - this.lastSeen;
      if (silent >= this.idleMs) {
        this.inner.close(`no frame from the peer for ${(silent / 1000).toFixed(1)} s: link presumed dead`);
      } else {
        this.arm(this.idleMs - silent);
      }
    }, ms);
  }

  private stop(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
