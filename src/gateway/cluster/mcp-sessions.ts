/**
 * 2025-era MCP sessions in Redis (docs/scale-out.md, "MCP sessions"): a record per session
 * (server, subject, the capabilities it declared), living as long as --mcp-session-idle
 * after its last use, and its resumable SSE events, bounded like one gateway's store
 * (--mcp-resume-bytes, at most MAX_EVENTS; the oldest go first and a replay that needs one
 * of them is refused). Any replica can then take a session up (mcp/mcp-endpoint.ts revive)
 * and replay its streams.
 *
 * A stream opened by another replica and replayed here (that replica was lost, or handed
 * the server's tunnel on) gets, after its events, a JSON-RPC error for each of its requests
 * that no event answered: the multiplexer that owed those answers is gone, and the client
 * would otherwise wait for them forever.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { rpcError, RpcErrorCode, type JsonRpcId } from '../../protocol/jsonrpc.js';
import type { McpSessionRecord, McpSessionStore } from '../mcp/session-store.js';
import { KEY_PREFIX, keys } from './cluster-keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis-connection.js';

const MAX_EVENTS = 4096;
const rec = (id: string) => `${KEY_PREFIX}mcp:${id}`;
const evList = (id: string) => `${KEY_PREFIX}mcp:${id}:events`;
const evMeta = (id: string) => `${KEY_PREFIX}mcp:${id}:streams`;
const userSet = keys.userMcpSessions;

/** KEYS: list, meta. ARGV: streamId, json, bytes, maxBytes, maxEvents, ttlMs. Returns the event number. */
const STORE = luaScript(`
local n = redis.call('HINCRBY', KEYS[2], '#n', 1)
redis.call('RPUSH', KEYS[1], n .. ' ' .. ARGV[3] .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])
local total = redis.call('HINCRBY', KEYS[2], '#bytes', ARGV[3])
while (total > tonumber(ARGV[4]) or redis.call('LLEN', KEYS[1]) > tonumber(ARGV[5])) and redis.call('LLEN', KEYS[1]) > 1 do
  local old = redis.call('LPOP', KEYS[1])
  local on, ob, os = string.match(old, '^(%d+) (%d+) (%S+) ')
  total = redis.call('HINCRBY', KEYS[2], '#bytes', -tonumber(ob))
  redis.call('HSET', KEYS[2], 'evicted:' .. os, on)
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return n
`);

