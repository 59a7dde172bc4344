/**
 * How many tunnel links (ws, sse, poll) one token subject may hold, and how many of them
 * may still be waiting for their `register`. Without it any token holder could fill the
 * gateway with links that never register (each costs a socket, timers, and for HTTP links
 * a replay buffer that lingers after the close). Checked before a WebSocket upgrade and
 * before an HTTP link is created; over either cap the request gets 429.
 *
 * A slot is taken when the link is created and released when it is gone for good (a
 * WebSocket's socket closed; an HTTP link forgotten after its linger time). Refusals are
 * logged rate-limited per subject: a flood of them must not become a flood of log lines.
 */
import type { Logger } from '../../../observability/logger.js';
import { clip } from '../../../observability/log-text.js';
import { refusalLog, type RateLimitedLog } from '../../../observability/rate-limited-log.js';
import type { Clock } from '../../../clock.js';

export interface LinkQuotaOptions {
  /** Links one subject may hold at once, registered or not (HTTP links count while they linger). */
  maxPerUser: number;
  /** Of those, links that have not registered yet. */
  maxPendingPerUser: number;
  logger: Logger;
  clock?: Clock;
}

/** One link's place in the quota. Both methods are idempotent. */
export interface LinkSlot {
  /** The link's register was accepted: it no longer counts as pending. */
  registered(): void;
  release(): void;
}

export class LinkQuota {
  /** Per subject: links held, and of those, links not registered yet. */
  private readonly held = new Map<string, { links: number; pending: number }>();
  private readonly refusals: RateLimitedLog;

  constructor(private readonly o: LinkQuotaOptions) {
    this.refusals = refusalLog(o.logger, 'link_refused', 'tunnel link refusal', o.clock);
  }

  /** A slot for one more `kind` link of `subject`, or the sentence saying why not (for a 429). */
  acquire(subject: string, kind: string): LinkSlot | string {
    const h = this.held.get(subject) ?? { links: 0, pending: 0 };
    const who = clip(subject, 80);
    const why =
      h.links >= this.o.maxPerUser
        ? `user ${who} already holds ${h.links} tunnel link(s), the maximum (--max-links-per-user ${this.o.maxPerUser})`
        : h.pending >= this.o.maxPendingPerUser
          ? `user ${who} already has ${h.pending} tunnel link(s) that have not registered yet, the maximum (--max-pending-links-per-user ${this.o.maxPendingPerUser})`
          : undefined;
    if (why !== undefined) {
      if (this.refusals.allow(subject)) this.o.logger.warn({ event: 'link_refused', owner: who, transport: kind, reason: why }, `${kind} link refused: ${why}`);
      return why;
    }
    h.links++;
    h.pending++;
    this.held.set(subject, h);
    let state: 'pending' | 'registered' | 'released' = 'pending';
    return {
      registered: () => {
        if (state !== 'pending') return;
        state = 'registered';
        h.pending--;
      },
      release: () => {
        if (state === 'released') return;
        if (state === 'pending') h.pending--;
        state = 'released';
        h.links--;
        if (h.links === 0) this.held.delete(subject);
      },
    };
  }
}
