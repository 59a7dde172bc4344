/**
 * CPU time spent per process group during a measurement, from /proc/<pid>/stat (utime +
 * stime, in clock ticks of 1/100 s): it tells which process bounds the throughput.
 * Groups: the bridge (as counted for RSS), the MCP server subtree, and this bench process
 * (the MCP SDK client).
 */
import { readFileSync } from 'node:fs';
import { bridgePids, descendants } from './rss.js';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) ... utime(11) stime(12).
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

export interface CpuSnapshot {
  bridge: number;
  server: number;
  client: number;
  /** The bridge by process: gateway / tunnel-client / supergateway (a bound is read per process). */
  parts?: Record<string, number>;
}

/** Which bridge process a command line is. */
function role(cmd: string): string {
  if (cmd.includes('supergateway')) return 'supergateway';
  if (/\bgateway\b/.test(cmd) && !cmd.includes('--local-stdio')) return 'gateway';
  if (cmd.includes('--local-stdio')) return 'tunnel-client';
  return 'other';
}

export function cpuSnapshot(roots: number[], isServer: RegExp): CpuSnapshot {
  const bridgeList = bridgePids(roots, isServer);
  const parts: Record<string, number> = {};
  for (const p of bridgeList) parts[role(p.cmd)] = (parts[role(p.cmd)] ?? 0) + ticks(p.pid) * TICK_MS;
  const bridge = Object.values(parts).reduce((a, v) => a + v, 0);
  // A bridge's own command line names the server too (`--local-stdio "node …server-everything…"`,
  // supergateway's `--stdio "…"`): its processes are the bridge's, never the server's.
  const ours = new Set(bridgeList.map((p) => p.pid));
  const server = descendants([process.pid])
    .filter((pid) => !ours.has(pid) && isServer.test(cmdline(pid)))
    .reduce((a, pid) => a + ticks(pid), 0) * TICK_MS;
  const u = process.cpuUsage();
  return { bridge, server, client: (u.user + u.system) / 1000, parts };
}

/** Milliseconds of CPU per call in each group between two snapshots. */
export function cpuPerCall(a: CpuSnapshot, b: CpuSnapshot, calls: number): CpuSnapshot {
  const per = (x: number, y: number): number => Number(((y - x) / calls).toFixed(3));
  const parts: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.parts ?? {})) parts[k] = per(a.parts?.[k] ?? 0, v);
  return { bridge: per(a.bridge, b.bridge), server: per(a.server, b.server), client: per(a.client, b.client), parts };
}
