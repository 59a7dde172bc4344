/**
 * Every tunnel session the gateway knows, by id and by server name. Decides what a
 * `register` means: resume, fresh session, replacement of the same user's old session, or
 * refusal (the name belongs to someone else, or differs from a live name only by case:
 * protocol/server-name.ts).
 *
 * What happens to the sessions is raised as events (`registered`, `ready`, `payload`,
 * `closed`); the MCP side subscribes (gateway/mcp/multiplexers.ts). A session is forgotten
 * when it ends (unregister, DELETE, resume window over, replaced).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../observability/logger.js';
import type { RegisterEnvelope } from '../../protocol/envelope.js';
import { RpcErrorCode, type JsonRpcMessage } from '../../protocol/jsonrpc.js';
import type { Clock } from '../../clock.js';
import type { ChannelMode } from '../../protocol/reliable-channel.js';
import type { Principal } from '../http/auth.js';
import { canSee } from '../http/access.js';
import { nameKey } from '../../protocol/server-name.js';
import { initializeResultOf, type InitializeResult } from '../../protocol/mcp-handshake.js';
import type { TunnelErrorCode } from '../../protocol/error-codes.js';
import { TunnelSession, type SessionEnd, type TunnelSessionHooks } from './tunnel-session.js';

export interface SessionRegistryOptions {
  resumeWindowMs: number;
  requestTimeoutMs: number;
  maxQueueBytes: number;
  maxFrameBytes: number;
  /** Live tunnel sessions one token subject may hold (a replaced or resumed one does not count twice). */
  maxSessionsPerUser: number;
  logger: Logger;
  /** Sessions' timers (resume window, handshake); tests pass a fake clock. */
  clock?: Clock;
}

export interface RegistryEvents {
  /** A new session (not a resume) now serves its name. */
  registered: [session: TunnelSession];
  /** The gateway's own initialize through the tunnel finished: the session takes requests. */
  ready: [session: TunnelSession];
  /** A JSON-RPC message from the session's server. */
  payload: [session: TunnelSession, payload: JsonRpcMessage];
  /** The session ended for good and is forgotten. */
  closed: [session: TunnelSession, end: SessionEnd];
}

export type RegisterOutcome =
  | { kind: 'refused'; code: TunnelErrorCode; message: string }
  | { kind: 'accepted'; session: TunnelSession; resumed: boolean };

export class SessionRegistry extends EventEmitter<RegistryEvents> {
  private readonly sessions = new Map<string, TunnelSession>();
  /** By nameKey: one live name per spelling regardless of case. */
  private readonly byName = new Map<string, TunnelSession>();
  private readonly hooks: TunnelSessionHooks;

  constructor(private readonly o: SessionRegistryOptions) {
    super();
    this.hooks = {
      onPayload: (s, payload) => this.emit('payload', s, payload),
      onReady: (s) => this.emit('ready', s),
      onClosed: (s, end) => this.forget(s, end),
    };
  }

  register(principal: Principal, reg: RegisterEnvelope, mode: ChannelMode): RegisterOutcome {
    const name = reg.server.name;
    const resumable = reg.resume ? this.sessions.get(reg.resume.sessionId) : undefined;
    if (resumable && resumable.owner === principal.subject) {
      if (resumable.serverName === name && resumable.state !== 'closed') return { kind: 'accepted', session: resumable, resumed: true };
      // Same user, different server: the old session will not come back under that id.
      resumable.close(replacedEnd(resumable.serverName));
    }
    const existing = this.byName.get(nameKey(name));
    if (existing && existing.owner !== principal.subject) {
      const how = existing.serverName === name ? '' : ' (names are compared without regard to case)';
      return { kind: 'refused', code: 'name_taken', message: `server name ${name} is registered by another user${how}` };
    }
    if (existing && existing.serverName !== name) {
      return {
        kind: 'refused',
        code: 'name_taken',
        message: `server name ${name} differs only by case from your live server ${existing.serverName}; use the same spelling or end that session first`,
      };
    }
    const held = [...this.sessions.values()].filter((s) => s.owner === principal.subject && s !== existing && s.state !== 'closed').length;
    if (held >= this.o.maxSessionsPerUser) {
      return {
        kind: 'refused',
        code: 'too_many_sessions',
        message: `user ${principal.subject} already has ${held} tunnel session(s), the maximum (--max-sessions-per-user ${this.o.maxSessionsPerUser})`,
      };
    }
    existing?.close(replacedEnd(name), { code: 'session_replaced', message: 'replaced by a new registration of the same server' });
    const session = this.create({ owner: principal.subject, server: reg.server, mode, ...(typeof reg.keepalive === 'number' ? { keepaliveMs: reg.keepalive * 1000 } : {}) });
    this.add(session);
    return { kind: 'accepted', session, resumed: false };
  }

