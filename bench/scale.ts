/**
 * `make bench`, section "scale" (docs/performance.md, "Scale"):
 * - one gateway holding many idle tunnels (fake peers over real WebSockets) and many idle
 *   2025-era MCP sessions: RSS per tunnel and per session, the registration rate, and the
 *   p50 of a call to one server while all of them are attached;
 * - N = 1, 2, 3 replicas on Redis behind nginx (round-robin): calls/s through the
 *   balancer against one gateway without Redis, and the cost of forwarding (a call sent to
 *   a replica that does not hold the tunnel vs one sent to the holder), as ratios.
 * Everything runs on this machine's cores, balancer and Redis included: the curve is what
 * the extra hops cost, not what more machines would add.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mintToken } from '../src/gateway/http/auth.js';
import { FakeTunnelPeer } from '../test/helpers/gateway-fake-peer.js';
import { startBalancer, stopAllBalancers } from '../test/helpers/balancer.js';
import { startRedis, stopAllRedis } from '../test/helpers/redis.js';
import { connectMcp, firstText, fixture, spawnBin, startGateway, stopAll, waitFor, type GatewayProc } from '../test/helpers/system.js';
import type { BenchConfig } from './config.js';
import { concurrent, round, sequential } from './measure.js';
import type { Extra } from './report.js';

const SECRET = 'bench-scale-secret-0123456789abcdef';
const CHATTY = `node ${fixture('chatty-server.mjs')}`;
const CAPS = ['--max-sessions-per-user', '100000', '--max-links-per-user', '100000', '--max-pending-links-per-user', '100000', '--max-mcp-sessions-per-user', '100000', '--max-connections', '15000'];

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Settle the heap a little before reading RSS (the gateway has no GC hook; wait for quiet). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 1500));

export async function idleCapacity(cfg: BenchConfig, log: (l: string) => void): Promise<Extra> {
  const tunnels = cfg.mode === 'quick' ? 100 : 1000;
  const sessions = cfg.mode === 'quick' ? 1000 : 10_000;
  const token = await mintToken({ username: 'bench', secret: SECRET });
  const gw = await startGateway(['--jwt-secret', SECRET, ...CAPS]);
  const out: Extra = {};
  const peers: FakeTunnelPeer[] = [];
  try {
    await settle();
    const base = rssKb(gw.proc.pid!);
    const t0 = performance.now();
    for (let i = 0; i < tunnels; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, tunnels - i) }, async (_, j) => {
          const peer = await FakeTunnelPeer.connect(gw.url, token);
          const ack = await peer.register({ name: `idle-${i + j}`, protocol: 'stdio', serverInfo: { name: 'fake', version: '1' }, capabilities: { tools: {} }, protocolVersion: '2025-06-18' });
          if (ack.type !== 'register_ack') throw new Error(`register refused: ${JSON.stringify(ack)}`);
          peers.push(peer);
        }),
      );
    }
    const regPerS = (tunnels / (performance.now() - t0)) * 1000;
    await settle();
    const withTunnels = rssKb(gw.proc.pid!);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'idle', version: '1' } } });
    await concurrent(
      async () => {
        const res = await fetch(`${gw.url}/servers/idle-0/mcp`, { method: 'POST', headers, body: init });
        await res.text();
        if (!res.headers.get('mcp-session-id')) throw new Error(`initialize answered ${res.status}`);
      },
      sessions,
      32,
    );
    await settle();
    const withSessions = rssKb(gw.proc.pid!);
    const mcp = await connectMcp(gw.url, 'idle-1', token, 'bench-scale');
    const seq = await sequential(async () => void (await mcp.callTool({ name: 'echo', arguments: { n: 1 } })), cfg.seqCalls);
    await mcp.close();
    Object.assign(out, {
      scale_idle_tunnels: tunnels,
      scale_idle_mcp_sessions: sessions,
      scale_rss_mb_base: round(base / 1024, 1),
      scale_rss_kb_per_tunnel: round((withTunnels - base) / tunnels, 1),
      scale_rss_kb_per_mcp_session: round((withSessions - withTunnels) / sessions, 2),
      scale_registrations_per_s: round(regPerS, 0),
      scale_p50_ms_call_with_all_attached: round(seq.p50_ms, 3),
    });
    log(`scale idle: ${tunnels} tunnels ${out.scale_rss_kb_per_tunnel} KB each, ${sessions} MCP sessions ${out.scale_rss_kb_per_mcp_session} KB each, ${out.scale_registrations_per_s} registrations/s, p50 ${out.scale_p50_ms_call_with_all_attached} ms`);
  } finally {
    await Promise.allSettled(peers.map((p) => p.terminate()));
    await gw.stop();
  }
  return out;
}

async function throughput(mcps: Client[], n: number): Promise<number> {
  let k = 0;
  return concurrent(async () => {
    const mcp = mcps[k++ % mcps.length]!;
    const message = `m${k}`;
    if (firstText(await mcp.callTool({ name: 'echo', arguments: { message } })) !== `Echo: ${message}`) throw new Error('wrong answer');
  }, n, 16);
}

export async function replicaCurve(cfg: BenchConfig, log: (l: string) => void): Promise<Extra> {
  const out: Extra = {};
  const n = cfg.concCalls;
  const token = await mintToken({ username: 'bench', secret: SECRET });
  let single = 0;
  for (const replicas of [0, 1, 2, 3]) {
    const redis = replicas > 0 ? await startRedis() : undefined;
    try {
      const gws: GatewayProc[] = await Promise.all(
        Array.from({ length: Math.max(1, replicas) }, () => startGateway(['--jwt-secret', SECRET, ...(redis ? ['--redis', redis.url] : [])])),
      );
      const lb = replicas > 0 ? await startBalancer(gws.map((g) => g.port)) : undefined;
      const front = lb?.url ?? gws[0]!.url;
      spawnBin(['--local-stdio', CHATTY, '--name', 'curve', '--gateway', front, '--transport', 'ws'], { REVERSE_PROXY_TOKEN: token });
      await waitFor(async () => (await fetch(`${front}/servers`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ servers: Array<{ name: string; replica?: string }> }>).catch(() => ({ servers: [] }))).servers.find((s) => s.name === 'curve'), 'the curve server');
      const mcps = await Promise.all(Array.from({ length: 8 }, (_, i) => connectMcp(front, 'curve', token, `curve${i}`)));
      await throughput(mcps, Math.min(200, n));
      const rps = await throughput(mcps, n);
      if (replicas === 0) single = rps;
      const label = replicas === 0 ? 'one_gateway_no_redis' : `${replicas}_replicas`;
      out[`scale_calls_per_s_${label}`] = round(rps, 0);
      if (replicas > 0) out[`scale_ratio_${label}_vs_one_gateway`] = round(rps / single, 2);
      await Promise.all(mcps.map((m) => m.close()));
      if (replicas >= 2) {
        // The cost of one forwarding hop: straight to a replica that holds the tunnel, or to one that does not.
        const list = (await (await fetch(`${front}/servers`, { headers: { authorization: `Bearer ${token}` } })).json()) as { servers: Array<{ name: string; replica: string }> };
        const holder = list.servers.find((s) => s.name === 'curve')!.replica;
        const byId = await Promise.all(gws.map(async (g) => ({ g, id: /joined the cluster as replica (\S+)"/.exec(g.stderr())?.[1] })));
        const owner = byId.find((x) => x.id === holder)!.g;
        const other = byId.find((x) => x.id !== holder)!.g;
        const local = await connectMcp(owner.url, 'curve', token, 'local');
        const remote = await connectMcp(other.url, 'curve', token, 'remote');
        const call = (m: Client) => async () => void (await m.callTool({ name: 'echo', arguments: { message: 'x' } }));
        await sequential(call(local), 50);
        await sequential(call(remote), 50);
        const l = await sequential(call(local), cfg.seqCalls);
        const r = await sequential(call(remote), cfg.seqCalls);
        out[`scale_p50_ms_local_${replicas}_replicas`] = round(l.p50_ms, 3);
        out[`scale_p50_ms_forwarded_${replicas}_replicas`] = round(r.p50_ms, 3);
        out[`scale_forwarding_cost_ratio_${replicas}_replicas`] = round(r.p50_ms / l.p50_ms, 2);
        await Promise.all([local.close(), remote.close()]);
      }
      log(`scale curve: ${replicas === 0 ? 'one gateway, no Redis' : `${replicas} replica(s)`}: ${round(rps, 0)} calls/s`);
    } finally {
      await stopAll();
      await stopAllBalancers();
      await stopAllRedis();
    }
  }
  return out;
}
