/**
 * Proxy authentication chosen from the 407 challenge, like curl's `--proxy-anyauth`: the
 * first request goes without credentials, the proxy's `Proxy-Authenticate` says which
 * schemes it takes, and we answer with the strongest one we can (Negotiate with the
 * user's Kerberos ticket, NTLM or Basic with the configured credentials). The scheme that
 * worked is remembered, so later connections authenticate on their first request.
 *
 * Fail fast: when the proxy answers 407 to what the chosen scheme sent, that is a
 * ProxyAuthError naming the scheme (exit status 3), never another scheme or another try
 * with the same secret. Messages name the user or SPN, never a password or a token.
 */
import { ProxyAuthError } from '../../errors.js';
import type { AuthProxy } from './credentials.js';
import { describeOffered, SUPPORTED_SCHEMES, type Challenges, type SchemeName } from './challenges.js';
import { KERBEROS_INSTALL_HINT, loadKerberos, negotiateSession, NegotiateUnavailable } from './negotiate.js';
import { ntlmSession } from './ntlm.js';
import { basicSession, type AuthSession } from './session.js';

/** NTLM needs 2 rounds, SPNEGO rarely more than 3: beyond this the proxy is looping. */
const MAX_ROUNDS = 4;

// No `user:password@` example here: the logger masks anything that looks like userinfo.
const CREDENTIALS_HINT =
  'set REVERSE_PROXY_PROXY_USER (DOMAIN\\user for NTLM) and REVERSE_PROXY_PROXY_PASSWORD (config keys proxy_user, proxy_password), ' +
  'or put them in the proxy URL as percent-encoded userinfo (the backslash of DOMAIN\\user is %5C: DOMAIN%5Cuser)';

const REJECTED_HINT: Record<SchemeName, string> = {
  Basic: 'check the user name and password (proxy URL, or REVERSE_PROXY_PROXY_USER / REVERSE_PROXY_PROXY_PASSWORD)',
  NTLM: 'check the domain, user name and password (DOMAIN\\user: DOMAIN%5Cuser in the proxy URL, or REVERSE_PROXY_PROXY_USER / REVERSE_PROXY_PROXY_PASSWORD)',
  Negotiate: 'check that your ticket is for the proxy\'s realm (klist) and that the proxy knows the SPN HTTP/<proxy host>; renew it with kinit',
};

export interface AuthenticatorOptions {
  /** Where `kerberos` comes from (tests inject a missing module). */
  kerberos?: typeof loadKerberos;
  /** Called when a scheme first succeeds (and again if it changes). */
  onauthenticated?: (scheme: SchemeName, principal: string) => void;
}

export class ProxyAuthenticator {
  /** The scheme that last worked with this proxy. */
  scheme: SchemeName | undefined;

  constructor(
    readonly proxy: AuthProxy,
    private readonly opts: AuthenticatorOptions = {},
  ) {}

  /** One handshake, for one connection to the proxy. */
  handshake(): ProxyHandshake {
    return new ProxyHandshake(this);
  }

  /** A fresh session of `scheme`, or why this machine cannot do it. */
  createSession(scheme: SchemeName): AuthSession | undefined {
    const c = this.proxy.credentials;
    if (scheme === 'Negotiate') return negotiateSession(this.proxy.url.hostname, this.opts.kerberos);
    if (!c) return undefined;
    return scheme === 'NTLM' ? ntlmSession(c) : basicSession(c);
  }

  succeeded(session: AuthSession): void {
    if (this.scheme === session.scheme) return;
    this.scheme = session.scheme;
    this.opts.onauthenticated?.(session.scheme, session.principal);
  }
}

export class ProxyHandshake {
  private session: AuthSession | undefined;
  private rounds = 0;

  constructor(private readonly auth: ProxyAuthenticator) {}

  private get proxyName(): string {
    return this.auth.proxy.redacted;
  }

  /** Proxy-Authorization for the first request: none until a scheme is known. */
  async first(): Promise<string | undefined> {
    const known = this.auth.scheme;
    if (!known) return undefined;
    const session = this.auth.createSession(known);
    if (!session) return undefined;
    try {
      const header = await session.initial();
      this.session = session;
      return header;
    } catch {
      // The ticket may have expired since: start over from the proxy's challenge.
      return undefined;
    }
  }

  /** The proxy answered 407 with these challenges: the next Proxy-Authorization, or throw. */
  async next(challenges: Challenges): Promise<string> {
    if (++this.rounds > MAX_ROUNDS) throw this.rejected(this.session);
    const session = this.session;
    if (session) {
      const param = challenges.get(session.scheme);
      let header: string | undefined;
      try {
        header = param === undefined ? undefined : await session.respond(param);
      } catch (err) {
        throw new ProxyAuthError(this.proxyName, `proxy ${this.proxyName}: ${session.scheme} authentication failed: ${(err as Error).message}`);
      }
      if (header === undefined) throw this.rejected(session);
      return header;
    }
    return this.choose(challenges);
  }

  /** The request got through: remember the scheme for the next connections. */
  succeeded(): void {
    if (this.session) this.auth.succeeded(this.session);
  }

  /** Strongest offered scheme we can answer; otherwise say what is missing. */
  private async choose(offered: Challenges): Promise<string> {
    const problems: string[] = [];
    for (const scheme of SUPPORTED_SCHEMES) {
      if (!offered.has(scheme)) continue;
      const session = this.auth.createSession(scheme);
      if (!session) continue;
      try {
        const header = await session.initial();
        this.session = session;
        return header;
      } catch (err) {
        if (!(err instanceof NegotiateUnavailable)) throw err;
        problems.push(`${err.message}: ${err.reason === 'module' ? KERBEROS_INSTALL_HINT : 'run kinit first (the ticket cache is $KRB5CCNAME, or the default one)'}`);
      }
    }
    const what = `proxy ${this.proxyName} requires authentication (HTTP 407; it offers ${describeOffered(offered)})`;
    if (!SUPPORTED_SCHEMES.some((s) => offered.has(s))) {
      throw new ProxyAuthError(this.proxyName, `${what}, and none of them is supported here (Negotiate, NTLM, Basic)`);
    }
    if ((offered.has('NTLM') || offered.has('Basic')) && !this.auth.proxy.credentials) {
      problems.push(`no credentials are set: ${CREDENTIALS_HINT}`);
    }
    throw new ProxyAuthError(this.proxyName, `${what}: ${problems.join('; ')}`);
  }

  private rejected(session: AuthSession | undefined): ProxyAuthError {
    if (!session) return new ProxyAuthError(this.proxyName, `proxy ${this.proxyName} kept answering 407 without a usable challenge`);
    return new ProxyAuthError(
      this.proxyName,
      `proxy ${this.proxyName} rejected ${session.scheme} authentication as ${session.principal} (HTTP 407): ${REJECTED_HINT[session.scheme]}`,
    );
  }
}
