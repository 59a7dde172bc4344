/**
 * Syscalls of the bridge processes per call (not part of `make bench`):
 *   node --import tsx bench/bridge-syscalls.ts [tunnel-ws|tunnel-sse|…|supergateway-streamable-http] [calls]
 * Starts the scenario, warms it up, attaches `strace -c -f` to each bridge process (gateway
 * and tunnel client, or supergateway) and prints their reads, writes and wake-ups (epoll)
 * over `calls` calls at concurrency 32: how many socket writes a call costs each process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { concurrent, sequential } from './measure.js';
import { bridgePids } from './rss.js';
import { SCENARIOS, SERVER_CMD, start, type ScenarioName } from './scenarios.js';

const name = (process.argv[2] ?? 'tunnel-ws') as ScenarioName;
if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario ${name}: one of ${SCENARIOS.join(', ')}`);
const calls = Number(process.argv[3] ?? 5000);
const running = await start(name);
try {
  const call = async (): Promise<void> => {
    await running.client.callTool({ name: 'echo', arguments: { message: 'bench' } });
  };
  await sequential(call, 300);
  await concurrent(call, 1000, 32);
  const traced = bridgePids(running.roots, SERVER_CMD).map((p) => {
    const st = spawn('strace', ['-c', '-f', '-p', String(p.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let out = '';
    st.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    return { st, cmd: p.cmd, out: () => out };
  });
  await new Promise((r) => setTimeout(r, 800)); // strace attaches
  const rps = await concurrent(call, calls, 32);
  for (const t of traced) {
    t.st.kill('SIGINT');
    await once(t.st, 'exit');
    const lines = t.out().split('\n').filter((l) => /calls|total|write|read|epoll|sendmsg|recv/.test(l));
    console.log(`== ${t.cmd.slice(0, 100)} (${calls} calls, ${rps.toFixed(0)} calls/s)\n${lines.join('\n')}`);
  }
} finally {
  await running.stop();
}
