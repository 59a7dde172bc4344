/**
 * Deterministic fake Clock (src/clock.ts): timers fire only when the test
 * advances time, in due order (ties in creation order). No real time is involved.
 */
import type { Clock } from '../../src/clock.js';

interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  /** The current fake time (ms). */
  time = 0;
  private nextId = 1;
  private timers = new Map<number, Timer>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Number of timers scheduled and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Advance time by ms, firing every timer that falls due (including ones scheduled meanwhile). */
  advance(ms: number): number {
    const end = this.time + ms;
    let fired = 0;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.timers.values()) {
        if (t.due <= end && (next === undefined || t.due < next.due || (t.due === next.due && t.id < next.id))) next = t;
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.time = Math.max(this.time, next.due);
      next.fn();
      fired++;
    }
    this.time = end;
    return fired;
  }
}
