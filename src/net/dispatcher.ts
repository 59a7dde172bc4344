/**
 * The network path to the gateway: the proxy (resolved once, src/net/proxy.ts), the TLS
 * material, and one undici dispatcher per way of crossing the proxy. Every transport just
 * receives a dispatcher; which one is decided here and in the negotiator.
 *
 * Proxy modes. curl forwards http:// requests to a proxy as absolute URIs and tunnels
 * https:// through CONNECT. For an http:// gateway we try CONNECT first even so, because
 * many corporate proxies strip `Upgrade` from forwarded requests (the WebSocket then
 * cannot work) but allow CONNECT; and when the proxy refuses CONNECT (typically 403:
 * "CONNECT only to port 443") we fall back to forwarding, which carries SSE and polling
 * fine and sometimes even the upgrade. Once CONNECT was refused it is not tried again for
 * this path. https:// gateways always use CONNECT: forwarding would expose the traffic.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, Pool, ProxyAgent, type Dispatcher } from 'undici';
import { ConfigError } from '../errors.js';
import { resolveProxy, type ProxyChoice } from './proxy.js';
import { watchTlsAlerts } from './tls-alerts.js';

export interface DispatcherOptions {
  /** Explicit proxy URL (overrides the environment, NO_PROXY included). */
  proxy?: string;
  caFile?: string;
  cert?: string;
  key?: string;
}

export type ProxyMode = 'direct' | 'connect' | 'forward';

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function tlsConnectOptions(o: DispatcherOptions): Record<string, unknown> {
  const connect: Record<string, unknown> = {};
  // --ca-file *adds* to Node's defaults (and NODE_EXTRA_CA_CERTS, which Node already merged
  // into the default store); passing `ca` alone would replace them.
  if (o.caFile) connect.ca = [...rootCertificates, readPem(o.caFile, '--ca-file')];
  if (o.cert || o.key) {
    if (!o.cert || !o.key) throw new ConfigError('--cert and --key must be given together');
    connect.cert = readPem(o.cert, '--cert');
    connect.key = readPem(o.key, '--key');
  }
  return connect;
}

// Long-lived streams: our own keepalive detects dead peers, not undici's body timeout.
// headersTimeout stays above the longest poll wait (25 s).
const TIMEOUTS = { bodyTimeout: 0, headersTimeout: 40_000 } as const;

export interface NetworkPathOptions extends DispatcherOptions {
  /** Gateway URL (any of http/https/ws/wss). */
  gateway: string;
  env?: NodeJS.ProcessEnv;
  /** Use this dispatcher for everything (tests, embedders); no proxy handling then. */
  dispatcher?: Dispatcher;
}

export class NetworkPath {
  readonly proxy: ProxyChoice | undefined;
  private readonly secure: boolean;
  private readonly tls: Record<string, unknown>;
  private readonly given: Dispatcher | undefined;
  private readonly dispatchers = new Map<ProxyMode, Dispatcher>();
  private connectRefused = false;

  constructor(o: NetworkPathOptions) {
    this.tls = tlsConnectOptions(o);
    watchTlsAlerts();
    this.given = o.dispatcher;
    const protocol = new URL(o.gateway).protocol;
    this.secure = protocol === 'https:' || protocol === 'wss:';
    this.proxy = o.dispatcher ? undefined : resolveProxy(o.gateway, o.proxy, o.env ?? process.env);
  }

  /**
   * Ways to cross the network, best first. `fresh` ignores an earlier CONNECT refusal:
   * for the background re-probe, since proxy policies change.
   */
  modes(fresh = false): ProxyMode[] {
    if (!this.proxy) return ['direct'];
    if (this.secure) return ['connect'];
    return this.connectRefused && !fresh ? ['forward'] : ['connect', 'forward'];
  }

  /** The proxy refused CONNECT: use forwarding from now on (http:// gateways only)... */
  markConnectRefused(): void {
    this.connectRefused = true;
  }

  /** ...until CONNECT is seen working again, or everything failed and we start over. */
  clearConnectRefused(): void {
    this.connectRefused = false;
  }

  /** Short description for logs: "direct", "via proxy http://***@p:3128 (CONNECT)". */
  describe(mode: ProxyMode): string {
    if (mode === 'direct' || !this.proxy) return 'direct';
    return `via proxy ${this.proxy.redacted} (${mode === 'connect' ? 'CONNECT' : 'forwarding'})`;
  }

  dispatcher(mode: ProxyMode): Dispatcher {
    if (this.given) return this.given;
    let d = this.dispatchers.get(mode);
    if (!d) {
      d = this.create(mode);
      this.dispatchers.set(mode, d);
    }
    return d;
  }

  private create(mode: ProxyMode): Dispatcher {
    const connect = this.tls;
    if (mode === 'direct' || !this.proxy) return new Agent({ connect, ...TIMEOUTS });
    const p = this.proxy;
    return new ProxyAgent({
      uri: p.url.href,
      ...(p.token ? { token: p.token } : {}),
      proxyTunnel: mode === 'connect',
      // TLS to the gateway through the tunnel; the CA also serves an https:// proxy.
      requestTls: connect,
      ...(connect.ca ? { proxyTls: { ca: connect.ca } } : {}),
      ...TIMEOUTS,
      // Forwarding mode builds its own client to the proxy from `factory` alone, without
      // the agent's timeouts: give it ours so an SSE stream is not cut after 300 s of calm.
      factory: (origin: string | URL, opts: object) => new Pool(origin, { ...opts, ...TIMEOUTS }),
    } as ProxyAgent.Options);
  }

  async close(): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
  }
}

/** One dispatcher for the path's first mode (kept for callers that need just one). */
export function createDispatcher(o: DispatcherOptions & { gateway: string; env?: NodeJS.ProcessEnv }): Dispatcher {
  const path = new NetworkPath(o);
  return path.dispatcher(path.modes()[0]!);
}
