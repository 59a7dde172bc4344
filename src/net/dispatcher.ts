/**
 * The network path to the gateway: the routes (DIRECT or a proxy, src/net/proxy-route.ts),
 * the TLS material, and one undici dispatcher per route and way of crossing its proxy.
 * Every transport just receives a dispatcher; which one is decided here and in the
 * negotiator.
 *
 * Where the proxy comes from, strongest first: `--proxy` (REVERSE_PROXY_PROXY, config
 * `proxy`); then a PAC file (`--proxy-pac`), evaluated per gateway URL, whose
 * `PROXY a; PROXY b; DIRECT` list is tried in order when a proxy does not answer; then
 * HTTPS_PROXY/HTTP_PROXY/ALL_PROXY with NO_PROXY (src/net/proxy.ts). NO_PROXY does not
 * apply to a PAC file's answer: the PAC file decides for itself. `--proxy system`, and no
 * proxy configured at all, mean the OS settings: src/net/proxy-source.ts decides before
 * the path is built and hands in its choice as `system` (a PAC URL, a proxy, or DIRECT).
 *
 * Proxy modes. curl forwards http:// requests to a proxy as absolute URIs and tunnels
 * https:// through CONNECT. For an http:// gateway we try CONNECT first even so, because
 * many corporate proxies strip `Upgrade` from forwarded requests (the WebSocket then
 * cannot work) but allow CONNECT; and when the proxy refuses CONNECT (typically 403:
 * "CONNECT only to port 443") we fall back to forwarding, which carries SSE and polling
 * fine and sometimes even the upgrade. Once CONNECT was refused it is not tried again for
 * this route. https:// gateways always use CONNECT: forwarding would expose the traffic.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { ConfigError, type ProxyAuthError } from '../errors.js';
import type { SchemeName } from './proxy-auth/challenges.js';
import { PacFile } from './pac.js';
import { parseProxy, resolveProxy, withCredentials, type ProxyChoice } from './proxy.js';
import { ProxyRoute, type ProxyMode } from './proxy-route.js';
import type { SystemRoute } from './system-route.js';
import { watchTlsAlerts } from './tls-alerts.js';

export type { ProxyMode } from './proxy-route.js';

export interface DispatcherOptions {
  /** Explicit proxy URL (overrides a PAC file and the environment, NO_PROXY included). */
  proxy?: string;
  /** PAC file (URL or path) choosing the proxy per gateway URL; overrides the environment. */
  proxyPac?: string;
  /** How often the PAC file is fetched again (ms; default 300 s). */
  proxyPacRefreshMs?: number;
  /** Proxy user (`DOMAIN\\user` for NTLM) and password; win over the proxy URL's userinfo. */
  proxyUser?: string;
  proxyPassword?: string;
  caFile?: string;
  cert?: string;
  key?: string;
}

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

export interface NetworkPathOptions extends DispatcherOptions {
  /** Gateway URL (any of http/https/ws/wss). */
  gateway: string;
  env?: NodeJS.ProcessEnv;
  /** Use this dispatcher for everything (tests, embedders); no proxy handling then. */
  dispatcher?: Dispatcher;
  /** PAC problems that do not stop the tunnel (a failed refresh, an unusable entry). */
  warn?: (message: string) => void;
  /** What the OS proxy settings chose (src/net/proxy-source.ts); replaces the environment. */
  system?: SystemRoute;
}

const DEFAULT_PAC_REFRESH_MS = 300_000;

export class NetworkPath {
  /** Set by the negotiator: a proxy authentication scheme worked for the first time. */
  onproxyauth?: (scheme: SchemeName, principal: string) => void;
  /** Set by the negotiator: the route in use changed (PAC only). */
  onroute?: (label: string) => void;
  readonly pac: PacFile | undefined;
  private readonly o: NetworkPathOptions;
  private readonly secure: boolean;
  private readonly tls: Record<string, unknown>;
  private readonly given: Dispatcher | undefined;
  private routes: ProxyRoute[];
  private index = 0;
  private announced: string | undefined;

  constructor(o: NetworkPathOptions) {
    this.o = o;
    this.tls = tlsConnectOptions(o);
    watchTlsAlerts();
    this.given = o.dispatcher;
    const protocol = new URL(o.gateway).protocol;
    this.secure = protocol === 'https:' || protocol === 'wss:';
    const explicit = o.proxy !== undefined && o.proxy.trim() !== '';
    // A PAC URL from the OS settings goes through the same PAC support as --proxy-pac.
    const pacLocation = o.proxyPac ?? (o.system?.kind === 'pac' ? o.system.location : undefined);
    if (!o.dispatcher && !explicit && pacLocation) {
      this.pac = new PacFile({
        location: pacLocation,
        refreshMs: o.proxyPacRefreshMs ?? DEFAULT_PAC_REFRESH_MS,
        ...(this.tls.ca ? { ca: this.tls.ca as string[] } : {}),
        ...(o.warn ? { warn: o.warn } : {}),
      });
      this.routes = [];
      return;
    }
    const system = explicit ? undefined : o.system;
    const proxy = o.dispatcher ? undefined : system ? (system.kind === 'proxy' ? system.proxy : undefined) : resolveProxy(o.gateway, o.proxy, o.env ?? process.env);
    this.routes = [this.route(proxy ? proxy.redacted : 'DIRECT', proxy)];
  }

