/**
 * Who holds what, cluster-wide (docs/scale-out.md, "Ownership"): a server name and its
 * tunnel session belong to the replica the tunnel is attached to. The records carry a
 * generation: a takeover (failover.ts) raises it, and every write of the former owner is
 * checked against it (fenced), so a replica that lost its session cannot clobber it.
 *
 * Records live as long as the resume window after the last refresh: a tunnel whose replica
 * died keeps its name (and its reliable state) exactly as long as on one gateway.
 */
import type { RedisClient } from './redis-connection.js';
import { keys } from './cluster-keys.js';
import { luaScript } from './lua-script.js';

export interface NameHolder {
  name: string;
  session: string;
  subject: string;
  replica: string;
  gen: number;
}

/**
 * Claim a name for a new session. Refuses when another session holds it, unless that one
 * is `replacing` (the same subject's, which the caller already ended).
 * KEYS: name, session, userSessions. ARGV: name, session, subject, replica, ttlMs, now, replacing, server, mode.
 */
const CLAIM = luaScript(`
local cur = redis.call('HGET', KEYS[1], 'session')
if cur and cur ~= ARGV[2] and cur ~= ARGV[7] then
  return {'held', redis.call('HGET', KEYS[1], 'subject'), redis.call('HGET', KEYS[1], 'name')}
end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'session', ARGV[2], 'subject', ARGV[3], 'replica', ARGV[4], 'gen', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], 'name', ARGV[1], 'subject', ARGV[3], 'replica', ARGV[4], 'gen', 1, 'server', ARGV[8], 'mode', ARGV[9])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], tonumber(ARGV[6]) + tonumber(ARGV[5]), ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return {'ok'}
`);

/**
 * Refresh what this replica holds, only where it still holds it: 1; another replica took
 * it over: 0; the record is gone (Redis lost its data, e.g. restarted without persistence): -1.
 * KEYS: name, session, userSessions, outbox. ARGV: session, replica, gen, ttlMs, now.
 */
const REFRESH = luaScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if redis.call('HGET', KEYS[2], 'replica') ~= ARGV[2] or redis.call('HGET', KEYS[2], 'gen') ~= ARGV[3] then return 0 end
if redis.call('HGET', KEYS[1], 'session') == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
redis.call('ZADD', KEYS[3], tonumber(ARGV[5]) + tonumber(ARGV[4]), ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1
`);

/**
 * Write the records of a session this replica holds again, after Redis lost them: the name
 * (unless another session claimed it meanwhile), the session with its generation, and an
 * empty outbox starting at the next seq (a takeover then continues the numbering).
 * KEYS: name, session, userSessions, outbox. ARGV: name, session, subject, replica, gen, ttlMs, now, server, mode, inack, base.
 */
const REASSERT = luaScript(`
local cur = redis.call('HGET', KEYS[1], 'session')
if cur and cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'session', ARGV[2], 'subject', ARGV[3], 'replica', ARGV[4], 'gen', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[2], 'name', ARGV[1], 'subject', ARGV[3], 'replica', ARGV[4], 'gen', ARGV[5], 'server', ARGV[8], 'mode', ARGV[9], 'inack', ARGV[10], 'base', ARGV[11])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], tonumber(ARGV[7]) + tonumber(ARGV[6]), ARGV[2])
return 1
`);

/** Compare-and-delete: forget a session (and its name) only while this replica holds it. KEYS as REFRESH. ARGV: session, replica, gen. */
const RELEASE = luaScript(`
if redis.call('HGET', KEYS[2], 'replica') ~= ARGV[2] or redis.call('HGET', KEYS[2], 'gen') ~= ARGV[3] then return 0 end
if redis.call('HGET', KEYS[1], 'session') == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`);

export type ClaimOutcome = { kind: 'ok' } | { kind: 'held'; subject: string; name: string };

export class Ownership {
  constructor(
    private readonly redis: RedisClient,
    readonly replica: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async nameHolder(nameKey: string): Promise<NameHolder | undefined> {
    const h = await this.redis.hgetall(keys.name(nameKey));
    if (!h.session || !h.replica) return undefined;
    return { name: h.name ?? '', session: h.session, subject: h.subject ?? '', replica: h.replica, gen: Number(h.gen ?? 0) };
  }

  /** The replica holding a tunnel session, if any. */
  async sessionReplica(sessionId: string): Promise<string | undefined> {
    return (await this.redis.hget(keys.session(sessionId), 'replica')) ?? undefined;
  }

  /** The subject's live tunnel sessions over all replicas. */
  async sessionsOf(subject: string): Promise<string[]> {
    return this.redis.zrangebyscore(keys.userSessions(subject), this.now(), '+inf');
  }

  async claim(
    s: { nameKey: string; name: string; sessionId: string; subject: string; server: string; mode: string },
    replacing: string | undefined,
  ): Promise<ClaimOutcome> {
    const r = (await CLAIM(
      this.redis,
      [keys.name(s.nameKey), keys.session(s.sessionId), keys.userSessions(s.subject)],
      [s.name, s.sessionId, s.subject, this.replica, this.ttlMs, this.now(), replacing ?? '', s.server, s.mode],
    )) as string[];
    return r[0] === 'ok' ? { kind: 'ok' } : { kind: 'held', subject: r[1] ?? '', name: r[2] ?? '' };
  }

  async refresh(s: { nameKey: string; sessionId: string; subject: string; gen: number }): Promise<'held' | 'lost' | 'forgotten'> {
    const r = await REFRESH(this.redis, this.keysOf(s), [s.sessionId, this.replica, s.gen, this.ttlMs, this.now()]);
    return r === 1 ? 'held' : r === 0 ? 'lost' : 'forgotten';
  }

  /** After Redis lost our records: write them again (false: the name went to another session meanwhile). */
  async reassert(
    s: { nameKey: string; sessionId: string; subject: string; gen: number },
    state: { name: string; server: string; mode: string; inack: number; nextSeq: number },
  ): Promise<boolean> {
    const r = await REASSERT(this.redis, this.keysOf(s), [
      state.name,
      s.sessionId,
      s.subject,
      this.replica,
      s.gen,
      this.ttlMs,
      this.now(),
      state.server,
      state.mode,
      state.inack,
      state.nextSeq,
    ]);
    return r === 1;
  }

  async release(s: { nameKey: string; sessionId: string; subject: string; gen: number }): Promise<void> {
    await RELEASE(this.redis, this.keysOf(s), [s.sessionId, this.replica, s.gen]);
  }

  private keysOf(s: { nameKey: string; sessionId: string; subject: string }): string[] {
    return [keys.name(s.nameKey), keys.session(s.sessionId), keys.userSessions(s.subject), keys.outbox(s.sessionId)];
  }
}
