/**
 * One authentication handshake with the proxy, on one connection. Basic is one header;
 * NTLM is type 1 → challenge (type 2) → type 3; Negotiate is one or more GSSAPI tokens.
 * A session never sees a 407 it cannot use: `respond` returning undefined means the proxy
 * rejected what we sent, and the caller stops (no second try with the same secret).
 */
import { basicToken, type ProxyCredentials } from './credentials.js';
import type { SchemeName } from './challenges.js';

export interface AuthSession {
  readonly scheme: SchemeName;
  /** Who we authenticate as, for messages: a user name or an SPN, never a secret. */
  readonly principal: string;
  /** Proxy-Authorization value for the first authenticated request. */
  initial(): Promise<string>;
  /**
   * The proxy answered 407 again, with this scheme's parameter (`''` if bare): the next
   * Proxy-Authorization value, or undefined when that answer means "rejected".
   */
  respond(param: string): Promise<string | undefined>;
}

export function basicSession(credentials: ProxyCredentials): AuthSession {
  return {
    scheme: 'Basic',
    principal: `user "${credentials.user}"`,
    initial: () => Promise.resolve(basicToken(credentials)),
    respond: () => Promise.resolve(undefined),
  };
}
