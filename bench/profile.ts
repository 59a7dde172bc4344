/**
 * CPU profile of the tunnel under load (not part of `make bench`):
 *   node --import tsx bench/profile.ts [ws|sse|poll] [calls]
 * Runs the gateway and the tunnel client with `node --cpu-prof` (not allowed in
 * NODE_OPTIONS, so they are spawned here rather than by spawnBin), drives
 * `calls` echo calls at concurrency 32 from one MCP SDK client, stops both gracefully so
 * the profiles are written, and prints the top self-time functions of each process.
 * The raw .cpuprofile files stay in the printed directory (open them in Chrome DevTools).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { baseEnv, BIN, connectMcp, EVERYTHING, waitFor, waitForServer } from '../test/helpers/system.js';
import { concurrent } from './measure.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

function top(file: string, n = 25): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const total = prof.samples.length || 1;
  const byFn = new Map<string, number>();
  for (const node of prof.nodes) {
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?node_modules\//, '~/').replace(/^file:\/\/.*?\/dist\//, 'dist/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (node.hitCount ?? 0));
  }
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
}

const transport = process.argv[2] ?? 'ws';
const calls = Number(process.argv[3] ?? 20_000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-bench-prof-'));
const gwDir = path.join(dir, 'gateway');
const clDir = path.join(dir, 'client');
const procs: ChildProcess[] = [];
function profiled(profDir: string, args: string[]): { proc: ChildProcess; out: () => string } {
  const proc = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, BIN, ...args], { env: baseEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(proc);
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { proc, out: () => out };
}
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await once(proc, 'exit');
  clearTimeout(t);
}
try {
  const gw = profiled(gwDir, ['gateway', '--no-auth', '--port', '0']);
  const url = await waitFor(() => /gateway listening on (\S+)/.exec(gw.out())?.[1], 'gateway to listen');
  const tunnel = profiled(clDir, ['--local-stdio', EVERYTHING, '--gateway', url, '--name', 'everything', '--transport', transport]);
  await waitForServer(url, undefined, 'everything', (s) => s.transport === transport);
  const mcp = await connectMcp(url, 'everything', undefined, 'bench-profile');
  const rps = await concurrent(async () => {
    await mcp.callTool({ name: 'echo', arguments: { message: 'bench' } });
  }, calls, 32);
  console.log(`${calls} calls at concurrency 32 over ${transport}: ${rps.toFixed(0)} calls/s`);
  await mcp.close();
  await stop(tunnel.proc);
  await stop(gw.proc);
  for (const [name, d] of [['gateway', gwDir], ['tunnel client (and its child)', clDir]] as const) {
    for (const f of readdirSync(d)) {
      console.log(`\n== ${name}: ${path.join(d, f)}`);
      for (const line of top(path.join(d, f))) console.log(line);
    }
  }
} finally {
  for (const p of procs) p.kill('SIGKILL');
}
