/**
 * Gateway tokens: HS256 JWTs compatible with ContextForge's `create_jwt_token`
 * (mcpgateway/utils/create_jwt_token.py): `sub` and `username`, `iat`, `exp`, `jti`,
 * `iss` (default `mcpgateway`), `aud` (default `mcpgateway-api`), optional `is_admin`.
 *
 * Tokens never appear in logs or error messages: failures carry a `reason` only.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { ReverseProxyError } from '../../errors.js';

/** ContextForge's CLI default lifetime: 7 days. `0` mints a token without `exp`, as ContextForge does. */
export const DEFAULT_TOKEN_EXP_MINUTES = 10080;
export const DEFAULT_JWT_ISSUER = 'mcpgateway';
export const DEFAULT_JWT_AUDIENCE = 'mcpgateway-api';

/** Who a request acts for. */
export interface Principal {
  subject: string;
  isAdmin: boolean;
}

export interface MintTokenOptions {
  username: string;
  secret: string;
  /** Lifetime in minutes (default 10080 = 7 days, ContextForge's default); 0 = no expiry. */
  expMinutes?: number;
  admin?: boolean;
  issuer?: string;
  audience?: string;
}

export interface VerifyTokenConfig {
  secret: string;
  issuer?: string;
  audience?: string;
}

export type TokenFailureReason =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'invalid_claims';

/** A bearer token was refused. `reason` is stable; the message is for people and never contains the token. */
export class TokenError extends ReverseProxyError {
  readonly reason: TokenFailureReason;
  constructor(reason: TokenFailureReason, message: string, options: { cause?: unknown } = {}) {
    super('ERR_AUTH_REJECTED', message, options);
    this.reason = reason;
  }
}

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function mintToken(o: MintTokenOptions): Promise<string> {
  if (!o.username) throw new TokenError('invalid_claims', 'cannot mint a token without a username');
  if (!o.secret) throw new TokenError('invalid_claims', 'cannot mint a token without a secret');
  const expMinutes = o.expMinutes ?? DEFAULT_TOKEN_EXP_MINUTES;
  if (!Number.isFinite(expMinutes) || expMinutes < 0) {
    throw new TokenError('invalid_claims', `token lifetime must be >= 0 minutes, got ${expMinutes}`);
  }
  const claims: JWTPayload & Record<string, unknown> = { username: o.username };
  if (o.admin) claims.is_admin = true;
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.username)
    .setIssuedAt(now)
    .setJti(randomUUID())
    .setIssuer(o.issuer ?? DEFAULT_JWT_ISSUER)
    .setAudience(o.audience ?? DEFAULT_JWT_AUDIENCE);
  if (expMinutes > 0) jwt.setExpirationTime(now + Math.round(expMinutes * 60));
  return jwt.sign(secretKey(o.secret));
}

/** Extract the token from `Authorization: Bearer <jwt>`. */
function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '') {
    throw new TokenError('missing', 'missing Authorization header (expected "Bearer <token>")');
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
  if (!m) throw new TokenError('malformed', 'Authorization header is not of the form "Bearer <token>"');
  return m[1]!;
}

function principalFrom(payload: JWTPayload): Principal {
  const p = payload as Record<string, unknown>;
  const subject = [p.sub, p.username, p.email].find((v): v is string => typeof v === 'string' && v.length > 0);
  if (subject === undefined) {
    throw new TokenError('invalid_claims', 'token names no user (no "sub", "username" or "email" claim)');
  }
  return { subject, isAdmin: p.is_admin === true };
}

function translate(err: unknown, cfg: VerifyTokenConfig): TokenError {
  if (err instanceof TokenError) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenError('expired', 'token has expired', { cause: err });
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new TokenError('bad_signature', 'token signature does not verify (wrong secret?)', { cause: err });
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') {
      return new TokenError('wrong_issuer', `token issuer is not "${cfg.issuer ?? DEFAULT_JWT_ISSUER}"`, { cause: err });
    }
    if (err.claim === 'aud') {
      return new TokenError('wrong_audience', `token audience is not "${cfg.audience ?? DEFAULT_JWT_AUDIENCE}"`, { cause: err });
    }
    return new TokenError('invalid_claims', `token claim "${err.claim}" is invalid (${err.reason})`, { cause: err });
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return new TokenError('malformed', 'token is not signed with HS256', { cause: err });
  }
  return new TokenError('malformed', 'token is not a well-formed JWT', { cause: err });
}

/** Verify `Authorization: Bearer <jwt>` and return who it names. Throws TokenError. */
export async function verifyToken(authorizationHeader: string | undefined, cfg: VerifyTokenConfig): Promise<Principal> {
  const token = bearerToken(authorizationHeader);
  try {
    const { payload } = await jwtVerify(token, secretKey(cfg.secret), {
      algorithms: ['HS256'],
      issuer: cfg.issuer ?? DEFAULT_JWT_ISSUER,
      audience: cfg.audience ?? DEFAULT_JWT_AUDIENCE,
    });
    return principalFrom(payload);
  } catch (err) {
    throw translate(err, cfg);
  }
}
