/**
 * A tunnel session's reliable state in Redis (docs/scale-out.md, "Failover"), so that its
 * client can resume it on another replica when this one dies:
 * - the gateway → client outbox: every frame queued, until the client acknowledges it —
 *   bounded in bytes by the channel's own --max-queue-bytes, since it mirrors that outbox;
 * - `inack`: the last seq delivered from the client.
 * The client keeps its own outbox and replays from whatever ack the new owner answers, so
 * nothing it sent needs to be here. Writes of one tick go out as one script call, fenced by
 * the generation: a replica that lost the session writes nothing.
 *
 * Writes are asynchronous: Redis may lag behind what the client saw. A takeover reconciles
 * with the client's own ack (failover.ts), and the inbox restore skips what was delivered
 * but not yet recorded (protocol/inbox.ts restore()).
 */
import type { Logger } from '../../observability/logger.js';
import type { SessionJournal } from '../tunnel/tunnel-cluster.js';
import type { RedisClient } from './redis-connection.js';
import { keys } from './cluster-keys.js';
import { luaScript } from './lua-script.js';

/**
 * KEYS: session, outbox. ARGV: replica, gen, inack|'' , trimThrough|'', firstSeq|'', bodies...
 * Returns 1, 0 when another replica holds the session (fenced), -1 when Redis lost its
 * record (cluster-tunnels.ts writes it again; until then writes are dropped).
 * Appends come first: an ack only ever covers frames queued before it.
 */
const WRITE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'replica') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'gen') ~= ARGV[2] then return 0 end
if ARGV[5] ~= '' then
  local len = redis.call('LLEN', KEYS[2])
  -- A write that failed left a hole: start the list over (failover.ts replays only a run without holes).
  if len == 0 or tonumber(redis.call('HGET', KEYS[1], 'base') or '0') + len ~= tonumber(ARGV[5]) then
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'base', ARGV[5])
  end
  for i = 6, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
  redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
end
if ARGV[4] ~= '' then
  local base = tonumber(redis.call('HGET', KEYS[1], 'base') or '1')
  local n = tonumber(ARGV[4]) - base + 1
  if n > 0 then
    redis.call('LTRIM', KEYS[2], n, -1)
    redis.call('HSET', KEYS[1], 'base', tonumber(ARGV[4]) + 1)
  end
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'inack', ARGV[3]) end
return 1
`);

export class RedisSessionJournal implements SessionJournal {
  private appended: string[] = [];
  private firstSeq = 0;
  private trimThrough = 0;
  private inack = 0;
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();
  private lost = false;
  /** One warning per outage, not one per write. */
  private failing = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly sessionId: string,
    private readonly replica: string,
    private readonly gen: number,
    private readonly log: Logger,
  ) {}

  queued(seq: number, body: string): void {
    if (this.appended.length === 0) this.firstSeq = seq;
    this.appended.push(body);
    this.schedule();
  }

  acked(peerAck: number): void {
    if (peerAck <= this.trimThrough) return;
    this.trimThrough = peerAck;
    this.schedule();
  }

  delivered(seq: number): void {
    this.inack = seq;
    this.schedule();
  }

  /** Everything recorded so far is in Redis (before a hand-over). */
  flush(): Promise<void> {
    this.scheduled = false;
    const appended = this.appended;
    const first = this.firstSeq;
    this.appended = [];
    const args: Array<string | number> = [this.replica, this.gen, this.inack || '', this.trimThrough || '', appended.length > 0 ? first : '', ...appended];
    const run = async (): Promise<void> => {
      if (this.lost) return;
      const r = await WRITE(this.redis, [keys.session(this.sessionId), keys.outbox(this.sessionId)], args).then(
        (v) => {
          this.failing = false;
          return v;
        },
        (err: unknown) => {
          if (!this.failing) this.log.warn({ event: 'journal_write_failed', sessionId: this.sessionId, err: err instanceof Error ? err.message : String(err) }, 'tunnel session state not written to Redis');
          this.failing = true;
          return 1;
        },
      );
      // Fenced: another replica took the session over.
      if (r === 0) this.lost = true;
    };
    // One write at a time, in order.
    this.writing = this.writing.then(run);
    return this.writing;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      if (this.scheduled) void this.flush();
    });
  }
}
