/**
 * Every tunnel session the gateway knows, by id and by server name, and one Multiplexer
 * per server name. Decides what a `register` means: resume, fresh session, replacement
 * of the same user's old session, or refusal (the name belongs to someone else, or differs
 * from a live name only by case: protocol/server-name.ts).
 *
 * Lifetime: a session is forgotten when it ends (unregister, DELETE, resume window over,
 * replaced); a multiplexer when it has neither a tunnel session nor an MCP client session
 * left. While MCP client sessions remain, the multiplexer stays so that they get clear
 * "not connected" errors, and a re-register of the same name by the same owner serves them
 * again. A register by anyone else gets a fresh multiplexer: the old one's MCP client
 * sessions are never relayed to another user's server.
 */
import type { Logger } from '../observability/logger.js';
import type { RegisterEnvelope } from '../protocol/envelope.js';
import { RpcErrorCode } from '../protocol/jsonrpc.js';
import type { Clock } from '../clock.js';
import type { ChannelMode } from '../protocol/reliable-channel.js';
import type { Principal } from './auth.js';
import { canSee } from './access.js';
import { nameKey } from '../protocol/server-name.js';
import { Multiplexer, type RequestDone } from './multiplexer.js';
import { initializeResultOf } from '../protocol/mcp-handshake.js';
import type { TunnelErrorCode } from '../protocol/error-codes.js';
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
  /** A server name has no tunnel session and no MCP client session left (metrics forget its series). */
  onNameForgotten?: (name: string) => void;
  /** Sessions' timers (resume window, handshake); tests pass a fake clock. */
  clock?: Clock;
}

interface NamedMultiplexer {
  mux: Multiplexer;
  /** The subject whose sessions this multiplexer has relayed to. */
  owner: string;
}

export type RegisterOutcome =
  | { kind: 'refused'; code: TunnelErrorCode; message: string }
  | { kind: 'accepted'; session: TunnelSession; resumed: boolean };

export class SessionRegistry {
  private readonly sessions = new Map<string, TunnelSession>();
  /** By nameKey: one live name per spelling regardless of case. */
  private readonly byName = new Map<string, TunnelSession>();
  /** By exact name; kept across sessions while MCP client sessions use it (see the top). */
  private readonly multiplexers = new Map<string, NamedMultiplexer>();
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
    const session = new TunnelSession({
      owner: principal.subject,
      server: reg.server,
      mode,
      initializeResult: initializeResultOf(reg.server),
      resumeWindowMs: this.o.resumeWindowMs,
      requestTimeoutMs: this.o.requestTimeoutMs,
      maxQueueBytes: this.o.maxQueueBytes,
      maxFrameBytes: this.o.maxFrameBytes,
      logger: this.o.logger,
      hooks: this.hooks,
      ...(typeof reg.keepalive === 'number' ? { keepaliveMs: reg.keepalive * 1000 } : {}),
      ...(this.o.clock ? { clock: this.o.clock } : {}),
    });
    this.sessions.set(session.sessionId, session);
    this.byName.set(nameKey(name), session);
    // Attached even while the gateway's own initialize runs: the port answers "still initializing".
    this.multiplexerFor(name, principal.subject).attachTunnel(session);
    return { kind: 'accepted', session, resumed: false };
  }

  /** The name's multiplexer if it last served this owner; otherwise a fresh one (the old one keeps only its own clients). */
  private multiplexerFor(name: string, owner: string): Multiplexer {
    const held = this.multiplexers.get(name);
    if (held && held.owner === owner) return held.mux;
    const entry: NamedMultiplexer = { owner, mux: undefined as unknown as Multiplexer };
    entry.mux = new Multiplexer({
      serverName: name,
      requestTimeoutMs: this.o.requestTimeoutMs,
      logger: this.o.logger,
      ...(this.o.onRequestDone ? { onRequestDone: this.o.onRequestDone } : {}),
      onUnused: () => this.forgetMultiplexer(name, entry),
    });
    this.multiplexers.set(name, entry);
    return entry.mux;
  }

  private forgetMultiplexer(name: string, entry: NamedMultiplexer): void {
    if (this.multiplexers.get(name) !== entry) return;
    this.multiplexers.delete(name);
    if (!this.byName.has(nameKey(name))) this.o.onNameForgotten?.(name);
  }

  get(sessionId: string): TunnelSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** The live-or-disconnected session serving `name`. */
  serving(name: string): TunnelSession | undefined {
    const s = this.byName.get(nameKey(name));
    return s?.serverName === name ? s : undefined;
  }

  multiplexer(name: string): Multiplexer | undefined {
    return this.multiplexers.get(name)?.mux;
  }

  /** How many multiplexers are kept (tests: nothing is kept per name forever). */
  get multiplexerCount(): number {
    return this.multiplexers.size;
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
    for (const { mux } of [...this.multiplexers.values()]) mux.failAll(end.rpcCode, end.message);
  }

  private forget(s: TunnelSession, end: SessionEnd): void {
    if (this.sessions.get(s.sessionId) === s) this.sessions.delete(s.sessionId);
    if (this.byName.get(nameKey(s.serverName)) === s) this.byName.delete(nameKey(s.serverName));
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
