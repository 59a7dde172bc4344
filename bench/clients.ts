/**
 * Which part of `tunnel-ws-modern` is the MCP client library (not part of `make bench`):
 *   node --import tsx bench/clients.ts [blocks]
 * ONE gateway, ONE ws tunnel, ONE server-everything, and three MCP clients on the same
 * endpoint: the SDK v1 client (2025-11-25 sessions: tunnel-ws), the SDK v2 client pinned to
 * 2026-07-28 (tunnel-ws-modern), and the bench's raw 2026-07-28 client (modern-fetch-client.ts:
 * tunnel-ws-modern-fetch). Blocks of sequential calls and of calls at concurrency 32 take
 * turns between the clients (the order rotates per block), so a burst of load from elsewhere
 * hits all three alike and process start-up is out of the figures. Per client: p50 over all
 * sequential calls, the median conc32 calls/s of the blocks, and CPU ms per call of this
 * process (the client), of the bridge (gateway + tunnel client) and of the server.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { BIN, EVERYTHING, REPO, spawnBin, startGateway, stopAll, waitForServer } from '../test/helpers/system.js';
import { cpuSnapshot, type CpuSnapshot } from './cpu.js';
import { concurrent, median, percentile, round, sequential } from './measure.js';
import { ModernFetchClient } from './modern-fetch-client.js';
import { connectModern, httpClientTransport, SERVER_CMD, type EchoClient } from './scenarios.js';

const blocks = Number(process.argv[2] ?? 8);
const SEQ = 200;
const CONC = 800;

interface Tally {
  lat: number[];
  rps: number[];
  calls: number;
  cpu: CpuSnapshot;
}

async function main(): Promise<void> {
  const gw = await startGateway(['--no-auth']);
  const tunnel = spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', 'everything', '--transport', 'ws'], {}, REPO, BIN);
  await waitForServer(gw.url, undefined, 'everything', (s) => s.transport === 'ws', 30_000);
  const url = `${gw.url}/servers/everything/mcp`;
  const v1 = new Client({ name: 'bench', version: '1.0.0' });
  await v1.connect(httpClientTransport(url));
  const clients: Array<[string, EchoClient]> = [
    ['sdk-v1 (2025-11-25, tunnel-ws)', v1],
    ['sdk-v2 (2026-07-28, tunnel-ws-modern)', await connectModern(url)],
    ['fetch (2026-07-28, tunnel-ws-modern-fetch)', new ModernFetchClient(url)],
  ];
  const roots = [gw.proc.pid!, tunnel.proc.pid!];
  const tallies = new Map<string, Tally>(clients.map(([n]) => [n, { lat: [], rps: [], calls: 0, cpu: { bridge: 0, server: 0, client: 0 } }]));
  for (const [, c] of clients) {
    const call = async (): Promise<void> => void (await c.callTool({ name: 'echo', arguments: { message: 'bench' } }));
    await sequential(call, 300);
    await concurrent(call, 300, 32);
  }
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < clients.length; i++) {
      const [name, c] = clients[(b + i) % clients.length]!;
      const t = tallies.get(name)!;
      const lat: number[] = [];
      const timed = async (): Promise<void> => {
        const s = performance.now();
        await c.callTool({ name: 'echo', arguments: { message: 'bench' } });
        lat.push(performance.now() - s);
      };
      const before = cpuSnapshot(roots, SERVER_CMD);
      await sequential(timed, SEQ);
      t.lat.push(...lat);
      t.rps.push(await concurrent(async () => void (await c.callTool({ name: 'echo', arguments: { message: 'bench' } })), CONC, 32));
      const after = cpuSnapshot(roots, SERVER_CMD);
      t.calls += SEQ + CONC;
      for (const k of ['bridge', 'server', 'client'] as const) t.cpu[k] += after[k] - before[k];
    }
    console.error(`clients: block ${b + 1}/${blocks} done`);
  }
  console.log(`| client (one gateway, ${blocks} blocks of ${SEQ} sequential + ${CONC} at conc32 each) | p50 ms | conc32 calls/s (median) | CPU ms/call bridge / server / client |`);
  console.log('|---|---:|---:|---|');
  for (const [name] of clients) {
    const t = tallies.get(name)!;
    const sorted = [...t.lat].sort((a, b) => a - b);
    const per = (k: 'bridge' | 'server' | 'client'): number => round(t.cpu[k] / t.calls, 3);
    console.log(`| ${name} | ${round(percentile(sorted, 50), 3)} | ${round(median(t.rps), 0)} | ${per('bridge')} / ${per('server')} / ${per('client')} |`);
  }
  for (const [, c] of clients) await c.close();
}

main()
  .catch((err: unknown) => {
    console.error('clients failed:', err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    setTimeout(() => process.exit(), 200).unref();
  });
