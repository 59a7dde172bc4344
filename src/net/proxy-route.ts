/**
 * One way to the gateway: DIRECT, or one proxy (with its authentication state and its
 * undici dispatchers, one per proxy mode). A NetworkPath has one route, or, with a PAC
 * file, the ordered list of routes the PAC file gave.
 *
 * CONNECT tunnels are opened by src/net/proxy-tunnel.ts (undici's `connect` hook), which
 * authenticates with the scheme the proxy's 407 asks for (Basic, NTLM, Negotiate) on the
 * same kept-alive connection. Forwarding mode (http:// gateways whose proxy refuses
 * CONNECT) stays undici's ProxyAgent with a Basic header on every request: NTLM and
 * Negotiate authenticate a connection, and undici's pool gives no say over which
 * connection a forwarded request takes, so those schemes work through CONNECT only
 * (forwardRefusal says so).
 */
import type { Socket } from 'node:net';
import { Agent, Pool, ProxyAgent, type buildConnector, type Dispatcher } from 'undici';
import { ProxyAuthError } from '../errors.js';
import { ProxyAuthenticator } from './proxy-auth/authenticator.js';
import type { SchemeName } from './proxy-auth/challenges.js';
import type { ProxyChoice } from './proxy.js';
import { openTunnel } from './proxy-tunnel.js';
import { secureTunnel } from './tunnel-tls.js';

export type ProxyMode = 'direct' | 'connect' | 'forward';

// Long-lived streams: our own keepalive detects dead peers, not undici's body timeout.
// headersTimeout stays above the longest poll wait (25 s).
export const TIMEOUTS = { bodyTimeout: 0, headersTimeout: 40_000 } as const;
/** Bound on opening one CONNECT tunnel, authentication included. */
const TUNNEL_TIMEOUT_MS = 30_000;

export class ProxyRoute {
  /** Runs the proxy's authentication handshakes; remembers the scheme that worked. */
  readonly auth: ProxyAuthenticator | undefined;
  private readonly dispatchers = new Map<ProxyMode, Dispatcher>();
  /** The proxy refused CONNECT: forwarding only, until CONNECT works again. */
  connectRefused = false;

  constructor(
    /** `DIRECT`, or the PAC entry / proxy URL it came from (redacted). */
    readonly label: string,
    readonly proxy: ProxyChoice | undefined,
    private readonly tls: Record<string, unknown>,
    onauthenticated: (scheme: SchemeName, principal: string) => void,
  ) {
    this.auth = proxy && new ProxyAuthenticator(proxy, { onauthenticated });
  }

  /** Short description for logs: "direct", "via proxy http://***@p:3128 (CONNECT)". */
  describe(mode: ProxyMode): string {
    if (mode === 'direct' || !this.proxy) return 'direct';
    return `via proxy ${this.proxy.redacted} (${mode === 'connect' ? 'CONNECT' : 'forwarding'})`;
  }

  /**
   * Forwarding cannot carry a connection-bound scheme (see the file comment): the error
   * to report instead of trying, once the proxy is known to want NTLM or Negotiate.
   */
  forwardRefusal(): ProxyAuthError | undefined {
    const scheme = this.auth?.scheme;
    if (!this.proxy || (scheme !== 'NTLM' && scheme !== 'Negotiate')) return undefined;
    return new ProxyAuthError(
      this.proxy.redacted,
      `proxy ${this.proxy.redacted} refused CONNECT to the gateway and authenticates with ${scheme}, which this client supports through CONNECT tunnels only: ` +
        'use an https:// gateway (CONNECT to port 443 is allowed almost everywhere), or ask for CONNECT to the gateway port to be allowed',
    );
  }

  dispatcher(mode: ProxyMode): Dispatcher {
    let d = this.dispatchers.get(mode);
    if (!d) {
      d = this.create(mode);
      this.dispatchers.set(mode, d);
    }
    return d;
  }

  private create(mode: ProxyMode): Dispatcher {
    const connect = this.tls;
    if (mode === 'direct' || !this.proxy || !this.auth) return new Agent({ connect, ...TIMEOUTS });
    if (mode === 'connect') return this.tunnelAgent(this.proxy, this.auth);
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

  /**
   * Every connection is a CONNECT tunnel opened (and authenticated) by proxy-tunnel.ts,
   * then TLS to the gateway inside it (tunnel-tls.ts names the issuer of a certificate we
   * do not trust: behind a TLS-inspecting proxy that is the corporate CA to ask for).
   */
  private tunnelAgent(p: ProxyChoice, auth: ProxyAuthenticator): Dispatcher {
    const ca = this.tls.ca as string[] | undefined;
    const connect: buildConnector.connector = (opts, callback) => {
      const port = opts.port || (opts.protocol === 'https:' ? '443' : '80');
      openTunnel({ proxy: p.url, target: `${opts.hostname}:${port}`, auth, timeoutMs: TUNNEL_TIMEOUT_MS, ...(ca ? { proxyTls: { ca } } : {}) })
        .then((socket): Promise<Socket> | Socket => (opts.protocol === 'https:' ? secureTunnel(socket, opts.hostname, port, this.tls, opts.servername, p.redacted) : socket))
        .then(
          (socket) => callback(null, socket),
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
