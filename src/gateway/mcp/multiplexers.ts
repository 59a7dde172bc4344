/**
 * One Multiplexer per server name, fed by the tunnel side's events (tunnel/session-registry.ts):
 * a session registers or becomes ready → its name's multiplexer relays to it; a payload
 * from its server → that multiplexer; the session ends → what it owed is failed.
 *
 * Lifetime: a multiplexer is forgotten when it has neither a tunnel session nor an MCP
 * client session left. While MCP client sessions remain, it stays so that they get clear
 * "not connected" errors, and a re-register of the same name by the same owner serves them
 * again. A register by anyone else gets a fresh multiplexer: the old one's MCP client
 * sessions are never relayed to another user's server.
 */
import { realClock, type Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import type { SessionRegistry } from '../tunnel/session-registry.js';
import { Multiplexer } from './multiplexer.js';
import type { RequestDone } from './request-outcome.js';

export interface MultiplexersOptions {
  /** Deadline of one relayed request (ms). */
  requestTimeoutMs: number;
  logger: Logger;
  clock?: Clock;
  onRequestDone?: (done: RequestDone) => void;
  /** A server name has no tunnel session and no MCP client session left (metrics forget its series). */
  onNameForgotten?: (name: string) => void;
}

interface NamedMultiplexer {
  mux: Multiplexer;
  /** The subject whose sessions this multiplexer has relayed to. */
  owner: string;
}

export class Multiplexers {
  /** By exact name; kept across tunnel sessions while MCP client sessions use it (see the top). */
  private readonly byName = new Map<string, NamedMultiplexer>();

  constructor(
    private readonly tunnels: SessionRegistry,
    private readonly o: MultiplexersOptions,
  ) {
    tunnels.on('registered', (s) => this.multiplexerFor(s.serverName, s.owner).attachTunnel(s));
    tunnels.on('ready', (s) => this.get(s.serverName)?.attachTunnel(s));
    tunnels.on('payload', (s, payload) => this.get(s.serverName)?.fromServer(s, payload));
    tunnels.on('closed', (s, end) => this.get(s.serverName)?.detachTunnel(s, end.rpcCode, end.message));
  }

  get(name: string): Multiplexer | undefined {
    return this.byName.get(name)?.mux;
  }

  /** How many are kept (tests: nothing is kept per name forever). */
  get count(): number {
    return this.byName.size;
  }

  /** Fail every pending request (gateway shutdown). */
  failAll(code: number, message: string): void {
    for (const { mux } of [...this.byName.values()]) mux.failAll(code, message);
  }

  /** The name's multiplexer if it last served this owner; otherwise a fresh one (the old one keeps only its own clients). */
  private multiplexerFor(name: string, owner: string): Multiplexer {
    const held = this.byName.get(name);
    if (held && held.owner === owner) return held.mux;
    const entry: NamedMultiplexer = { owner, mux: undefined as unknown as Multiplexer };
    entry.mux = new Multiplexer({
      serverName: name,
      requestTimeoutMs: this.o.requestTimeoutMs,
      logger: this.o.logger,
      clock: this.o.clock ?? realClock,
      ...(this.o.onRequestDone ? { onRequestDone: this.o.onRequestDone } : {}),
      onUnused: () => this.forget(name, entry),
    });
    this.byName.set(name, entry);
    return entry.mux;
  }

  private forget(name: string, entry: NamedMultiplexer): void {
    if (this.byName.get(name) !== entry) return;
    this.byName.delete(name);
    if (!this.tunnels.holds(name)) this.o.onNameForgotten?.(name);
  }
}
