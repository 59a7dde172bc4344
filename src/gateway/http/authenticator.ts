/**
 * Turns an incoming request's Authorization header into a Principal, once per request,
 * for every entry point (HTTP routes, MCP endpoint, tunnel upgrades). `--no-auth` is an
 * explicit opt-out: everyone is an anonymous admin, and we say so once, loudly.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../observability/logger.js';
import type { GatewayOptions } from '../../config/types.js';
import { ConfigError } from '../../errors.js';
import { TokenError, verifyToken, type Principal } from './auth.js';
import { pathOf } from './respond.js';

export const ANONYMOUS_PRINCIPAL: Readonly<Principal> = Object.freeze({ subject: 'anonymous', isAdmin: true });

export type Authenticate = (req: IncomingMessage) => Promise<Principal>;

export function createAuthenticator(
  opts: Pick<GatewayOptions, 'noAuth' | 'jwtSecret' | 'jwtIssuer' | 'jwtAudience'>,
  logger: Logger,
  /** Metrics: called with the stable reason of every refused token. */
  onFailure?: (reason: string) => void,
): Authenticate {
  if (opts.noAuth) {
    logger.warn(
      { event: 'auth_disabled' },
      'authentication is DISABLED (--no-auth): every request acts as an anonymous admin; do not expose this gateway',
    );
    return async () => ({ ...ANONYMOUS_PRINCIPAL });
  }
  const secret = opts.jwtSecret;
  if (!secret) {
    throw new ConfigError('the gateway needs a JWT secret: pass --jwt-secret or set JWT_SECRET_KEY (or run with --no-auth)');
  }
  const cfg = { secret, issuer: opts.jwtIssuer, audience: opts.jwtAudience };
  return async (req) => {
    try {
      return await verifyToken(req.headers.authorization, cfg);
    } catch (err) {
      const reason = err instanceof TokenError ? err.reason : 'malformed';
      onFailure?.(reason);
      // Never the token itself: reason, route and peer only.
      logger.warn(
        { event: 'auth_failed', reason, method: req.method, path: pathOf(req), remote: req.socket.remoteAddress },
        `authentication failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      throw err;
    }
  };
}