export class RedisMcpSessions implements McpSessionStore {
  private readonly lastUsed = new Map<string, number>();
  private readonly subjects = new Map<string, string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly replica: string,
    private readonly o: { idleMs: number; resumeBytes: number },
  ) {}

  opened(id: string, r: McpSessionRecord): void {
    const fields = { server: r.server, subject: r.subject, ...(r.capabilities ? { caps: JSON.stringify(r.capabilities) } : {}) };
    const now = Date.now();
    void this.redis.multi().hset(rec(id), fields).pexpire(rec(id), this.o.idleMs).zadd(userSet(r.subject), now + this.o.idleMs, id).pexpire(userSet(r.subject), this.o.idleMs).exec().catch(() => {});
    this.lastUsed.set(id, now);
    this.subjects.set(id, r.subject);
  }

  async heldBy(subject: string): Promise<number> {
    return this.redis.zcount(userSet(subject), Date.now(), '+inf');
  }

  used(id: string, subject: string): void {
    this.subjects.set(id, subject);
    const now = Date.now();
    if (now - (this.lastUsed.get(id) ?? 0) < this.o.idleMs / 4) return;
    this.lastUsed.set(id, now);
    const m = this.redis.multi().pexpire(rec(id), this.o.idleMs).pexpire(evList(id), this.o.idleMs).pexpire(evMeta(id), this.o.idleMs);
    void m.zadd(userSet(subject), now + this.o.idleMs, id).pexpire(userSet(subject), this.o.idleMs).exec().catch(() => {});
  }

  closed(id: string): void {
    this.lastUsed.delete(id);
    const subject = this.subjects.get(id);
    this.subjects.delete(id);
    const m = this.redis.multi().del(rec(id), evList(id), evMeta(id));
    if (subject !== undefined) m.zrem(userSet(subject), id);
    void m.exec().catch(() => {});
  }

  async find(id: string): Promise<McpSessionRecord | undefined> {
    const h = await this.redis.hgetall(rec(id));
    if (!h.server || !h.subject) return undefined;
    return { server: h.server, subject: h.subject, ...(h.caps ? { capabilities: JSON.parse(h.caps) as Record<string, unknown> } : {}) };
  }

  events(sessionId: () => string | undefined, requestsOf: (streamId: string) => JsonRpcId[]): EventStore {
    const store: EventStore = {
      storeEvent: async (streamId: string, message: JSONRPCMessage): Promise<string> => {
        const id = sessionId()!;
        const json = JSON.stringify(message);
        // The priming event opens a stream: remember who opened it, for which requests.
        if (json === '{}') void this.redis.hset(evMeta(id), `req:${streamId}`, JSON.stringify({ r: this.replica, ids: requestsOf(streamId) })).catch(() => {});
        const bytes = json === '{}' ? 0 : Buffer.byteLength(json);
        const n = (await STORE(this.redis, [evList(id), evMeta(id)], [streamId, json, bytes, this.o.resumeBytes, MAX_EVENTS, this.o.idleMs])) as number;
        return `${streamId}.${n}`;
      },
      getStreamIdForEventId: async (eventId: string): Promise<string | undefined> => {
        const p = parseEventId(eventId);
        if (!p) return undefined;
        const evicted = await this.redis.hget(evMeta(sessionId()!), `evicted:${p.streamId}`);
        return Number(evicted ?? 0) > p.n ? undefined : p.streamId;
      },
      replayEventsAfter: async (lastEventId, { send }) => {
        const p = parseEventId(lastEventId);
        if (!p) return '';
        const id = sessionId()!;
        const [lines, meta] = await Promise.all([this.redis.lrange(evList(id), 0, -1), this.redis.hget(evMeta(id), `req:${p.streamId}`)]);
        const answered = new Set<unknown>();
        for (const line of lines) {
          const ev = parseLine(line);
          if (!ev || ev.streamId !== p.streamId) continue;
          const m = ev.message as { id?: unknown; method?: unknown };
          if (m.id !== undefined && m.method === undefined) answered.add(m.id);
          if (ev.n > p.n && ev.bytes > 0) await send(`${ev.streamId}.${ev.n}`, ev.message);
        }
        const opened = meta ? (JSON.parse(meta) as { r: string; ids: JsonRpcId[] }) : undefined;
        if (opened && opened.r !== this.replica) {
          for (const rid of opened.ids) {
            if (answered.has(rid)) continue;
            const error = rpcError(rid, RpcErrorCode.TunnelUnavailable, 'the gateway replica serving this request was lost; the call may or may not have run') as JSONRPCMessage;
            await send(await store.storeEvent(p.streamId, error), error);
          }
        }
        return p.streamId;
      },
    };
    return store;
  }
}

function parseEventId(id: string): { streamId: string; n: number } | undefined {
  const dot = id.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const n = Number(id.slice(dot + 1));
  return Number.isSafeInteger(n) && n > 0 ? { streamId: id.slice(0, dot), n } : undefined;
}

function parseLine(line: string): { n: number; bytes: number; streamId: string; message: JSONRPCMessage } | undefined {
  const m = /^(\d+) (\d+) (\S+) ([\s\S]*)$/.exec(line);
  if (!m) return undefined;
  return { n: Number(m[1]), bytes: Number(m[2]), streamId: m[3]!, message: JSON.parse(m[4]!) as JSONRPCMessage };
}
