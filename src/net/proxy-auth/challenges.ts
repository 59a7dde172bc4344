/**
 * `Proxy-Authenticate` challenges (RFC 9110 §11.6.1): one header may carry several
 * comma-separated challenges, and a proxy may send the header several times. Only the
 * scheme and, for NTLM/Negotiate, the token68 that carries the handshake matter here.
 */

/** Scheme name (as we spell it) → its parameter text ('' when bare, as in a first `NTLM`). */
export type Challenges = Map<string, string>;

/** The schemes this client can answer, strongest first (curl's --proxy-anyauth order). */
export const SUPPORTED_SCHEMES = ['Negotiate', 'NTLM', 'Basic'] as const;
export type SchemeName = (typeof SUPPORTED_SCHEMES)[number];

/** A comma followed by `Scheme` and then a space, a comma or the end starts a new challenge. */
const NEXT_CHALLENGE = /,\s*(?=[A-Za-z][\w!#$%&'*+.^`|~-]*(?:\s+[^=\s,][^,]*|\s*)(?:,|$))/;
/** Header values from a peer are bounded by Node's maxHeaderSize; so is this list. */
const MAX_CHALLENGES = 32;

function canonical(scheme: string): string {
  const hit = SUPPORTED_SCHEMES.find((s) => s.toLowerCase() === scheme.toLowerCase());
  return hit ?? scheme;
}

/** `values`: every Proxy-Authenticate header of the response, in order. */
export function parseChallenges(values: readonly string[]): Challenges {
  const out: Challenges = new Map();
  for (const value of values) {
    for (const part of value.split(NEXT_CHALLENGE)) {
      const m = /^\s*([A-Za-z][\w!#$%&'*+.^`|~-]*)(?:\s+(.*?))?\s*$/.exec(part);
      if (!m || out.size >= MAX_CHALLENGES) continue;
      const scheme = canonical(m[1]!);
      if (!out.has(scheme)) out.set(scheme, m[2] ?? '');
    }
  }
  return out;
}

/** Proxy-Authenticate values of a response, from Node's rawHeaders (each kept apart). */
export function proxyAuthenticateValues(rawHeaders: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'proxy-authenticate') values.push(rawHeaders[i + 1]!);
  }
  return values;
}

/** "NTLM, Basic" for messages. */
export function describeOffered(c: Challenges): string {
  return c.size === 0 ? 'no scheme' : [...c.keys()].join(', ');
}
