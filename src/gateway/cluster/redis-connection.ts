/**
 * The replicas' shared Redis (docs/scale-out.md): two connections, one for commands and one
 * for pub/sub (a subscribed connection takes no other commands). ioredis is imported only
 * here and only when `--redis` is set, so a gateway without it never loads the library.
 *
 * Fail closed: commands are not queued while Redis is unreachable (`enableOfflineQueue:
 * false`, one try each) — a caller gets an error at once instead of a request that hangs
 * until Redis returns. `ready` says whether both connections are up; `/readyz` reports it.
 */
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import type { Logger } from '../../observability/logger.js';
import { redactUrl } from '../../observability/redact.js';

export type { RedisClient };

export interface RedisConnection {
  /** Commands (and Lua scripts). */
  readonly command: RedisClient;
  /** SUBSCRIBE only. */
  readonly subscriber: RedisClient;
  /** Both connections are up. */
  readonly ready: boolean;
  /** Called with each change of `ready`. */
  onReadyChange(fn: (ready: boolean) => void): void;
  close(): Promise<void>;
}

/** Reconnect quickly but not in a busy loop: 100 ms, 200 ms … capped at 2 s. */
const retryStrategy = (times: number): number => Math.min(100 * times, 2000);

export async function connectRedis(url: string, logger: Logger, connectTimeoutMs = 10_000): Promise<RedisConnection> {
  const { Redis } = await import('ioredis');
  const log = logger.child({ component: 'redis', redis: redactUrl(url) });
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy,
    connectTimeout: Math.min(connectTimeoutMs, 5000),
    enableAutoPipelining: true,
    connectionName: 'mcp-reverse-proxy',
  };
  const command = new Redis(url, options);
  // Subscriptions are made while connected; ioredis renews them after a reconnect.
  const subscriber = new Redis(url, { ...options, enableAutoPipelining: false });
  const listeners: Array<(ready: boolean) => void> = [];
  let ready = false;
  const update = (): void => {
    const now = command.status === 'ready' && subscriber.status === 'ready';
    if (now === ready) return;
    ready = now;
    if (now) log.info({ event: 'redis_ready' }, 'Redis connection ready');
    else log.error({ event: 'redis_down' }, 'Redis connection lost: refusing what needs it until it returns');
    for (const fn of listeners) fn(now);
  };
  let lastError = '';
  for (const client of [command, subscriber]) {
    client.on('ready', update);
    client.on('close', update);
    client.on('end', update);
    client.on('error', (err: Error) => {
      // One line per distinct error, not one per retry.
      if (err.message !== lastError) log.warn({ event: 'redis_error', err: err.message }, `Redis: ${err.message}`);
      lastError = err.message;
    });
  }
  try {
    await withTimeout(Promise.all([command.connect(), subscriber.connect()]), connectTimeoutMs, `Redis at ${redactUrl(url)} did not answer within ${connectTimeoutMs} ms`);
  } catch (err) {
    command.disconnect();
    subscriber.disconnect();
    throw err;
  }
  update();
  return {
    command,
    subscriber,
    get ready() {
      return ready;
    },
    onReadyChange: (fn) => listeners.push(fn),
    close: async () => {
      await Promise.allSettled([command.quit(), subscriber.quit()]);
      command.disconnect();
      subscriber.disconnect();
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
