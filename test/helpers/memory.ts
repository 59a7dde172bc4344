/**
 * Memory of a process started by a test, as the kernel counts it (resident set). The
 * tests assert generous byte bounds with it, never timings.
 */
import { readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

/** Resident set size of `pid` in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** The largest RSS seen over repeated samples. */
export class RssPeak {
  peak: number;
  constructor(private readonly pid: number) {
    this.peak = rssBytes(pid);
  }
  sample(): number {
    const now = rssBytes(this.pid);
    if (now > this.peak) this.peak = now;
    return now;
  }
}
