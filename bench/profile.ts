/**
 * CPU profiles under load (not part of `make bench`):
 *   node --import tsx bench/profile.ts [ws|sse|poll|modern|modern-fetch|direct] [calls]
 * Runs the gateway, the tunnel client and the local MCP server (server-everything) each
 * with `node --cpu-prof` (not allowed in NODE_OPTIONS, so they are spawned here rather
 * than by spawnBin), drives `calls` echo calls at concurrency 32 from one MCP SDK client,
 * stops them gracefully so the profiles are written, and prints the top self-time
 * functions of each process. `direct` profiles only the server, behind the SDK's own
 * stdio transport (the floor the tunnel is compared with). PROFILE_STRACE=1 also counts
 * the server's syscalls (`strace -c`) during the measured calls. PROFILE_SEQ=1 makes the `calls`
 * sequential instead (the p50 path: every process woken for every call).
 * The raw .cpuprofile files stay in the printed directory (open them in Chrome DevTools).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { baseEnv, BIN, EVERYTHING_JS, waitFor, waitForServer } from '../test/helpers/system.js';
import { concurrent, sequential } from './measure.js';
import { descendants } from './rss.js';
import { ModernFetchClient } from './modern-fetch-client.js';
import { connectModern, httpClientTransport } from './scenarios.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

function top(prof: Profile, n = 25): string[] {
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

/**
 * Self time by kind: our code (dist/), packages (node_modules), Node's JavaScript (node:),
 * native calls named by V8 (writev, writeUtf8String, …: mostly syscalls), GC, the rest.
 */
