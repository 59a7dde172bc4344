/**
 * Time, injected (STYLE.md §3): everything that waits, times out, retries or measures a
 * silence takes a Clock, so its tests run on fake time (test/protocol/fake-clock.ts)
 * instead of sleeping. `realClock` is Node's timers and Date.now.
 *
 * Real timers do not hold the process open (they are unref'd) unless `ref` is asked for:
 * only a wait that is the one thing keeping a client alive (the reconnect backoff, a child
 * restart delay) needs it.
 */

export interface TimerOptions {
  /** Keep the process running while the timer is pending (Node's ref). Default false. */
  ref?: boolean;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Call `fn` once, `ms` from now; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): unknown;
  /** Cancel a pending timer; an undefined or fired handle is ignored. */
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, options) {
    const t = setTimeout(fn, ms);
    if (options?.ref !== true) t.unref();
    return t;
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** A wait that can be cut short: `cancel()` resolves it at once. */
export interface Wait {
  readonly done: Promise<void>;
  cancel(): void;
}

/** Resolve after `ms` on `clock` (or at once on cancel()). */
export function wait(clock: Clock, ms: number, options?: TimerOptions): Wait {
  let cancel!: () => void;
  const done = new Promise<void>((resolve) => {
    const timer = clock.setTimeout(resolve, ms, options);
    cancel = () => {
      clock.clearTimeout(timer);
      resolve();
    };
  });
  return { done, cancel };
}
