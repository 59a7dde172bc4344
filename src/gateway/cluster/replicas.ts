/**
 * The replicas alive in the cluster: each one refreshes its liveness key and its place in
 * a sorted set (score = when it lapses) every HEARTBEAT_MS; one that stops for
 * REPLICA_TTL_MS is gone. `healthy` is false from the first failed heartbeat until the next
 * one succeeds (it feeds `/readyz`).
 */
import type { Logger } from '../../observability/logger.js';
import type { RedisConnection } from './redis-connection.js';
import { HEARTBEAT_MS, KEY_PREFIX, keys, REPLICA_TTL_MS } from './cluster-keys.js';

const SET = `${KEY_PREFIX}replicas`;

export class Replicas {
  private timer: NodeJS.Timeout | undefined;
  private healthy_ = false;

  constructor(
    private readonly redis: RedisConnection,
    readonly self: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get healthy(): boolean {
    return this.healthy_ && this.redis.ready;
  }

  async start(): Promise<void> {
    await this.beat();
    this.schedule();
  }

  async live(): Promise<string[]> {
    return this.redis.command.zrangebyscore(SET, this.now(), '+inf');
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.redis.command.del(keys.replica(this.self)), this.redis.command.zrem(SET, this.self)]);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.beat()
        .catch((err: unknown) => {
          if (this.healthy_) this.log.error({ event: 'cluster_heartbeat_failed', err: err instanceof Error ? err.message : String(err) }, 'replica heartbeat failed');
          this.healthy_ = false;
        })
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const now = this.now();
    const c = this.redis.command;
    await Promise.all([
      c.set(keys.replica(this.self), String(now), 'PX', REPLICA_TTL_MS),
      c.zadd(SET, now + REPLICA_TTL_MS, this.self),
      c.zremrangebyscore(SET, '-inf', now),
    ]);
    this.healthy_ = true;
  }
}