  /**
   * Scale-out takeover (gateway/cluster/failover.ts): a session another replica held, made
   * here under its old id; `prepare` restores its reliable state before anything uses it.
   * Raised as `registered` like a new one (the MCP side attaches to it), then resumed by the
   * client's register as if it had always been here.
   */
  adopt(
    s: { sessionId: string; owner: string; server: RegisterEnvelope['server']; mode: ChannelMode; initializeResult: InitializeResult | undefined },
    prepare: (session: TunnelSession) => void,
  ): TunnelSession {
    this.sessions.get(s.sessionId)?.close(replacedEnd(s.server.name));
    this.byName.get(nameKey(s.server.name))?.close(replacedEnd(s.server.name));
    const session = this.create(s);
    prepare(session);
    this.add(session);
    return session;
  }

  private create(s: { sessionId?: string; owner: string; server: RegisterEnvelope['server']; mode: ChannelMode; initializeResult?: InitializeResult | undefined; keepaliveMs?: number }): TunnelSession {
    return new TunnelSession({
      ...s,
      initializeResult: 'initializeResult' in s ? s.initializeResult : initializeResultOf(s.server),
      resumeWindowMs: this.o.resumeWindowMs,
      requestTimeoutMs: this.o.requestTimeoutMs,
      maxQueueBytes: this.o.maxQueueBytes,
      maxFrameBytes: this.o.maxFrameBytes,
      logger: this.o.logger,
      hooks: this.hooks,
      ...(this.o.clock ? { clock: this.o.clock } : {}),
    });
  }

  private add(session: TunnelSession): void {
    this.sessions.set(session.sessionId, session);
    this.byName.set(nameKey(session.serverName), session);
    // Raised even while the gateway's own initialize runs: the session answers "still initializing".
    this.emit('registered', session);
  }

  get(sessionId: string): TunnelSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** The live-or-disconnected session serving `name`. */
  serving(name: string): TunnelSession | undefined {
    const s = this.byName.get(nameKey(name));
    return s?.serverName === name ? s : undefined;
  }

  /** Whether a live-or-disconnected session holds `name` (in any spelling of its case). */
  holds(name: string): boolean {
    return this.byName.has(nameKey(name));
  }

  /** Every live-or-disconnected session (metrics). */
  all(): IterableIterator<TunnelSession> {
    return this.sessions.values();
  }

  list(principal: Principal): TunnelSession[] {
    return [...this.sessions.values()].filter((s) => canSee(principal, s));
  }

  closeAll(end: SessionEnd): void {
    for (const s of [...this.sessions.values()]) s.close(end, { code: 'gateway_shutdown', message: end.message });
  }

  private forget(s: TunnelSession, end: SessionEnd): void {
    if (this.sessions.get(s.sessionId) === s) this.sessions.delete(s.sessionId);
    if (this.byName.get(nameKey(s.serverName)) === s) this.byName.delete(nameKey(s.serverName));
    this.emit('closed', s, end);
  }
}

function replacedEnd(name: string): SessionEnd {
  return {
    kind: 'replaced',
    message: `tunnel session for ${name} was replaced by a new registration`,
    rpcCode: RpcErrorCode.SessionClosed,
  };
}
