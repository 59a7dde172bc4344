/**
 * What replicas send each other over Redis is signed (HMAC-SHA256 with a key derived from
 * the cluster secret) and addressed: a message is `v1.<mac>.<json>`, the JSON names its
 * sender, its recipient and when it was sent. A replica drops, and counts, anything whose
 * MAC does not verify, that is addressed to another replica, or that is older than the
 * replay window — whoever can write to Redis but lacks the secret cannot speak for a
 * replica (and so cannot act as any principal).
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const VERSION = 'v1';
/** Messages older (or further in the future) than this are refused. */
export const REPLAY_WINDOW_MS = 30_000;

export interface Addressed {
  /** Message type. */
  t: string;
  from: string;
  to: string;
  /** Sent at (ms since the epoch). */
  ts: number;
}

export function clusterKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'mcp-reverse-proxy', 'cluster messages v1', 32));
}

export function sign<T extends Addressed>(key: Buffer, msg: T): string {
  const json = JSON.stringify(msg);
  return `${VERSION}.${mac(key, json)}.${json}`;
}

export type Verified<T> = { ok: true; msg: T } | { ok: false; reason: string };

export function verify<T extends Addressed>(key: Buffer, text: string, self: string, now: number): Verified<T> {
  const first = text.indexOf('.');
  const second = first === -1 ? -1 : text.indexOf('.', first + 1);
  if (second === -1 || text.slice(0, first) !== VERSION) return { ok: false, reason: 'not a signed message' };
  const given = Buffer.from(text.slice(first + 1, second), 'base64url');
  const json = text.slice(second + 1);
  const expected = Buffer.from(mac(key, json), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  let msg: T;
  try {
    msg = JSON.parse(json) as T;
  } catch {
    return { ok: false, reason: 'signed but not JSON' };
  }
  if (msg.to !== self) return { ok: false, reason: 'addressed to another replica' };
  if (typeof msg.ts !== 'number' || Math.abs(now - msg.ts) > REPLAY_WINDOW_MS) return { ok: false, reason: 'outside the replay window' };
  return { ok: true, msg };
}

function mac(key: Buffer, json: string): string {
  return createHmac('sha256', key).update(json).digest('base64url');
}
