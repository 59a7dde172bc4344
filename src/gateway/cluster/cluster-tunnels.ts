/**
 * The tunnel side of a replica in the cluster (docs/scale-out.md, "Ownership"): decides a
 * `register` against what every replica holds (tunnel/tunnel-cluster.ts), claims the name
 * and session of each new local session, keeps the claims alive while the session lives
 * here, and releases them (compare-and-delete) when it ends.
 *
 * - another subject's name, anywhere: `name_taken`, as on one gateway;
 * - the same subject's name on another replica: that replica ends its session
 *   (`session_replaced`, as on one gateway), then the name is claimed here;
 * - `--max-sessions-per-user` counts the subject's sessions on every replica;
 * - a resume of a session another replica held: failover.ts takes it over.
 */
import type { Logger } from '../../observability/logger.js';
import type { RegisterEnvelope } from '../../protocol/envelope.js';
import { nameKey } from '../../protocol/server-name.js';
import { RpcErrorCode } from '../../protocol/jsonrpc.js';
import type { Principal } from '../http/auth.js';
import type { SessionRegistry } from '../tunnel/session-registry.js';
import type { TunnelSession } from '../tunnel/tunnel-session.js';
import type { Admission, TunnelCluster } from '../tunnel/tunnel-cluster.js';
import type { Ownership } from './ownership.js';
import { keys } from './cluster-keys.js';
import type { ReplicaBus } from './replica-bus.js';
import { RedisSessionJournal } from './session-journal.js';
import type { RedisClient } from './redis-connection.js';

const REPLACE = 'treplace';
const REPLACE_WAIT_MS = 3000;

export interface ClusterTunnelsOptions {
  registry: SessionRegistry;
  redis: RedisClient;
  ownership: Ownership;
  bus: ReplicaBus;
  maxSessionsPerUser: number;
  /** How often the claims of local sessions are refreshed (ms). */
  refreshMs: number;
  logger: Logger;
  /** Takes over a session another replica held (failover.ts); absent: such a resume starts fresh. */
  takeover?: (principal: Principal, reg: RegisterEnvelope) => Promise<Admission | undefined>;
}

interface Held {
  nameKey: string;
  sessionId: string;
  subject: string;
  gen: number;
  journal: RedisSessionJournal;
}

export class ClusterTunnels implements TunnelCluster {
  /** Local sessions whose claim is in Redis, by session id. */
  private readonly held = new Map<string, Held>();
  /** nameKey → the session on another replica a register here is replacing. */
  private readonly replacing = new Map<string, string>();
  /** Sessions this replica gave away (moved): their end must not release the records. */
  private readonly givenAway = new Set<string>();
  private refresher: NodeJS.Timeout | undefined;

  constructor(private readonly o: ClusterTunnelsOptions) {
    o.registry.on('registered', (s) => void this.claim(s));
    o.registry.on('closed', (s) => void this.release(s));
    // A takeover needs the InitializeResult the gateway's own initialize got (a register without serverInfo).
    o.registry.on('ready', (s) => {
      if (s.initializeResult && this.held.has(s.sessionId)) void o.redis.hset(keys.session(s.sessionId), 'init', JSON.stringify(s.initializeResult)).catch(() => {});
    });
    o.bus.answer(REPLACE, async (m) => this.replaceHere(String(m.session)));
    this.scheduleRefresh();
  }

  /** A session taken over with generation `gen` (failover.ts): held here from now on, journaled. */
  adopt(session: TunnelSession, gen: number, journal: RedisSessionJournal): void {
    this.held.set(session.sessionId, { nameKey: nameKey(session.serverName), sessionId: session.sessionId, subject: session.owner, gen, journal });
    session.setJournal(journal);
  }

  /** Write out what the session's journal has not written yet. */
  async flush(sessionId: string): Promise<void> {
    await this.held.get(sessionId)?.journal.flush();
  }

  /**
   * Shutting down (a rolling upgrade): every session's journal written out and its records
   * left in Redis, so its client resumes on another replica instead of starting over.
   */
  async handOver(): Promise<void> {
    const held = [...this.held.values()];
    await Promise.allSettled(held.map((h) => h.journal.flush()));
    for (const h of held) this.giveAway(h.sessionId);
  }

  /** This replica handed the session to another one: forget the claim, never release it. */
  giveAway(sessionId: string): void {
    this.givenAway.add(sessionId);
    this.held.delete(sessionId);
  }

  async admit(principal: Principal, reg: RegisterEnvelope): Promise<Admission> {
    if (reg.resume && !this.o.registry.get(reg.resume.sessionId) && this.o.takeover) {
      const taken = await this.o.takeover(principal, reg);
      if (taken) return taken;
    }
    const name = reg.server.name;
    const key = nameKey(name);
    const holder = await this.o.ownership.nameHolder(key);
    let replaced: string | undefined;
    if (holder && holder.replica !== this.o.ownership.replica) {
      if (holder.subject !== principal.subject) {
        const how = holder.name === name ? '' : ' (names are compared without regard to case)';
        return { kind: 'refused', code: 'name_taken', message: `server name ${name} is registered by another user${how}` };
      }
      if (holder.name !== name) {
        return {
          kind: 'refused',
          code: 'name_taken',
          message: `server name ${name} differs only by case from your live server ${holder.name}; use the same spelling or end that session first`,
        };
      }
      // The same user's session on another replica: ended there, as a local one would be here.
      await this.o.bus.call(holder.replica, REPLACE, { session: holder.session }, REPLACE_WAIT_MS);
      replaced = holder.session;
      this.replacing.set(key, holder.session);
    }
    const remote = (await this.o.ownership.sessionsOf(principal.subject)).filter((id) => id !== replaced && !this.o.registry.get(id));
    let local = 0;
    for (const s of this.o.registry.all()) if (s.owner === principal.subject && s.state !== 'closed' && nameKey(s.serverName) !== key) local++;
    if (remote.length + local >= this.o.maxSessionsPerUser) {
      return {
        kind: 'refused',
        code: 'too_many_sessions',
        message: `user ${principal.subject} already has ${remote.length + local} tunnel session(s) on the gateway's replicas, the maximum (--max-sessions-per-user ${this.o.maxSessionsPerUser})`,
      };
    }
    return { kind: 'go' };
  }

