/**
 * Sealed `requestState` for MRTR (S/basic/patterns/mrtr, "Server Requirements"): the value
 * travels through the MCP client, so it is attacker-controlled input. The gateway seals what
 * it needs with AES-256-GCM (confidential and tamper-evident) and binds it to the principal,
 * the server, the method plus a digest of the request's own parameters, and an expiry. A
 * state presented by another principal, for another server or request, after its expiry,
 * or altered in any bit, is refused.
 *
 * The key: derived with HKDF from the gateway's JWT secret, so every replica that verifies
 * the same tokens also opens the same states (docs/scale-out.md); a gateway without a secret
 * (--no-auth) uses a random key per process.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What a sealed state asserts. `ref` and `inner` are the caller's own payload. */
export interface RequestStateClaims {
  /** Token subject the state was issued to. */
  principal: string;
  /** Tunneled server name. */
  server: string;
  method: string;
  /** paramsDigest() of the request that got the input_required answer. */
  digest: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  /** The gateway's handle on what waits for the retry (a parked call). */
  ref?: string;
  /** A modern server's own requestState, wrapped (passed back to it verbatim on retry). */
  inner?: string;
}

export type Opened = { ok: true; claims: RequestStateClaims } | { ok: false; reason: string };

export function requestStateKey(jwtSecret: string | undefined): Buffer {
  if (jwtSecret === undefined || jwtSecret === '') return randomBytes(32);
  return Buffer.from(hkdfSync('sha256', jwtSecret, 'mcp-reverse-proxy', 'requestState v1', 32));
}

export class RequestStateSealer {
  constructor(
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    if (key.length !== 32) throw new Error('requestState key must be 32 bytes');
  }

  seal(claims: RequestStateClaims): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from([VERSION]));
    const body = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** Open `token` and check it was issued for exactly this principal, server, method and params. */
  open(token: unknown, expect: Pick<RequestStateClaims, 'principal' | 'server' | 'method' | 'digest'>): Opened {
    const claims = this.decrypt(token);
    if (!claims) return { ok: false, reason: 'requestState is not one this gateway issued (forged, altered or truncated)' };
    if (claims.exp <= this.now()) return { ok: false, reason: 'requestState has expired' };
    if (claims.principal !== expect.principal) return { ok: false, reason: 'requestState was issued to another user' };
    if (claims.server !== expect.server) return { ok: false, reason: 'requestState was issued for another server' };
    if (claims.method !== expect.method || claims.digest !== expect.digest) {
      return { ok: false, reason: 'requestState was issued for a different request (method or parameters differ)' };
    }
    return { ok: true, claims };
  }

  private decrypt(token: unknown): RequestStateClaims | undefined {
    if (typeof token !== 'string' || token.length > 64 * 1024) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length < 1 + IV_BYTES + TAG_BYTES + 2 || raw[0] !== VERSION) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(1, 1 + IV_BYTES));
      decipher.setAAD(raw.subarray(0, 1));
      decipher.setAuthTag(raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
      const text = Buffer.concat([decipher.update(raw.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      const c = JSON.parse(text) as Partial<RequestStateClaims>;
      if (typeof c.principal !== 'string' || typeof c.server !== 'string' || typeof c.method !== 'string') return undefined;
      if (typeof c.digest !== 'string' || typeof c.exp !== 'number') return undefined;
      return c as RequestStateClaims;
    } catch {
      return undefined;
    }
  }
}

/** Parameters that do not identify the request: the envelope and the MRTR round's own inputs. */
const NOT_IDENTIFYING = new Set(['_meta', 'inputResponses', 'requestState']);

/**
 * SHA-256 of the request's identifying parameters in canonical JSON (keys sorted), so a
 * retry with the same params in another key order matches and any other request does not.
 * Depth is bounded by the MCP endpoint's nesting limit (json-depth.ts) before this runs.
 */
export function paramsDigest(params: Record<string, unknown> | undefined): string {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params ?? {})) if (!NOT_IDENTIFYING.has(k)) kept[k] = v;
  return createHash('sha256').update(canonical(kept)).digest('base64url');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
