/**
 * The `DiscoverResult` of an MCP 2026-07-28 server (S/server/discover, schema
 * `DiscoverResult`): what the tunnel client reads from its local server's `server/discover`
 * and registers with the gateway (docs/protocol.md §2, `server.discover`). One reader for
 * both ends, so a client never registers what the gateway would refuse.
 *
 * The object comes from the local server (client side) or from any token holder (gateway
 * side): its shape is checked and its size bounded before anything keeps it.
 */
import { META } from './mcp-modern.js';

/** Bound on a DiscoverResult, serialized (instructions included). */
export const MAX_DISCOVER_BYTES = 256 * 1024;
/** Bounds on `supportedVersions`: entries, and characters per entry. */
export const MAX_SUPPORTED_VERSIONS = 32;
export const MAX_VERSION_CHARS = 64;

export type ServerEra = 'legacy' | 'modern';
export const SERVER_ERAS: readonly ServerEra[] = ['legacy', 'modern'];

type Obj = Record<string, unknown>;

export interface DiscoverResultLike {
  supportedVersions: string[];
  capabilities: Obj;
  instructions?: string;
  _meta?: Obj;
  resultType?: string;
  ttlMs?: number;
  cacheScope?: string;
  [k: string]: unknown;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The result as given (nothing dropped), or a sentence naming the first problem. */
export function readDiscoverResult(value: unknown): DiscoverResultLike | string {
  if (!isObj(value)) return 'the DiscoverResult is not an object';
  const versions = value.supportedVersions;
  if (!Array.isArray(versions) || versions.length === 0) return 'DiscoverResult.supportedVersions must be a non-empty array';
  if (versions.length > MAX_SUPPORTED_VERSIONS) return `DiscoverResult.supportedVersions has more than ${MAX_SUPPORTED_VERSIONS} entries`;
  if (!versions.every((v) => typeof v === 'string' && v !== '' && v.length <= MAX_VERSION_CHARS)) {
    return `DiscoverResult.supportedVersions must hold non-empty strings of at most ${MAX_VERSION_CHARS} characters`;
  }
  if (!isObj(value.capabilities)) return 'DiscoverResult.capabilities must be an object';
  if (value.instructions !== undefined && typeof value.instructions !== 'string') return 'DiscoverResult.instructions must be a string';
  if (value._meta !== undefined && !isObj(value._meta)) return 'DiscoverResult._meta must be an object';
  // A result without resultType counts as complete (S/basic/patterns/mrtr); anything else is not an answer.
  if (value.resultType !== undefined && value.resultType !== 'complete') {
    return `DiscoverResult.resultType must be "complete", got ${JSON.stringify(String(value.resultType).slice(0, 40))}`;
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_DISCOVER_BYTES) return `the DiscoverResult is ${bytes} bytes, more than ${MAX_DISCOVER_BYTES}`;
  return value as DiscoverResultLike;
}

/** `_meta["io.modelcontextprotocol/serverInfo"]` when it is usable (servers SHOULD send it). */
export function discoverServerInfo(d: DiscoverResultLike): { name: string; version: string; [k: string]: unknown } | undefined {
  const info = d._meta?.[META.serverInfo];
  if (!isObj(info) || typeof info.name !== 'string' || info.name === '') return undefined;
  return { ...info, name: info.name, version: typeof info.version === 'string' ? info.version : '' };
}
