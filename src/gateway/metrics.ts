/**
 * The gateway's Prometheus metrics (`GET /metrics`). Its own Registry, never prom-client's
 * global one: two gateways in one process (tests, library users) must not share series.
 * Gauges that describe current state (sessions, outbox depth) are computed at scrape time
 * from the live objects, so they cannot drift from the truth.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestDone, RequestOutcome } from './mcp/request-outcome.js';

/** Every outcome label (a Record, so the compiler says when one is missing). */
const OUTCOME_LABELS: Record<RequestOutcome, true> = {
  ok: true,
  error: true,
  timeout: true,
  cancelled: true,
  client_gone: true,
  tunnel_lost: true,
  shutdown: true,
  unavailable: true,
  saturated: true,
  refused: true,
};
const REQUEST_OUTCOMES = Object.keys(OUTCOME_LABELS);

const P = 'mcp_reverse_proxy_';

/** What the scrape-time gauges read. */
export interface MetricsSource {
  tunnelSessions(): Iterable<{ name: string; transport: string | undefined; state: string; outboxFrames: number; outboxBytes: number }>;
  mcpSessions(): number;
}

/** Why a request or a connection was refused (the `reason` label of refusals_total). */
export type RefusalReason = 'origin' | 'forbidden' | 'max_sessions' | 'max_mcp_sessions' | 'max_connections' | 'slow_client';

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly frames: Counter<'direction'>;
  private readonly bytes: Counter<'direction'>;
  private readonly replayed: Counter;
  private readonly authFailures: Counter<'reason'>;
  private readonly refusals: Counter<'reason'>;
  private readonly requests: Counter<'server' | 'outcome'>;
  private readonly latency: Histogram<'server'>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: `${P}tunnel_sessions`,
      help: 'Tunnel sessions by current transport and state (connected, disconnected within the resume window)',
      labelNames: ['transport', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of source.tunnelSessions()) this.inc({ transport: s.transport ?? 'none', state: s.state });
      },
    });
    new Gauge({
      name: `${P}mcp_client_sessions`,
      help: 'Open MCP client sessions on the Streamable HTTP endpoint',
      registers,
      collect() {
        this.set(source.mcpSessions());
      },
    });
    const outbox = (unit: 'frames' | 'bytes'): void =>
      void new Gauge({
        name: `${P}tunnel_outbox_${unit}`,
        help: `Unacknowledged gateway→client ${unit} held for replay, per server name`,
        labelNames: ['server'] as const,
        registers,
        collect() {
          this.reset();
          for (const s of source.tunnelSessions()) this.inc({ server: s.name }, unit === 'frames' ? s.outboxFrames : s.outboxBytes);
        },
      });
    outbox('frames');
    outbox('bytes');
    this.frames = new Counter({ name: `${P}tunnel_frames_total`, help: 'Tunnel frames by direction (in = from tunnel clients)', labelNames: ['direction'] as const, registers });
    this.bytes = new Counter({ name: `${P}tunnel_bytes_total`, help: 'Tunnel frame bytes by direction', labelNames: ['direction'] as const, registers });
    this.replayed = new Counter({ name: `${P}tunnel_frames_replayed_total`, help: 'Frames replayed to a client after a resume', registers });
    this.authFailures = new Counter({ name: `${P}auth_failures_total`, help: 'Refused bearer tokens by reason', labelNames: ['reason'] as const, registers });
    this.refusals = new Counter({
      name: `${P}refusals_total`,
      help: 'Requests and connections refused for policy reasons (origin, forbidden, max_sessions, max_mcp_sessions, max_connections, slow_client)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.requests = new Counter({ name: `${P}mcp_requests_total`, help: 'MCP requests relayed to tunneled servers, by outcome', labelNames: ['server', 'outcome'] as const, registers });
    this.latency = new Histogram({
      name: `${P}mcp_request_duration_seconds`,
      help: 'Time from relaying an MCP request into the tunnel to its answer',
      labelNames: ['server'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
  }

  /** Per-frame hot path: label children are bound once, not looked up per frame. */
  private bound?: Record<'in' | 'out', { frames: { inc(n?: number): void }; bytes: { inc(n?: number): void } }>;

  frame(direction: 'in' | 'out', bytes: number): void {
    this.bound ??= {
      in: { frames: this.frames.labels('in'), bytes: this.bytes.labels('in') },
      out: { frames: this.frames.labels('out'), bytes: this.bytes.labels('out') },
    };
    const b = this.bound[direction];
    b.frames.inc();
    b.bytes.inc(bytes);
  }

  replay(frames: number): void {
    if (frames > 0) this.replayed.inc(frames);
  }

  authFailure(reason: string): void {
    this.authFailures.inc({ reason });
  }

  refusal(reason: RefusalReason): void {
    this.refusals.inc({ reason });
  }

  /** Per-request hot path: each server's label children, bound on its first request (forgetServer drops them). */
  private readonly byServer = new Map<string, { outcomes: Map<string, { inc(): void }>; latency: { observe(v: number): void } }>();

  request(done: RequestDone): void {
    let s = this.byServer.get(done.server);
    if (!s) this.byServer.set(done.server, (s = { outcomes: new Map(), latency: this.latency.labels(done.server) }));
    let outcome = s.outcomes.get(done.outcome);
    if (!outcome) s.outcomes.set(done.outcome, (outcome = this.requests.labels(done.server, done.outcome)));
    outcome.inc();
    if (done.seconds !== undefined) s.latency.observe(done.seconds);
  }

  /**
   * A server name nobody uses any more (no tunnel session, no MCP client session): drop its
   * series, or every name ever registered would stay in memory (and in every scrape).
   */
  forgetServer(server: string): void {
    this.byServer.delete(server);
    for (const outcome of REQUEST_OUTCOMES) this.requests.remove({ server, outcome });
    this.latency.remove({ server });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** What the gauges need from each tunnel session. */
export function tunnelSessionView(
  sessions: Iterable<{ serverName: string; state: string; summary(): { transport: string | undefined }; channel: { outboxFrames: number; outboxBytes: number } }>,
): ReturnType<MetricsSource['tunnelSessions']> {
  return [...sessions].map((s) => ({
    name: s.serverName,
    transport: s.summary().transport,
    state: s.state,
    outboxFrames: s.channel.outboxFrames,
    outboxBytes: s.channel.outboxBytes,
  }));
}
