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
}

export function cpuSnapshot(roots: number[], isServer: RegExp): CpuSnapshot {
  const bridge = bridgePids(roots, isServer).reduce((a, p) => a + ticks(p.pid), 0) * TICK_MS;
  const server = descendants([process.pid])
    .filter((pid) => isServer.test(cmdline(pid)))
    .reduce((a, pid) => a + ticks(pid), 0) * TICK_MS;
  const u = process.cpuUsage();
  return { bridge, server, client: (u.user + u.system) / 1000 };
}

/** Milliseconds of CPU per call in each group between two snapshots. */
export function cpuPerCall(a: CpuSnapshot, b: CpuSnapshot, calls: number): CpuSnapshot {
  const per = (x: number, y: number): number => Number(((y - x) / calls).toFixed(3));
  return { bridge: per(a.bridge, b.bridge), server: per(a.server, b.server), client: per(a.client, b.client) };
}