  close(): void {
    if (this.refresher) clearTimeout(this.refresher);
  }

  private async claim(s: TunnelSession): Promise<void> {
    if (this.held.has(s.sessionId)) return;
    const key = nameKey(s.serverName);
    const replacing = this.replacing.get(key);
    this.replacing.delete(key);
    try {
      const outcome = await this.o.ownership.claim(
        { nameKey: key, name: s.serverName, sessionId: s.sessionId, subject: s.owner, server: JSON.stringify(s.server), mode: s.channel.mode },
        replacing,
      );
      if (outcome.kind === 'ok') {
        if (s.state === 'closed') return void this.o.ownership.release({ nameKey: key, sessionId: s.sessionId, subject: s.owner, gen: 1 });
        const journal = new RedisSessionJournal(this.o.redis, s.sessionId, this.o.ownership.replica, 1, this.o.logger);
        this.held.set(s.sessionId, { nameKey: key, sessionId: s.sessionId, subject: s.owner, gen: 1, journal });
        // Frames queued before the claim (the gateway's own initialize) are not in Redis: a takeover resumes past them.
        s.setJournal(journal);
        return;
      }
      // Another replica claimed the name between our check and now.
      const message = outcome.subject === s.owner ? `server name ${s.serverName} was just registered on another gateway replica` : `server name ${s.serverName} is registered by another user`;
      s.close({ kind: 'replaced', message, rpcCode: RpcErrorCode.SessionClosed }, { code: 'name_taken', message });
    } catch (err) {
      const message = `the gateway cannot reach its cluster store: ${err instanceof Error ? err.message : String(err)}`;
      this.o.logger.error({ event: 'cluster_claim_failed', sessionId: s.sessionId, err: message }, message);
      s.close({ kind: 'shutdown', message, rpcCode: RpcErrorCode.TunnelUnavailable }, { code: 'cluster_unavailable', message });
    }
  }

  private async release(s: TunnelSession): Promise<void> {
    const h = this.held.get(s.sessionId);
    this.held.delete(s.sessionId);
    if (this.givenAway.delete(s.sessionId) || !h) return;
    await this.o.ownership.release(h).catch((err: unknown) => {
      // Its records expire with the resume window anyway.
      this.o.logger.warn({ event: 'cluster_release_failed', sessionId: s.sessionId, err: err instanceof Error ? err.message : String(err) }, 'could not release a session in Redis');
    });
  }

  private async replaceHere(sessionId: string): Promise<Record<string, unknown>> {
    const s = this.o.registry.get(sessionId);
    if (s) {
      const message = 'replaced by a new registration of the same server';
      s.close(
        { kind: 'replaced', message: `tunnel session for ${s.serverName} was replaced by a new registration`, rpcCode: RpcErrorCode.SessionClosed },
        { code: 'session_replaced', message },
      );
    }
    return { ended: s !== undefined };
  }

  /** Redis lost our records (restarted empty): write them again from the live session. */
  private async reassert(h: Held): Promise<boolean> {
    const s = this.o.registry.get(h.sessionId);
    if (!s) return true;
    const stats = s.channel.stats();
    const ok = await this.o.ownership
      .reassert(h, { name: s.serverName, server: JSON.stringify(s.server), mode: s.channel.mode, inack: stats.inboundAck, nextSeq: stats.outboundSeq + 1 })
      .catch(() => true);
    if (ok) this.o.logger.warn({ event: 'cluster_records_restored', sessionId: h.sessionId }, `Redis had lost the records of tunnel session ${h.sessionId}: written again`);
    return ok;
  }

  private scheduleRefresh(): void {
    this.refresher = setTimeout(() => {
      void this.refreshAll().finally(() => this.scheduleRefresh());
    }, this.o.refreshMs);
    this.refresher.unref();
  }

  private async refreshAll(): Promise<void> {
    await Promise.all(
      [...this.held.values()].map(async (h) => {
        const state = await this.o.ownership.refresh(h).catch(() => 'held' as const);
        if (state === 'held' || !this.held.has(h.sessionId)) return;
        if (state === 'forgotten' && (await this.reassert(h))) return;
        // Taken over by another replica (its client resumed there): this copy is stale.
        this.giveAway(h.sessionId);
        const s = this.o.registry.get(h.sessionId);
        s?.close({ kind: 'moved', message: `tunnel session for ${s.serverName} moved to another gateway replica`, rpcCode: RpcErrorCode.TunnelUnavailable });
      }),
    );
  }
}