  private route(label: string, proxy: ProxyChoice | undefined): ProxyRoute {
    const p = proxy && this.withConfiguredCredentials(proxy);
    return new ProxyRoute(label, p, this.tls, (scheme, who) => this.onproxyauth?.(scheme, who));
  }

  /** REVERSE_PROXY_PROXY_USER/_PASSWORD win over the URL's userinfo. */
  private withConfiguredCredentials(p: ProxyChoice): ProxyChoice {
    const { proxyUser: user, proxyPassword: password } = this.o;
    if (user === undefined && password === undefined) return p;
    return withCredentials(p, { user: user ?? p.credentials?.user ?? '', password: password ?? p.credentials?.password ?? '' });
  }

  private get current(): ProxyRoute {
    return this.routes[this.index] ?? this.routes[0]!;
  }

  /** The proxy of the route in use (undefined: direct, or a PAC file not evaluated yet). */
  get proxy(): ProxyChoice | undefined {
    return this.routes[this.index]?.proxy;
  }

  get routeCount(): number {
    return this.routes.length;
  }

  get routeIndex(): number {
    return this.index;
  }

  routeLabel(i = this.index): string {
    return this.routes[i]?.label ?? 'DIRECT';
  }

  selectRoute(i: number): void {
    if (i >= 0 && i < this.routes.length) this.index = i;
  }

  /**
   * With a PAC file: (re)evaluate it for the gateway URL (fetched again when due) and
   * take its list of routes. A route that stays in the list keeps its state (the
   * authentication scheme, a CONNECT refusal); the one in use stays in use.
   */
  async refresh(): Promise<void> {
    if (!this.pac) return;
    const entries = await this.pac.routes(this.o.gateway);
    if (entries.length === 0) throw new ConfigError(`PAC file ${this.pac.location} gave no usable route for ${new URL(this.o.gateway).host}`);
    const labels = entries.map((e) => e.label);
    if (labels.join(';') === this.routes.map((r) => r.label).join(';')) return;
    const inUse = this.routes[this.index]?.label;
    const old = new Map(this.routes.map((r) => [r.label, r]));
    this.routes = entries.map((e) => old.get(e.label) ?? this.route(e.label, e.kind === 'direct' ? undefined : parseProxy(e.url, `PAC file ${this.pac!.location}`)));
    for (const [label, r] of old) if (!labels.includes(label)) void r.close();
    this.index = Math.max(0, labels.indexOf(inUse ?? ''));
  }

  /** The route in use carried a transport: say so once per change (PAC only). */
  routeWorked(): void {
    const label = this.current.label;
    if (!this.pac || label === this.announced) return;
    this.announced = label;
    this.onroute?.(label);
  }

  /**
   * Ways to cross the network, best first. `fresh` ignores an earlier CONNECT refusal:
   * for the background re-probe, since proxy policies change.
   */
  modes(fresh = false): ProxyMode[] {
    const r = this.current;
    if (!r.proxy) return ['direct'];
    if (this.secure) return ['connect'];
    return r.connectRefused && !fresh ? ['forward'] : ['connect', 'forward'];
  }

  /** The proxy refused CONNECT: use forwarding from now on (http:// gateways only)... */
  markConnectRefused(): void {
    this.current.connectRefused = true;
  }

  /** ...until CONNECT is seen working again, or everything failed and we start over. */
  clearConnectRefused(): void {
    this.current.connectRefused = false;
  }

  forwardRefusal(): ProxyAuthError | undefined {
    return this.current.forwardRefusal();
  }

  /** The authentication scheme that worked with the route's proxy, if any. */
  get proxyAuthScheme(): SchemeName | undefined {
    return this.current.auth?.scheme;
  }

  /** Short description for logs: "direct", "via proxy http://***@p:3128 (CONNECT)". */
  describe(mode: ProxyMode): string {
    return this.current.describe(mode);
  }

  dispatcher(mode: ProxyMode): Dispatcher {
    if (this.given) return this.given;
    return this.current.dispatcher(mode);
  }

  async close(): Promise<void> {
    const routes = this.routes;
    this.routes = [];
    this.pac?.dispose();
    await Promise.all(routes.map((r) => r.close()));
  }
}

/** One dispatcher for the path's first mode (kept for callers that need just one). */
export function createDispatcher(o: DispatcherOptions & { gateway: string; env?: NodeJS.ProcessEnv }): Dispatcher {
  const path = new NetworkPath(o);
  return path.dispatcher(path.modes()[0]!);
}
