/**
 * Dead-link detection by wrapping (any link kind): if nothing arrives for `idleMs`, the
 * link is closed. The client heartbeats every `keepalive` seconds; we allow
 * CLIENT_SILENCE_KEEPALIVES (2.5) of those before declaring the peer dead, so one lost
 * heartbeat is not fatal.
 *
 * One timer per link, re-armed lazily: every frame only stamps `lastSeen`, and the timer
 * checks the stamp when it fires, so a busy link costs no timer churn.
 */
import type { TransportCloseInfo, TunnelLink } from '../../../transport/transport.js';
import { realClock, type Clock } from '../../../clock.js';
import { CLIENT_SILENCE_KEEPALIVES, DEFAULT_KEEPALIVE_S } from '../../../protocol/constants.js';
import { LinkWrapper } from './link.js';

export function idleTimeoutMs(keepaliveSeconds: number | undefined): number {
  const k = typeof keepaliveSeconds === 'number' && keepaliveSeconds > 0 ? keepaliveSeconds : DEFAULT_KEEPALIVE_S;
  return Math.round(k * CLIENT_SILENCE_KEEPALIVES * 1000);
}

export class IdleGuardedLink extends LinkWrapper {
  private lastSeen: number;
  private timer: unknown;
  private ended = false;

  constructor(
    inner: TunnelLink,
    private idleMs: number,
    private readonly clock: Clock = realClock,
  ) {
    super(inner);
    this.lastSeen = clock.now();
    this.arm(idleMs);
  }

  protected override received(frame: string): void {
    this.lastSeen = this.clock.now();
    super.received(frame);
  }

  protected override closed(info: TransportCloseInfo): void {
    this.ended = true;
    this.stop();
    super.closed(info);
  }

  /** The peer told us its keepalive: re-arm with the matching allowance. */
  setIdleTimeout(ms: number): void {
    this.idleMs = ms;
    this.stop();
    if (!this.ended) this.arm(Math.max(0, this.lastSeen + ms - this.clock.now()));
  }

  override close(reason?: string, code?: number): void {
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
