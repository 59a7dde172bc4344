/**
 * A real redis-server for one test (Debian's), on a loopback port, in the foreground (the
 * test keeps its PID), with no persistence: `--bind 127.0.0.1 --save '' --appendonly no`
 * (NETWORK-FACTS.md). Stopped by PID; can be stopped and started again on the same port
 * (the "Redis down, Redis back" tests).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDaemon, stopAll, type Daemon } from './daemon.js';

const REDIS = '/usr/bin/redis-server';
const started = new Set<Daemon>();

export interface RedisServer {
  port: number;
  url: string;
  /** Stop it (SIGTERM, then SIGKILL), keeping the port for start(). */
  stop(): Promise<void>;
  /** Start it again on the same port (empty: no persistence). */
  start(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let daemon: Daemon | undefined;
  const start = async (): Promise<void> => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes'];
    // After a stop the port may linger briefly: retry a few times (bounded).
    for (let i = 0; ; i++) {
      try {
        daemon = await startDaemon({ name: 'redis-server', bin: REDIS, args, port, dir }, started);
        return;
      } catch (err) {
        if (i >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      await daemon?.stop();
      daemon = undefined;
    },
    start,
  };
}

export function stopAllRedis(): Promise<void> {
  return stopAll(started);
}
