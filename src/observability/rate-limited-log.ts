/**
 * "First N, then one summary line" for log lines a remote party can trigger at will (a
 * refused register, a bad frame): each key (a token subject, an event name) may write
 * `burst` lines per `intervalMs`; the rest are counted, and when the interval ends one
 * line says how many were suppressed. A key's window starts with its first line and is
 * forgotten when it ends, so the map only holds keys active in the last interval.
 */
import { realClock, type Clock } from '../clock.js';
import { clip } from './log-text.js';
import type { Logger } from './logger.js';

/** Refusals logged per subject and interval before the summary line takes over. */
export const REFUSAL_LOG_BURST = 5;
export const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Lines per peer-triggered event (bad_frame, client_error, …) and session logged per interval; then one summary. */
export const PEER_LOG_BURST = 10;
export const PEER_LOG_INTERVAL_MS = 60_000;

export interface RateLimitedLogOptions {
  /** Lines per key and interval written as they come. */
  burst: number;
  intervalMs: number;
  /** Called once at the end of a window in which `suppressed` > 0 lines were held back. */
  summary: (key: string, suppressed: number, intervalMs: number) => void;
  clock?: Clock;
}

interface Window {
  lines: number;
  suppressed: number;
}

export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();
  private readonly clock: Clock;

  constructor(private readonly o: RateLimitedLogOptions) {
    this.clock = o.clock ?? realClock;
  }

  /** Whether a line for `key` may be written now; if not, it is counted for the summary. */
  allow(key: string): boolean {
    let w = this.windows.get(key);
    if (!w) {
      w = { lines: 0, suppressed: 0 };
      this.windows.set(key, w);
      this.clock.setTimeout(() => this.end(key), this.o.intervalMs);
    }
    if (w.lines < this.o.burst) {
      w.lines++;
      return true;
    }
    w.suppressed++;
    return false;
  }

  /** Keys with an open window (tests: the map does not grow without bound). */
  get size(): number {
    return this.windows.size;
  }

  private end(key: string): void {
    const w = this.windows.get(key);
    this.windows.delete(key);
    if (w && w.suppressed > 0) this.o.summary(key, w.suppressed, this.o.intervalMs);
  }
}

/**
 * What a token holder can be refused at will (a register, a tunnel link), logged per
 * subject: REFUSAL_LOG_BURST lines per interval, then one `{event}_summary` line.
 */
export function refusalLog(logger: Logger, event: string, what: string, clock?: Clock): RateLimitedLog {
  return new RateLimitedLog({
    burst: REFUSAL_LOG_BURST,
    intervalMs: REFUSAL_LOG_INTERVAL_MS,
    ...(clock ? { clock } : {}),
    summary: (subject, suppressed, intervalMs) =>
      logger.warn(
        { event: `${event}_summary`, owner: clip(subject), suppressed },
        `${suppressed} more ${what}(s) for ${clip(subject)} in the last ${intervalMs / 1000} s not logged one by one`,
      ),
  });
}

/** Events one tunnel peer can trigger at will (a bad frame, an error it reports), logged per event name. */
export function peerEventLog(logger: Logger, clock?: Clock): RateLimitedLog {
  return new RateLimitedLog({
    burst: PEER_LOG_BURST,
    intervalMs: PEER_LOG_INTERVAL_MS,
    ...(clock ? { clock } : {}),
    summary: (event, suppressed, intervalMs) =>
      logger.warn({ event: `${event}_summary`, suppressed }, `${suppressed} more ${event} event(s) in the last ${intervalMs / 1000} s not logged one by one`),
  });
}