function kinds(prof: Profile): string {
  const total = prof.samples.length || 1;
  const sum = new Map<string, number>();
  for (const node of prof.nodes) {
    const { functionName: fn, url } = node.callFrame;
    const kind =
      fn === '(idle)' ? 'idle'
      : fn === '(garbage collector)' ? 'gc'
      : url.includes('node_modules') ? 'packages'
      : url.includes('/dist/') ? 'ours'
      : url.startsWith('node:') ? 'node js'
      : url === '' && fn !== '' && !fn.startsWith('(') ? 'native (syscalls)'
      : 'other';
    sum.set(kind, (sum.get(kind) ?? 0) + (node.hitCount ?? 0));
  }
  return [...sum.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${((v / total) * 100).toFixed(1)} %`).join(', ');
}

const mode = process.argv[2] ?? 'ws';
const calls = Number(process.argv[3] ?? 20_000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-bench-prof-'));
const dirs = { gateway: path.join(dir, 'gateway'), client: path.join(dir, 'client'), server: path.join(dir, 'server') };
for (const d of Object.values(dirs)) mkdirSync(d);
// PROFILE_CPU=0: no --cpu-prof (its sampling signals perturb syscall counts and CPU times).
const cpuProf = (d: string): string[] => (process.env.PROFILE_CPU === '0' ? [] : ['--cpu-prof', `--cpu-prof-dir=${d}`]);
const serverArgs = [...cpuProf(dirs.server), EVERYTHING_JS, 'stdio'];
// PROFILE_BIN=/other/dist/cli/main.js profiles another build (before/after).
const bin = process.env.PROFILE_BIN ?? BIN;
const procs: ChildProcess[] = [];
function profiled(profDir: string, args: string[]): { proc: ChildProcess; out: () => string } {
  const proc = spawn(process.execPath, [...cpuProf(profDir), bin, ...args], { env: baseEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
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
/** utime and stime of a process (ms), from /proc/<pid>/stat. */
function cpuTimes(pid: number): { user: number; sys: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(f[11]) * 10, sys: Number(f[12]) * 10 };
}
/** The server's CPU per call (user/sys) and, with PROFILE_STRACE=1, `strace -c` of it while `fn` runs. */
async function straced<T>(serverPid: number | undefined, fn: () => Promise<T>): Promise<T> {
  if (serverPid === undefined) return fn();
  const t0 = cpuTimes(serverPid);
  try {
    return await stracedOnly(serverPid, fn);
  } finally {
    const t1 = cpuTimes(serverPid);
    const n = calls + 500;
    console.log(`server CPU ms/call: user ${((t1.user - t0.user) / n).toFixed(3)}, sys ${((t1.sys - t0.sys) / n).toFixed(3)}`);
  }
}
async function stracedOnly<T>(serverPid: number, fn: () => Promise<T>): Promise<T> {
  if (process.env.PROFILE_STRACE !== '1') return fn();
  const st = spawn('strace', ['-c', '-f', '-p', String(serverPid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  st.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise((r) => setTimeout(r, 500)); // strace attaches
  try {
    return await fn();
  } finally {
    st.kill('SIGINT');
    await once(st, 'exit');
    console.log(`\n== strace -c of the server over ${calls} calls\n${out}`);
  }
}
const load = async (client: Client): Promise<void> => {
  const call = async (): Promise<void> => {
    await client.callTool({ name: 'echo', arguments: { message: 'bench' } });
  };
  if (process.env.PROFILE_SEQ === '1') {
    // The sequential phase alone: p50's critical path, every process woken for every call.
    const seq = await sequential(call, calls);
    console.log(`${calls} sequential calls (${mode}): p50 ${seq.p50_ms.toFixed(3)} ms, ${seq.seq_rps.toFixed(0)} calls/s`);
    return;
  }
  await sequential(call, 500);
  const rps = await concurrent(call, calls, 32);
  console.log(`${calls} calls at concurrency 32 (${mode}): ${rps.toFixed(0)} calls/s`);
};
const serverPid = (roots: number[]): number | undefined =>
  descendants(roots).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server-everything');
    } catch {
      return false;
    }
  });
try {
  if (mode === 'direct') {
    const transport = new StdioClientTransport({ command: process.execPath, args: serverArgs, stderr: 'ignore', env: baseEnv() as Record<string, string> });
    const client = new Client({ name: 'bench-profile', version: '1.0.0' });
    await client.connect(transport);
    await straced(transport.pid ?? undefined, () => load(client));
    await client.close(); // stdin EOF: the server exits by itself and writes its profile
    await new Promise((r) => setTimeout(r, 1500));
  } else {
    const gw = profiled(dirs.gateway, ['gateway', '--no-auth', '--port', '0']);
    const url = await waitFor(() => /gateway listening on (\S+)/.exec(gw.out())?.[1], 'gateway to listen');
    // `modern`: the ws tunnel with an SDK v2 client pinned to 2026-07-28 (tunnel-ws-modern);
    // `modern-fetch`: the same wire from the bench's raw client (tunnel-ws-modern-fetch).
    const modern = mode === 'modern' || mode === 'modern-fetch';
    const transport = modern ? 'ws' : mode;
    const tunnel = profiled(dirs.client, ['--local-stdio', `node ${serverArgs.join(' ')}`, '--gateway', url, '--name', 'everything', '--transport', transport]);
    await waitForServer(url, undefined, 'everything', (s) => s.transport === transport);
    // The bench's own client transport (its fetch keeps POSTs off the shared AbortSignal).
    const endpoint = `${url}/servers/everything/mcp`;
    const mcp =
      mode === 'modern-fetch'
        ? (new ModernFetchClient(endpoint) as unknown as Client)
        : mode === 'modern'
        ? ((await connectModern(endpoint)) as unknown as Client)
        : new Client({ name: 'bench-profile', version: '1.0.0' });
    if (!modern) await mcp.connect(httpClientTransport(endpoint));
    await straced(serverPid([tunnel.proc.pid!]), () => load(mcp));
    await mcp.close();
    await stop(tunnel.proc);
    await stop(gw.proc);
  }
  for (const [name, d] of Object.entries(dirs)) {
    for (const f of process.env.PROFILE_CPU === '0' ? [] : readdirSync(d)) {
      const prof = JSON.parse(readFileSync(path.join(d, f), 'utf8')) as Profile;
      console.log(`\n== ${name}: ${path.join(d, f)}\n   by kind: ${kinds(prof)}`);
      for (const line of top(prof)) console.log(line);
    }
  }
} finally {
  for (const p of procs) p.kill('SIGKILL');
}
