/**
 * Every tunnel session the gateway knows, by id and by server name, and one Multiplexer
 * per server name. Decides what a `register` means: resume, fresh session, replacement
 * of the same user's old session, or refusal (the name belongs to someone else).
 */
import type { Logger } from '../observability/logger.js';
import type { RegisterEnvelope } from '../protocol/envelope.js';
import { RpcErrorCode } from '../protocol/jsonrpc.js';
import type { ChannelMode } from '../protocol/reliable-channel.js';
import type { Principal } from './auth.js';
import { canSee } from './access.js';
import { Multiplexer, type RequestDone } from './multiplexer.js';
import { initializeResultFromRegister } from './server-handshake.js';
import { TunnelSession, type SessionEnd, type TunnelSessionHooks } from './tunnel-session.js';

export interface SessionRegistryOptions {
  resumeWindowMs: number;
  requestTimeoutMs: number;
  maxQueueBytes: number;
  maxFrameBytes: number;
  /** Live tunnel sessions one token subject may hold (a replaced or resumed one does not count twice). */
  maxSessionsPerUser: number;
  logger: Logger;
  onRequestDone?: (done: RequestDone) => void;
}

export type RegisterOutcome =
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'accepted'; session: TunnelSession; resumed: boolean };

export class SessionRegistry {
  private readonly sessions = new Map<string, TunnelSession>();
  private readonly byName = new Map<string, TunnelSession>();
  /** Kept per name across sessions, so MCP client sessions survive a tunnel re-register. */
  private readonly multiplexers = new Map<string, Multiplexer>();
  private readonly hooks: TunnelSessionHooks;

  constructor(private readonly o: SessionRegistryOptions) {
    this.hooks = {
      onPayload: (s, payload) => this.multiplexer(s.serverName)?.fromServer(s, payload),
      onReady: (s) => this.multiplexer(s.serverName)?.attachTunnel(s),
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
    const existing = this.byName.get(name);
    if (existing && existing.owner !== principal.subject) {
      return { kind: 'refused', code: 'name_taken', message: `server name ${name} is registered by another user` };
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
    const session = new TunnelSession({
      owner: principal.subject,
      server: reg.server,
      mode,
      initializeResult: initializeResultFromRegister(reg.server),
      resumeWindowMs: this.o.resumeWindowMs,
      requestTimeoutMs: this.o.requestTimeoutMs,
      maxQueueBytes: this.o.maxQueueBytes,
      maxFrameBytes: this.o.maxFrameBytes,
      logger: this.o.logger,
      hooks: this.hooks,
    });
    this.sessions.set(session.sessionId, session);
    this.byName.set(name, session);
    let mux = this.multiplexers.get(name);
    if (!mux) {
      mux = new Multiplexer({
        serverName: name,
        requestTimeoutMs: this.o.requestTimeoutMs,
        logger: this.o.logger,
        ...(this.o.onRequestDone ? { onRequestDone: this.o.onRequestDone } : {}),
      });
      this.multiplexers.set(name, mux);
    }
    // Attached even while the gateway's own initialize runs: the port answers "still initializing".
    mux.attachTunnel(session);
    return { kind: 'accepted', session, resumed: false };
  }

  get(sessionId: string): TunnelSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** The live-or-disconnected session serving `name`. */
  serving(name: string): TunnelSession | undefined {
    return this.byName.get(name);
  }

  multiplexer(name: string): Multiplexer | undefined {
    return this.multiplexers.get(name);
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
    for (const mux of this.multiplexers.values()) mux.failAll(end.rpcCode, end.message);
  }

  private forget(s: TunnelSession, end: SessionEnd): void {
    if (this.sessions.get(s.sessionId) === s) this.sessions.delete(s.sessionId);
    if (this.byName.get(s.serverName) === s) this.byName.delete(s.serverName);
    this.multiplexer(s.serverName)?.detachTunnel(s, end.rpcCode, end.message);
  }
}

function replacedEnd(name: string): SessionEnd {
  return {
    kind: 'replaced',
    message: `tunnel session for ${name} was replaced by a new registration`,
    rpcCode: RpcErrorCode.SessionClosed,
  };
}
