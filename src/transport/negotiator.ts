/**
 * TransportNegotiator: opens the first transport that gets through this network and
 * remembers it for reconnects (docs/protocol.md §4, design PROTOCOL.md §5).
 *
 * `--transport auto` walks the ladder ws → sse → poll, but only for failures that mean
 * "this network blocks that transport" (refusal.ts failureKind: handshake deadline,
 * Upgrade stripped, proxy 403 / CONNECT refused, reset during the handshake, SSE
 * buffered). Auth rejected, proxy 407, TLS and config errors are thrown as they are
 * (fatal in TunnelClient); "gateway unreachable" is thrown too, to be retried on the same
 * rung after the reconnect backoff. A pinned mode (`ws|sse|poll`) tries nothing else.
 *
 * Within one transport, the proxy modes of the NetworkPath are tried in order (CONNECT,
 * then forwarding for http:// gateways; see src/net/dispatcher.ts).
 *
 * While auto mode runs below ws, a WebSocket handshake is re-probed in the background
 * every `reprobeIntervalMs` (opened and closed, no register); when it works, `onupgrade`
 * tells the TunnelClient to move the session up (it reconnects at once; the session
 * resumes with replay, so nothing is lost).
 */
import type { Dispatcher } from 'undici';
import { realClock, type Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import type { TransportMode } from '../config/types.js';
import { errorMessage, TransportError } from '../errors.js';
import { DEFAULT_KEEPALIVE_S } from '../protocol/constants.js';
import { NetworkPath, type ProxyMode } from '../net/dispatcher.js';
import { failureKind, isBlockedAfterOpen, isConnectRefusal, isProxyUnreachable } from './refusal.js';
import { PollTransport } from './poll.js';
import { SseTransport } from './sse.js';
import { WebSocketTransport } from './websocket.js';
import { endpointUrl } from './urls.js';
import type { Transport, TransportCloseInfo, TransportKind } from './transport.js';

export const LADDER: readonly TransportKind[] = ['ws', 'sse', 'poll'];
export const DEFAULT_FIRST_EVENT_TIMEOUT_MS = 3_000;
export const DEFAULT_REPROBE_INTERVAL_MS = 600_000;

const LABEL: Record<TransportKind, string> = { ws: 'WebSocket', sse: 'SSE+POST', poll: 'long-poll+POST' };

export interface NegotiatorOptions {
  mode: TransportMode;
  gateway: string;
  token?: string;
  /** Proxy + TLS + dispatchers. Alternatively `dispatcher` (one for everything, no proxy logic). */
  network?: NetworkPath;
  dispatcher?: Dispatcher;
  handshakeTimeoutMs: number;
  /** SSE: deadline for the `session` event (default 3 s). */
  firstEventTimeoutMs?: number;
  /** Client keepalive (poll wait = min(25 s, keepalive)). */
  keepaliveMs?: number;
  /** Background ws re-probe while below ws in auto mode; 0 = never. Default 10 min. */
  reprobeIntervalMs?: number;
  /** Redacted proxy URL, for messages when `dispatcher` is given. */
  proxy?: string;
  logger: Logger;
  /** Timers of the transports and of the re-probe (tests: fake time). */
  clock?: Clock;
}

export class TransportNegotiator {
  private readonly opts: NegotiatorOptions;
  private readonly network: NetworkPath;
  private readonly log: Logger;
  /** The transport that worked last; reconnects start there. */
  current: TransportKind | undefined;
  /** Set by TunnelClient: a re-probe found a better transport. */
  onupgrade?: (to: TransportKind) => void;
  private reprobeTimer: unknown;
  private readonly clock: Clock;
  private disposed = false;

  constructor(opts: NegotiatorOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.clock = opts.clock ?? realClock;
    this.network = opts.network ?? new NetworkPath({ gateway: opts.gateway, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}) });
    const proxy = this.network.proxy;
    if (this.network.pac) this.log.info({ event: 'proxy', pac: this.network.pac.location }, `using the PAC file ${this.network.pac.location}`);
    else if (proxy) this.log.info({ event: 'proxy', proxy: proxy.redacted, source: proxy.source }, `using proxy ${proxy.redacted} (from ${proxy.source})`);
    const host = new URL(opts.gateway).host;
    this.network.onroute = (label) => this.log.info({ event: 'pac_route', route: label, host }, `PAC chose ${label} for ${host}`);
    this.network.onproxyauth = (scheme, principal) =>
      this.log.info({ event: 'proxy_auth', scheme, proxy: this.proxyLabel }, `authenticated to proxy ${this.proxyLabel ?? ''} with ${scheme} as ${principal}`);
  }

  private get proxyLabel(): string | undefined {
    return this.network.proxy?.redacted ?? this.opts.proxy;
  }

  /** Build one transport over one proxy mode. */
  create(kind: TransportKind, mode: ProxyMode = this.network.modes()[0]!): Transport {
    const o = this.opts;
    const dispatcher = this.network.dispatcher(mode);
    const proxy = this.proxyLabel;
    if (kind === 'ws') {
      return new WebSocketTransport({
        url: endpointUrl(o.gateway, 'ws'),
        dispatcher,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
        clock: this.clock,
        ...(o.token ? { token: o.token } : {}),
        ...(proxy ? { proxy } : {}),
      });
    }
    const http = {
      base: endpointUrl(o.gateway, 'base'),
      dispatcher,
      keepaliveMs: o.keepaliveMs ?? DEFAULT_KEEPALIVE_S * 1000,
      clock: this.clock,
      ...(o.token ? { token: o.token } : {}),
      ...(proxy ? { proxy } : {}),
    };
    if (kind === 'sse') return new SseTransport({ ...http, openTimeoutMs: o.firstEventTimeoutMs ?? DEFAULT_FIRST_EVENT_TIMEOUT_MS });
    return new PollTransport({ ...http, openTimeoutMs: Math.max(10_000, o.handshakeTimeoutMs) });
  }

  /** Transports to try now, in order. */
  private ladder(): TransportKind[] {
    if (this.opts.mode !== 'auto') return [this.opts.mode];
    return LADDER.slice(this.current ? LADDER.indexOf(this.current) : 0);
  }

  /** Open a transport; `prepare` attaches the caller's handlers before start(). */
  async open(prepare: (t: Transport) => void): Promise<Transport> {
    const ladder = this.ladder();
    const reasons: string[] = [];
    for (let i = 0; i < ladder.length; i++) {
      const kind = ladder[i]!;
      try {
        const t = await this.openKind(kind, prepare, false);
        if (this.current !== kind) this.log.info({ event: 'transport_selected', transport: kind }, `using transport ${kind} (${LABEL[kind]})`);
        this.current = kind;
        this.scheduleReprobe();
        return t;
      } catch (err) {
        if (failureKind(err) !== 'blocked') throw err;
        reasons.push(`${kind}: ${errorMessage(err)}`);
        const next = ladder[i + 1];
        if (next) {
          this.log.info({ event: 'transport_fallback', from: kind, to: next, reason: errorMessage(err) }, `${errorMessage(err)} → trying ${LABEL[next]}`);
          continue;
        }
        if (this.opts.mode !== 'auto') throw err;
        // Nothing from the remembered rung down works: start from the top next time, and
        // give CONNECT another chance (proxy policies change).
        this.current = undefined;
        this.network.clearConnectRefused();
        throw new TransportError(`no transport gets through to the gateway (${reasons.join('; ')})`, {
          code: 'ERR_TRANSPORT_BLOCKED',
          origin: 'network',
          cause: err,
        });
      }
    }
    throw new TransportError('no transport to try');
  }

  /**
   * One transport kind over each route in turn (PAC: `PROXY a; PROXY b; DIRECT`, starting
   * with the one in use): a route is left only when its proxy does not answer at all.
   */
  private async openKind(kind: TransportKind, prepare: (t: Transport) => void, probe: boolean): Promise<Transport> {
    await this.network.refresh();
    const n = this.network.routeCount;
    const first = this.network.routeIndex;
    for (let k = 0; ; k++) {
      const i = (first + k) % n;
      this.network.selectRoute(i);
      try {
        const t = await this.openModes(kind, prepare, probe);
        this.network.routeWorked();
        return t;
      } catch (err) {
        if (!isProxyUnreachable(err) || k + 1 >= n) throw err;
        const next = this.network.routeLabel((i + 1) % n);
        const line = `${errorMessage(err)} → trying the PAC file's next entry, ${next}`;
        if (probe) this.log.debug({ event: 'pac_failover', reason: errorMessage(err), to: next }, line);
        else this.log.info({ event: 'pac_failover', reason: errorMessage(err), to: next }, line);
      }
    }
  }

  /** One transport kind over each proxy mode of the route in use. */
  private async openModes(kind: TransportKind, prepare: (t: Transport) => void, probe: boolean): Promise<Transport> {
    const modes = this.network.modes(probe);
    for (let i = 0; ; i++) {
      const mode = modes[i]!;
      if (mode === 'forward') {
        const refusal = this.network.forwardRefusal();
        if (refusal) throw refusal;
      }
      const t = this.create(kind, mode);
      this.log.debug({ event: 'transport_open', transport: kind, path: this.network.describe(mode) }, `opening ${kind} transport ${this.network.describe(mode)}`);
      const gate = holdCloseDuringStart(t, prepare, (info) => this.closedAfterOpen(kind, info));
      try {
        await t.start();
        gate.started();
        if (mode === 'connect') this.network.clearConnectRefused();
        return t;
      } catch (err) {
        gate.failed();
        if (mode === 'connect' && isConnectRefusal(err) && modes.includes('forward')) {
          this.network.markConnectRefused();
          const line = `${errorMessage(err)} → trying the proxy in forwarding mode`;
          if (probe) this.log.debug({ event: 'proxy_mode', reason: errorMessage(err) }, line);
          else this.log.info({ event: 'proxy_mode', transport: kind, reason: errorMessage(err) }, line);
          if (i + 1 < modes.length) continue;
        }
        throw err;
      }
    }
  }

  /**
   * A transport that opened can still turn out blocked (an SSE stream whose start got
   * through a buffering proxy, but nothing after it): step down for the next attempt.
   */
  private closedAfterOpen(kind: TransportKind, info: TransportCloseInfo): void {
    if (this.opts.mode !== 'auto' || this.current !== kind || !info.error || !isBlockedAfterOpen(info.error)) return;
    const next = LADDER[LADDER.indexOf(kind) + 1];
    if (!next) return;
    this.current = next;
    this.log.info({ event: 'transport_fallback', from: kind, to: next, reason: info.error.message }, `${info.error.message} → trying ${LABEL[next]}`);
  }

  private scheduleReprobe(): void {
    const interval = this.opts.reprobeIntervalMs ?? DEFAULT_REPROBE_INTERVAL_MS;
    if (this.current === 'ws' || this.opts.mode !== 'auto' || interval <= 0 || this.disposed) {
      this.cancelReprobe();
      return;
    }
    if (this.reprobeTimer !== undefined) return;
    this.reprobeTimer = this.clock.setTimeout(() => {
      this.reprobeTimer = undefined;
      void this.reprobe();
    }, interval);
  }

  private cancelReprobe(): void {
    this.clock.clearTimeout(this.reprobeTimer);
    this.reprobeTimer = undefined;
  }

  /** Try a WebSocket handshake (open, close, no register); on success move up. */
  async reprobe(): Promise<boolean> {
    if (this.disposed || this.current === 'ws') return false;
    try {
      const t = await this.openKind('ws', () => undefined, true);
      await t.close('re-probe done');
    } catch (err) {
      this.log.debug({ event: 'reprobe_failed', reason: errorMessage(err) }, `WebSocket re-probe failed: ${errorMessage(err)}`);
      this.scheduleReprobe();
      return false;
    }
    if (this.disposed) return false;
    const from = this.current;
    this.current = 'ws';
    this.log.info({ event: 'transport_upgrade', from, to: 'ws' }, `WebSocket gets through again (re-probe) → moving the tunnel up from ${from ?? 'none'} to ws`);
    this.onupgrade?.('ws');
    return true;
  }

  /** Stop background work and release the dispatchers. Idempotent. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.cancelReprobe();
    if (!this.opts.dispatcher) await this.network.close();
  }
}

/**
 * Attach the caller's handlers, but hold back `onclose` while start() runs: a failed
 * attempt closes its own transport, and the caller (which waits for *the* transport's
 * close) must not see the close of an attempt that the negotiator moved past.
 */
function holdCloseDuringStart(
  t: Transport,
  prepare: (t: Transport) => void,
  laterClose: (info: TransportCloseInfo) => void,
): { started(): void; failed(): void } {
  prepare(t);
  const callerClose = t.onclose;
  let starting = true;
  let held: TransportCloseInfo | undefined;
  t.onclose = (info) => {
    if (starting) {
      held = info;
      return;
    }
    laterClose(info);
    callerClose?.(info);
  };
  return {
    started() {
      starting = false;
      if (held) {
        laterClose(held);
        callerClose?.(held);
      }
    },
    failed() {
      starting = false;
      t.onclose = callerClose === undefined ? undefined : () => undefined;
    },
  };
}
