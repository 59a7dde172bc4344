/**
 * Taking a tunnel session over from another replica (docs/scale-out.md, "Failover"): its
 * client reconnected through the balancer and landed here with `resume`.
 *
 * 1. The session's record must exist, belong to the same subject and name the same server
 *    (otherwise the register goes on as a fresh one, `resumed: false`, as on one gateway).
 * 2. The replica holding it is asked to let go (`trelease`): if alive, it writes out its
 *    journal and ends its copy (what it had in flight is answered with an error); if its
 *    process is gone, nobody answers the bus and we go on.
 * 3. The records are claimed with the next generation (compare-and-set on the one we
 *    read), which fences every later write of the former holder.
 * 4. The session is rebuilt here: the outbox frames past the client's ack (only an unbroken
 *    run from ack+1: frames past a hole were never seen by the client, and their seqs are
 *    used again), the next seq, the last inbound seq recorded. The client's register then
 *    resumes it as on one gateway: both sides replay past the other's ack.
 */
import type { Logger } from '../../observability/logger.js';
import type { RegisterEnvelope } from '../../protocol/envelope.js';
import { initializeResultOf, type InitializeResult } from '../../protocol/mcp-handshake.js';
import { RpcErrorCode } from '../../protocol/jsonrpc.js';
import type { ChannelMode } from '../../protocol/reliable-channel.js';
import { nameKey } from '../../protocol/server-name.js';
import type { Principal } from '../http/auth.js';
import type { SessionRegistry } from '../tunnel/session-registry.js';
import type { Admission } from '../tunnel/tunnel-cluster.js';
import type { ClusterTunnels } from './cluster-tunnels.js';
import { keys } from './cluster-keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis-connection.js';
import type { ReplicaBus } from './replica-bus.js';
import { RedisSessionJournal } from './session-journal.js';

export const RELEASE = 'trelease';
const RELEASE_WAIT_MS = 3000;

/** KEYS: session, name, userSessions, outbox. ARGV: expectedGen, replica, ttlMs, now, subject. Returns the new gen and the state. */
const TAKE = luaScript(`
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return false end
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'replica', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
local session = string.match(KEYS[1], 'session:(.*)$')
local holder = redis.call('HGET', KEYS[2], 'session')
if not holder or holder == session then
  redis.call('HSET', KEYS[2], 'name', redis.call('HGET', KEYS[1], 'name'), 'session', session, 'subject', ARGV[5], 'replica', ARGV[2], 'gen', gen)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
redis.call('ZADD', KEYS[3], tonumber(ARGV[4]) + tonumber(ARGV[3]), session)
return {gen, redis.call('HGET', KEYS[1], 'base') or '1', redis.call('HGET', KEYS[1], 'inack') or '0', redis.call('LRANGE', KEYS[4], 0, -1)}
`);

export interface FailoverOptions {
  redis: RedisClient;
  registry: SessionRegistry;
  bus: ReplicaBus;
  replica: string;
  ttlMs: number;
  logger: Logger;
  tunnels: () => ClusterTunnels;
}

export class Failover {
  constructor(private readonly o: FailoverOptions) {
    o.bus.answer(RELEASE, (m) => this.release(String(m.session)));
  }

  /** Take over the session `reg` resumes, or undefined when it is not one to take (fresh register). */
  async takeover(principal: Principal, reg: RegisterEnvelope): Promise<Admission | undefined> {
    const id = reg.resume!.sessionId;
    const rec = await this.o.redis.hgetall(keys.session(id));
    if (!rec.replica || rec.subject !== principal.subject || rec.name !== reg.server.name || rec.mode !== 'reliable') return undefined;
    if (rec.replica !== this.o.replica) {
      const r = await this.o.bus.call(rec.replica, RELEASE, { session: id }, RELEASE_WAIT_MS);
      if (r.kind === 'timeout') return { kind: 'refused', code: 'cluster_unavailable', message: 'the gateway replica holding this session did not hand it over; try again' };
    }
    const taken = (await TAKE(
      this.o.redis,
      [keys.session(id), keys.name(nameKey(reg.server.name)), keys.userSessions(principal.subject), keys.outbox(id)],
      [rec.gen ?? '', this.o.replica, this.o.ttlMs, Date.now(), principal.subject],
    )) as [number, string, string, string[]] | null;
    if (!taken) return { kind: 'refused', code: 'cluster_unavailable', message: 'another gateway replica took this session over at the same time; try again' };
    const [gen, baseText, inackText, bodies] = taken;
    const clientAck = reg.resume!.ack;
    const base = Number(baseText);
    // The unbroken run of frames from clientAck + 1 (see the top).
    const frames = base <= clientAck + 1 ? bodies.slice(clientAck + 1 - base).map((body, i) => ({ seq: clientAck + 1 + i, body })) : [];
    const server = JSON.parse(rec.server ?? '{}') as RegisterEnvelope['server'];
    // The register's own InitializeResult, or the one the gateway's initialize got (a register without serverInfo).
    const init = rec.init ? (JSON.parse(rec.init) as InitializeResult) : initializeResultOf(server);
    const journal = new RedisSessionJournal(this.o.redis, id, this.o.replica, gen, this.o.logger);
    const session = this.o.registry.adopt(
      { sessionId: id, owner: principal.subject, server, mode: rec.mode as ChannelMode, initializeResult: init },
      (s) => {
        s.channel.restore({ frames, nextSeq: clientAck + 1 + frames.length, inboundAck: Number(inackText) });
        this.o.tunnels().adopt(s, gen, journal);
      },
    );
    this.o.logger.info(
      { event: 'session_taken_over', sessionId: id, name: server.name, from: rec.replica, gen, replayable: frames.length, inboundAck: Number(inackText), clientAck },
      `took over tunnel session ${id} (${server.name}) from replica ${rec.replica}`,
    );
    void session;
    return { kind: 'go' };
  }

  /** Another replica takes our session over: write out its journal, then end our copy. */
  private async release(sessionId: string): Promise<Record<string, unknown>> {
    const s = this.o.registry.get(sessionId);
    if (!s) return { released: false };
    const tunnels = this.o.tunnels();
    await tunnels.flush(sessionId);
    tunnels.giveAway(sessionId);
    s.close({ kind: 'moved', message: `tunnel session for ${s.serverName} moved to another gateway replica`, rpcCode: RpcErrorCode.TunnelUnavailable });
    return { released: true };
  }
}
