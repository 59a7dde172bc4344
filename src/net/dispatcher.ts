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
 *
 * CONNECT tunnels are opened by src/net/proxy-tunnel.ts (undici's `connect` hook), which
 * authenticates with the scheme the proxy's 407 asks for (Basic, NTLM, Negotiate) on the
 * same kept-alive connection. Forwarding mode stays undici's ProxyAgent with a Basic
 * header on every request: NTLM and Negotiate authenticate a connection, and undici's
 * pool gives no say over which connection a forwarded request takes, so those schemes
 * work through CONNECT only (forwardRefusal says so).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector, Pool, ProxyAgent, type Dispatcher } from 'undici';
import { ConfigError, ProxyAuthError } from '../errors.js';
import { ProxyAuthenticator } from './proxy-auth/authenticator.js';
import type { SchemeName } from './proxy-auth/challenges.js';
import { resolveProxy, withCredentials, type ProxyChoice } from './proxy.js';
import { openTunnel } from './proxy-tunnel.js';
import { watchTlsAlerts } from './tls-alerts.js';

export interface DispatcherOptions {
  /** Explicit proxy URL (overrides the environment, NO_PROXY included). */
  proxy?: string;
  /** Proxy user (`DOMAIN\\user` for NTLM) and password; win over the proxy URL's userinfo. */
  proxyUser?: string;
  proxyPassword?: string;
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
/** Bound on opening one CONNECT tunnel, authentication included. */
const TUNNEL_TIMEOUT_MS = 30_000;

/** The proxy with REVERSE_PROXY_PROXY_USER/_PASSWORD applied over the URL's userinfo. */
function applyCredentials(p: ProxyChoice, user: string | undefined, password: string | undefined): ProxyChoice {
  if (user === undefined && password === undefined) return p;
  return withCredentials(p, { user: user ?? p.credentials?.user ?? '', password: password ?? p.credentials?.password ?? '' });
}

export interface NetworkPathOptions extends DispatcherOptions {
  /** Gateway URL (any of http/https/ws/wss). */
  gateway: string;
  env?: NodeJS.ProcessEnv;
  /** Use this dispatcher for everything (tests, embedders); no proxy handling then. */
  dispatcher?: Dispatcher;
}

export class NetworkPath {
  readonly proxy: ProxyChoice | undefined;
  /** Runs the proxy's authentication handshakes; remembers the scheme that worked. */
  readonly proxyAuth: ProxyAuthenticator | undefined;
  /** Set by the negotiator: a proxy authentication scheme worked for the first time. */
  onproxyauth?: (scheme: SchemeName, principal: string) => void;
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
    const proxy = o.dispatcher ? undefined : resolveProxy(o.gateway, o.proxy, o.env ?? process.env);
    this.proxy = proxy && applyCredentials(proxy, o.proxyUser, o.proxyPassword);
    this.proxyAuth = this.proxy && new ProxyAuthenticator(this.proxy, { onauthenticated: (scheme, who) => this.onproxyauth?.(scheme, who) });
  }

  /**
   * Forwarding cannot carry a connection-bound scheme (see the file comment): the error
   * to report instead of trying, once the proxy is known to want NTLM or Negotiate.
   */
  forwardRefusal(): ProxyAuthError | undefined {
    const scheme = this.proxyAuth?.scheme;
    if (!this.proxy || (scheme !== 'NTLM' && scheme !== 'Negotiate')) return undefined;
    return new ProxyAuthError(
      this.proxy.redacted,
      `proxy ${this.proxy.redacted} refused CONNECT to the gateway and authenticates with ${scheme}, which this client supports through CONNECT tunnels only: ` +
        'use an https:// gateway (CONNECT to port 443 is allowed almost everywhere), or ask for CONNECT to the gateway port to be allowed',
    );
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
    if (mode === 'direct' || !this.proxy || !this.proxyAuth) return new Agent({ connect, ...TIMEOUTS });
    if (mode === 'connect') return this.tunnelAgent(this.proxy, this.proxyAuth);
    // Forwarding (http:// gateways only): absolute-URI requests, Basic on each of them.
    const p = this.proxy;
    return new ProxyAgent({
      uri: p.url.href,
      ...(p.token ? { token: p.token } : {}),
      proxyTunnel: false,
      ...(connect.ca ? { proxyTls: { ca: connect.ca } } : {}),
      ...TIMEOUTS,
      // Forwarding mode builds its own client to the proxy from `factory` alone, without
      // the agent's timeouts: give it ours so an SSE stream is not cut after 300 s of calm.
      factory: (origin: string | URL, opts: object) => new Pool(origin, { ...opts, ...TIMEOUTS }),
    } as ProxyAgent.Options);
  }

  /** Every connection is a CONNECT tunnel opened (and authenticated) by proxy-tunnel.ts. */
  private tunnelAgent(p: ProxyChoice, auth: ProxyAuthenticator): Dispatcher {
    // TLS to the gateway inside the tunnel; the CA also serves an https:// proxy.
    const endpoint = buildConnector({ ...this.tls } as buildConnector.BuildOptions);
    const ca = this.tls.ca as string[] | undefined;
    const connect: buildConnector.connector = (opts, callback) => {
      const port = opts.port || (opts.protocol === 'https:' ? '443' : '80');
      openTunnel({ proxy: p.url, target: `${opts.hostname}:${port}`, auth, timeoutMs: TUNNEL_TIMEOUT_MS, ...(ca ? { proxyTls: { ca } } : {}) }).then(
        (socket) => (opts.protocol === 'https:' ? endpoint({ ...opts, httpSocket: socket }, callback) : callback(null, socket)),
        (err: Error) => callback(err, null),
      );
    };
    return new Agent({ connect, ...TIMEOUTS });
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
