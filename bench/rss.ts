/**
 * Memory of the *bridge* processes, read from /proc (Linux only).
 *
 * What is counted: each root pid (the gateway and the tunnel client for us; the
 * supergateway process for it) plus all of its descendants, EXCEPT the subtree of the
 * MCP server child (any process whose command line mentions `isServer`, e.g.
 * server-everything, and everything below it — supergateway starts its child through
 * `sh -c`, so the shell is excluded with it). The MCP server is the same program in every
 * scenario; only the bridge differs.
 *
 * Two figures:
 * - `hwmMb`: the sum of each counted process's VmHWM (its own peak RSS). Processes peak
 *   at different moments, so this is an upper bound of the simultaneous peak; it is the
 *   figure reported as `rss_mb`.
 * - `sampledPeakMb`: the highest sum of VmRSS seen by periodic sampling (a lower bound).
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface RssReading {
  hwmMb: number;
  sampledPeakMb: number;
  /** pids counted in the last reading (for the report's "what was counted"). */
  counted: Array<{ pid: number; cmd: string }>;
}

function readStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited meanwhile
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Children of every pid, from /proc/<pid>/stat's ppid field (one pass over /proc). */
function childrenMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name is in parentheses and may contain spaces: fields start after ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const list = map.get(ppid) ?? [];
    list.push(Number(entry));
    map.set(ppid, list);
  }
  return map;
}

/** The bridge processes under `roots`, without the MCP server subtree. */
export function bridgePids(roots: number[], isServer: RegExp): Array<{ pid: number; cmd: string }> {
  const kids = childrenMap();
  const out: Array<{ pid: number; cmd: string }> = [];
  const stack = [...roots];
  const seen = new Set<number>();
  while (stack.length > 0 && seen.size < 10_000) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const cmd = cmdline(pid);
    if (!roots.includes(pid) && isServer.test(cmd)) continue; // the MCP server and below: not ours
    out.push({ pid, cmd });
    stack.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/** All descendants of `roots` (for cleanup of detached grandchildren). */
export function descendants(roots: number[]): number[] {
  const kids = childrenMap();
  const out: number[] = [];
  const stack = roots.flatMap((r) => kids.get(r) ?? []);
  while (stack.length > 0 && out.length < 10_000) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/**
 * Samples the bridge tree's VmRSS every `everyMs` until stop(); stop() returns the reading.
 * The tree is re-scanned only every 10th sample: a scan reads all of /proc, which would
 * itself cost CPU that the measured processes compete for.
 */
export function sampleRss(roots: number[], isServer: RegExp, everyMs = 250): { stop(): RssReading } {
  let peakKb = 0;
  let pids = bridgePids(roots, isServer);
  let n = 0;
  const sample = (): void => {
    if (++n % 10 === 0) pids = bridgePids(roots, isServer);
    const sum = pids.reduce((a, p) => a + readStatusKb(p.pid, 'VmRSS'), 0);
    peakKb = Math.max(peakKb, sum);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    stop(): RssReading {
      clearInterval(timer);
      sample();
      const counted = bridgePids(roots, isServer);
      const hwmKb = counted.reduce((a, p) => a + readStatusKb(p.pid, 'VmHWM'), 0);
      return { hwmMb: hwmKb / 1024, sampledPeakMb: peakKb / 1024, counted };
    },
  };
}
