/**
 * A scale-out rig for one test: a real redis-server, N gateway replicas sharing it (the real
 * binary), and nginx in front as a plain round-robin balancer. Tunnel and MCP clients go
 * through the balancer. Everything is stopped by PID in the test's afterEach.
 */
import { mintToken } from '../../src/gateway/http/auth.js';
import { startBalancer, stopAllBalancers, type Balancer } from './balancer.js';
import { startRedis, stopAllRedis, type RedisServer } from './redis.js';
import { spawnBin, startGateway, stopAll, waitFor, type GatewayProc, type Proc } from './system.js';

export const CLUSTER_SECRET = 'scale-out-secret-0123456789abcdef';

export interface Replica extends GatewayProc {
  /** Its id in the cluster (from its `cluster_joined` log line). */
  id: string;
}

export interface ScaleOutRig {
  redis: RedisServer;
  replicas: Replica[];
  lb: Balancer;
  token: string;
}

export async function startScaleOut(n: number, extra: string[] = []): Promise<ScaleOutRig> {
  const redis = await startRedis();
  const replicas = await Promise.all(
    Array.from({ length: n }, async () => {
      const gw = await startGateway(['--jwt-secret', CLUSTER_SECRET, '--redis', redis.url, ...extra]);
      const id = await waitFor(() => /joined the cluster as replica (\S+)"/.exec(gw.stderr())?.[1], 'the replica id');
      return { ...gw, id };
    }),
  );
  const lb = await startBalancer(replicas.map((r) => r.port));
  const token = await mintToken({ username: 'carol', secret: CLUSTER_SECRET });
  return { redis, replicas, lb, token };
}

export async function stopScaleOut(): Promise<void> {
  await stopAll();
  await stopAllBalancers();
  await stopAllRedis();
}

export function tunnelThrough(rig: ScaleOutRig, command: string, name: string, transport: 'ws' | 'sse' | 'poll', extra: string[] = []): Proc {
  return spawnBin(['--local-stdio', command, '--name', name, '--gateway', rig.lb.url, '--transport', transport, '--reconnect-delay', '0.05', ...extra], {
    REVERSE_PROXY_TOKEN: rig.token,
  });
}

export interface ClusterServerEntry {
  name: string;
  sessionId: string;
  connected: boolean;
  replica: string;
}

export async function clusterServers(rig: ScaleOutRig): Promise<ClusterServerEntry[]> {
  const res = await fetch(`${rig.lb.url}/servers`, { headers: { authorization: `Bearer ${rig.token}` } }).catch(() => undefined);
  if (!res?.ok) return [];
  return ((await res.json()) as { servers: ClusterServerEntry[] }).servers;
}

/** Wait until every name is connected somewhere (optionally: on a replica `where` accepts). */
export function waitConnected(rig: ScaleOutRig, names: string[], where: (e: ClusterServerEntry) => boolean = () => true, timeoutMs = 30_000): Promise<ClusterServerEntry[]> {
  return waitFor(async () => {
    const list = await clusterServers(rig);
    const found = names.map((n) => list.find((s) => s.name === n && s.connected && where(s)));
    return found.every((f) => f !== undefined) ? (found as ClusterServerEntry[]) : undefined;
  }, `servers ${names.join(', ')} through the balancer`, timeoutMs);
}
