/**
 * When to restart the local MCP server after it exits, as data (STYLE.md §3):
 *
 * - `never` (default): the child's exit ends the client, as before;
 * - `on-failure`: restart after a non-zero exit code or a signal;
 * - `always`: restart after any exit, even code 0.
 *
 * Restarts back off exponentially (from `baseDelayMs`, capped) and are limited by a
 * budget: at most `maxRestarts` within a sliding `windowMs`. A server that crashes in a
 * loop stops being restarted and the client fails with the last exit status, instead of
 * hammering the machine forever; a server that crashes once a day is restarted every time.
 */
import { backoffDelay } from './backoff.js';
import type { ExitInfo } from './local-server.js';

import type { RestartMode } from '../config/types.js';
export type { RestartMode };


export interface RestartPolicy {
  mode: RestartMode;
  /** Restarts allowed within `windowMs`. */
  maxRestarts: number;
  windowMs: number;
  /** First restart delay; doubles per restart inside the window, up to capMs. */
  baseDelayMs: number;
  capMs: number;
  random?: () => number;
}

export const RESTART_BASE_DELAY_MS = 200;
export const RESTART_CAP_MS = 30_000;

export type RestartDecision = { restart: true; delayMs: number; attempt: number } | { restart: false; reason: string };

export function isFailure(exit: ExitInfo): boolean {
  return exit.signal !== null || exit.code !== 0;
}

/** Remembers recent restarts; `decide()` is called once per child exit. */
export class RestartBudget {
  private readonly restarts: number[] = [];

  constructor(private readonly policy: RestartPolicy) {}

  /** Restarts inside the current window. */
  recent(now: number): number {
    while (this.restarts.length > 0 && now - this.restarts[0]! >= this.policy.windowMs) this.restarts.shift();
    return this.restarts.length;
  }

  decide(exit: ExitInfo, now: number): RestartDecision {
    const p = this.policy;
    if (p.mode === 'never') return { restart: false, reason: 'restart policy is never' };
    if (p.mode === 'on-failure' && !isFailure(exit)) return { restart: false, reason: 'exited with code 0 and the restart policy is on-failure' };
    const used = this.recent(now);
    if (used >= p.maxRestarts) {
      return { restart: false, reason: `restart budget used up (${p.maxRestarts} restarts within ${p.windowMs / 1000} s)` };
    }
    this.restarts.push(now);
    const attempt = used + 1;
    const delayMs = backoffDelay({ baseMs: p.baseDelayMs, capMs: p.capMs, ...(p.random ? { random: p.random } : {}) }, attempt);
    return { restart: true, delayMs, attempt };
  }
}
