/**
 * Scale-out (docs/scale-out.md) with real parts: redis-server, two or three gateway
 * replicas sharing it, and nginx in front as a plain round-robin balancer (no stickiness).
 * Tunnel clients on ws, sse and poll connect through the balancer, so their POSTs and polls
 * land on other replicas than their streams; MCP clients too, so most calls are forwarded.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../src/gateway/http/auth.js';
import { startBalancer, stopAllBalancers, type Balancer } from '../helpers/balancer.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { connectMcp, firstText, fixture, spawnBin, startGateway, stopAll, waitFor, type GatewayProc, type Proc } from '../helpers/system.js';

const SECRET = 'scale-out-secret-0123456789abcdef';
const CHATTY = `node ${fixture('chatty-server.mjs')}`;

interface Cluster {
  redis: RedisServer;
  replicas: GatewayProc[];
  lb: Balancer;
  token: string;
}

async function startCluster(n: number, extra: string[] = []): Promise<Cluster> {
  const redis = await startRedis();
  const replicas = await Promise.all(Array.from({ length: n }, () => startGateway(['--jwt-secret', SECRET, '--redis', redis.url, ...extra])));
  const lb = await startBalancer(replicas.map((r) => r.port));
  const token = await mintToken({ username: 'carol', secret: SECRET });
  return { redis, replicas, lb, token };
}

function tunnel(c: Cluster, name: string, transport: 'ws' | 'sse' | 'poll', extra: string[] = []): Proc {
  return spawnBin(['--local-stdio', CHATTY, '--name', name, '--gateway', c.lb.url, '--transport', transport, '--reconnect-delay', '0.05', ...extra], {
    REVERSE_PROXY_TOKEN: c.token,
  });
}

async function servers(c: Cluster): Promise<Array<{ name: string; connected: boolean }>> {
  const res = await fetch(`${c.lb.url}/servers`, { headers: { authorization: `Bearer ${c.token}` } });
  if (!res.ok) return [];
  return ((await res.json()) as { servers: Array<{ name: string; connected: boolean }> }).servers;
}

function waitConnected(c: Cluster, names: string[]): Promise<boolean> {
  return waitFor(async () => {
    const list = await servers(c);
    return names.every((n) => list.some((s) => s.name === n && s.connected));
  }, `servers ${names.join(', ')} through the balancer`, 30_000);
}

describe('scale-out: replicas on Redis behind a round-robin balancer', () => {
  afterEach(async () => {
    await stopAll();
    await stopAllBalancers();
    await stopAllRedis();
  });
  after(stopAll);

  test('tunnels on ws, sse and poll; 4 MCP clients × 200 calls through the balancer: every call answered once with its own result', async () => {
    const c = await startCluster(2);
    tunnel(c, 'on-ws', 'ws');
    tunnel(c, 'on-sse', 'sse');
    tunnel(c, 'on-poll', 'poll');
    await waitConnected(c, ['on-ws', 'on-sse', 'on-poll']);
    const names = ['on-ws', 'on-sse', 'on-poll', 'on-sse'];
    const clients = await Promise.all(names.map((n, i) => connectMcp(c.lb.url, n, c.token, `lb${i}`)));
    const CALLS = 200;
    await Promise.all(
      clients.map(async (mcp, i) => {
        for (let k = 0; k < CALLS; k++) {
          const message = `c${i}-k${k}`;
          const res = await mcp.callTool({ name: 'echo', arguments: { message } });
          assert.equal(firstText(res), `Echo: ${message}`);
        }
      }),
    );
    // The balancer did spread the work: every replica served requests.
    const upstreams = new Set(c.lb.accessLog().map((l) => l.split(' ').at(-1)));
    assert.equal(upstreams.size, 2, `requests reached ${[...upstreams].join(', ')}`);
    await Promise.all(clients.map((m) => m.close()));
  });
});
