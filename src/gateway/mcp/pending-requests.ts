/**
 * The requests a Multiplexer relayed and still owes an answer for, by tunnel id: each has
 * a deadline (`--request-timeout`), ends exactly once (answered, failed, cancelled, timed
 * out), and is counted once in the request metrics (request-outcome.ts).
 */
import type { Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import type { JsonRpcId } from '../../protocol/jsonrpc.js';
import type { ShimCall } from './modern-server.js';
import type { RequestDone, RequestOutcome } from './request-outcome.js';

export interface PendingRequest {
  tunnelId: number;
  clientId: string;
  originalId: JsonRpcId;
  method: string;
  startedAt: number;
  /** The tunnel session the request was pushed into: its loss fails the request. */
  sessionId: string;
  /** The client's own progress token, when the request carried one (we sent tunnelId instead). */
  progressToken?: string | number;
  /** Undo gateway bookkeeping when the server refuses (e.g. a first subscribe). */
  onError?: () => void;
  /** A 2025-era client's call to a 2026-07-28 server (modern-server.ts). */
  call?: ShimCall;
  timer: unknown;
}

export interface PendingRequestsOptions {
  serverName: string;
  requestTimeoutMs: number;
  clock: Clock;
  log: Logger;
  onRequestDone: ((done: RequestDone) => void) | undefined;
  /** The deadline passed (the request is still in the table: settle it). */
  onTimeout: (p: PendingRequest) => void;
  /** The request left the table. */
  onDropped: (p: PendingRequest) => void;
}

export class PendingRequests {
  private readonly byTunnelId = new Map<number, PendingRequest>();

  constructor(private readonly o: PendingRequestsOptions) {}

  get size(): number {
    return this.byTunnelId.size;
  }

  get(tunnelId: unknown): PendingRequest | undefined {
    return typeof tunnelId === 'number' ? this.byTunnelId.get(tunnelId) : undefined;
  }

  values(): PendingRequest[] {
    return [...this.byTunnelId.values()];
  }

  /** Start the request's clock. */
  add(p: Omit<PendingRequest, 'timer' | 'startedAt'>): PendingRequest {
    const entry = p as PendingRequest;
    entry.startedAt = this.o.clock.now();
    entry.timer = this.o.clock.setTimeout(() => {
      if (this.byTunnelId.get(entry.tunnelId) === entry) this.o.onTimeout(entry);
    }, this.o.requestTimeoutMs);
    this.byTunnelId.set(entry.tunnelId, entry);
    return entry;
  }

  /** The request was issued again under another tunnel id (an MRTR round). */
  rekey(p: PendingRequest, tunnelId: number): void {
    this.byTunnelId.delete(p.tunnelId);
    p.tunnelId = tunnelId;
    this.byTunnelId.set(tunnelId, p);
  }

  /** Remove it (its answer, if any, is the caller's business) and count how it ended. */
  drop(p: PendingRequest, outcome: RequestOutcome): void {
    this.o.clock.clearTimeout(p.timer);
    this.byTunnelId.delete(p.tunnelId);
    this.o.onDropped(p);
    this.report(p.method, outcome, (this.o.clock.now() - p.startedAt) / 1000);
  }

  report(method: string, outcome: RequestOutcome, seconds: number | undefined): void {
    try {
      this.o.onRequestDone?.({ server: this.o.serverName, method, outcome, seconds });
    } catch (err) {
      this.o.log.debug({ err }, 'request metrics hook failed');
    }
  }

  /** Clients with a request in flight → their newest request id, the newest client last. */
  busyClients(): Map<string, JsonRpcId> {
    const out = new Map<string, JsonRpcId>();
    for (const p of this.byTunnelId.values()) {
      out.delete(p.clientId);
      out.set(p.clientId, p.originalId);
    }
    return out;
  }
}
