/**
 * The MCP 2026-07-28 ("modern", stateless) wire rules that the gateway's MCP endpoint and
 * the tunnel client share. Spec: S = modelcontextprotocol.io/specification/2026-07-28;
 * S/basic/index#_meta, S/basic/transports/streamable-http ("Request Metadata", "Server
 * Validation", "Backward Compatibility"), S/basic/versioning, S/server/utilities/caching.
 *
 * Why not the SDK's own classifier (`classifyInboundRequest` in @modelcontextprotocol/server
 * 2.x): importing that package costs ~0.5 s and ~27 MB RSS in every gateway, for some
 * hundred lines of rules that are written out below and checked by the official
 * conformance suite (make conformance).
 */
import { rpcError, RpcErrorCode, type JsonRpcErrorResponse, type JsonRpcId, type JsonRpcMessage } from './jsonrpc.js';

/** Modern revisions this project speaks, newest first. */
export const MODERN_PROTOCOL_VERSIONS: readonly string[] = ['2026-07-28'];
export const LATEST_MODERN_VERSION = '2026-07-28';
/** The first revision with per-request metadata instead of `initialize` (S/basic/versioning). */
const FIRST_MODERN_VERSION = '2026-07-28';

/** `_meta` keys of the per-request envelope (S/basic/index#_meta). */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;
const RESERVED_META_PREFIX = 'io.modelcontextprotocol/';

/** Error codes the 2026-07-28 revision defines (from the spec-reserved -32020…-32099 range). */
export const ModernErrorCode = {
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

/** Methods whose complete results MUST carry `ttlMs` and `cacheScope` (S/server/utilities/caching). */
export const CACHEABLE_METHODS: ReadonlySet<string> = new Set([
  'server/discover',
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
]);
/** The only requests that may be answered with `input_required` (S/basic/patterns/mrtr). */
export const MRTR_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);
/** 2025-era methods this revision removed: a modern request for one is an unknown method (404 / -32601). */
export const REMOVED_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
]);
/** Which body field `Mcp-Name` mirrors, per method (S/basic/transports/streamable-http, "Standard Request Headers"). */
const MCP_NAME_SOURCE: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

export function isModernVersion(version: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= FIRST_MODERN_VERSION;
}

export function isSupportedModernVersion(version: string): boolean {
  return MODERN_PROTOCOL_VERSIONS.includes(version);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The per-request envelope of a modern request, validated. */
export interface ModernEnvelope {
  protocolVersion: string;
  clientCapabilities: Obj;
  clientInfo?: { name: string; version: string; [k: string]: unknown };
  logLevel?: string;
}

export function metaOf(params: unknown): Obj | undefined {
  return isObj(params) && isObj(params._meta) ? params._meta : undefined;
}

/** A body "claims" the modern era when its `_meta` names a protocol version (whatever its value). */
export function claimsModernEnvelope(params: unknown): boolean {
  const meta = metaOf(params);
  return meta !== undefined && META.protocolVersion in meta;
}

/** The envelope, or a sentence naming the first problem (missing keys first, as the SDK reports them). */
export function readEnvelope(params: unknown): ModernEnvelope | string {
  const meta = metaOf(params);
  if (!meta) return 'params._meta is missing';
  const missing = [META.protocolVersion, META.clientCapabilities].filter((k) => !(k in meta));
  if (missing.length > 0) return `_meta is missing the required key(s) ${missing.join(', ')}`;
  const version = meta[META.protocolVersion];
  if (typeof version !== 'string' || version === '') return `_meta["${META.protocolVersion}"] must be a non-empty string`;
  const caps = meta[META.clientCapabilities];
  if (!isObj(caps)) return `_meta["${META.clientCapabilities}"] must be an object`;
  const env: ModernEnvelope = { protocolVersion: version, clientCapabilities: caps };
  const info = meta[META.clientInfo];
  if (info !== undefined) {
    if (!isObj(info) || typeof info.name !== 'string' || typeof info.version !== 'string') {
      return `_meta["${META.clientInfo}"] must be an object with string "name" and "version"`;
    }
    env.clientInfo = info as ModernEnvelope['clientInfo'];
  }
  const level = meta[META.logLevel];
  if (level !== undefined) {
    if (typeof level !== 'string') return `_meta["${META.logLevel}"] must be a string`;
    env.logLevel = level;
  }
  return env;
}

/** What the MCP endpoint's headers say, as the classifier needs them (names are case-insensitive in HTTP). */
export interface McpHttpRequest {
  httpMethod: string;
  protocolVersionHeader?: string | undefined;
  mcpMethodHeader?: string | undefined;
  mcpNameHeader?: string | undefined;
  /** The request carries `Mcp-Session-Id`: a 2025-era session, whatever the body says. */
  hasSessionId: boolean;
  body: unknown;
}

/** A refusal: HTTP status and the JSON-RPC error body (its id is the request's, when it had one). */
export interface Refusal {
  status: number;
  error: JsonRpcErrorResponse;
}

/** A request or notification from a modern client (its id is absent for a notification). */
export type ModernMessage = JsonRpcMessage & { method: string; id?: JsonRpcId; params?: Obj };

export type EraRoute =
  | { era: 'legacy' }
  | { era: 'modern'; kind: 'request' | 'notification'; message: ModernMessage; envelope: ModernEnvelope }
  | { era: 'refused'; refusal: Refusal };

/**
 * Which era serves this request (the dual-era rule of S/basic/versioning): a body carrying
 * the modern envelope is modern; `initialize`, session traffic, GET/DELETE and everything
 * without an envelope is legacy. A modern request is then checked completely: envelope,
 * header/body agreement, the required headers, and the version.
 */
export function classifyMcpHttp(req: McpHttpRequest): EraRoute {
  if (req.hasSessionId || req.httpMethod !== 'POST') return { era: 'legacy' };
  const body = req.body;
  const headerVersion = req.protocolVersionHeader?.trim();
  const headerModern = headerVersion !== undefined && isModernVersion(headerVersion);
  if (Array.isArray(body)) {
    if (body.some((m) => isObj(m) && claimsModernEnvelope(m.params))) {
      return refused(400, null, RpcErrorCode.InvalidRequest, `Bad Request: JSON-RPC batches may not carry ${LATEST_MODERN_VERSION} requests`);
    }
    return { era: 'legacy' };
  }
  if (!isObj(body) || typeof body.method !== 'string') {
    // A response (2025-era session traffic) or garbage: legacy handling answers it.
    return headerModern ? refused(400, idOf(body), RpcErrorCode.InvalidRequest, 'Bad Request: the body must be one JSON-RPC request or notification') : { era: 'legacy' };
  }
  const id = idOf(body);
  const method = body.method;
  if (!claimsModernEnvelope(body.params)) {
    if (method === 'initialize') {
      return headerModern
        ? mismatch(id, `an initialize request (the 2025 handshake) was sent with MCP-Protocol-Version ${headerVersion}`)
        : { era: 'legacy' };
    }
    if (headerModern) {
      return refused(400, id, RpcErrorCode.InvalidParams, `Invalid params: MCP-Protocol-Version names ${headerVersion} but params._meta lacks "${META.protocolVersion}"`);
    }
    return { era: 'legacy' };
  }
  const envelope = readEnvelope(body.params);
  if (typeof envelope === 'string') return refused(400, id, RpcErrorCode.InvalidParams, `Invalid params: ${envelope}`);
  const kind = id === undefined ? 'notification' : 'request';
  if (headerVersion !== undefined && headerVersion !== envelope.protocolVersion) {
    return mismatch(id, `MCP-Protocol-Version header names ${headerVersion} but _meta names ${envelope.protocolVersion}`);
  }
  if (req.mcpMethodHeader !== undefined && req.mcpMethodHeader.trim() !== method) {
    return mismatch(id, `Mcp-Method header names ${req.mcpMethodHeader.trim()} but the body's method is ${method}`);
  }
  if (kind === 'request') {
    const missing = checkRequiredHeaders(req, method, body.params);
    if (missing) return mismatch(id, missing);
  }
  if (!isSupportedModernVersion(envelope.protocolVersion)) {
    return {
      era: 'refused',
      refusal: {
        status: 400,
        error: rpcError(id ?? null, ModernErrorCode.UnsupportedProtocolVersion, `Unsupported protocol version: ${envelope.protocolVersion}`, {
          supported: [...MODERN_PROTOCOL_VERSIONS],
          requested: envelope.protocolVersion,
        }),
      },
    };
  }
  return { era: 'modern', kind, message: body as unknown as ModernMessage, envelope };
}

/** The standard headers every modern request must carry, and `Mcp-Name` agreeing with the body. */
function checkRequiredHeaders(req: McpHttpRequest, method: string, params: unknown): string | undefined {
  if (req.protocolVersionHeader === undefined) return 'the required MCP-Protocol-Version header is missing';
  if (req.mcpMethodHeader === undefined) return 'the required Mcp-Method header is missing';
  const field = MCP_NAME_SOURCE[method];
  if (field === undefined) return undefined;
  const bodyValue = isObj(params) && typeof params[field] === 'string' ? (params[field] as string) : undefined;
  if (req.mcpNameHeader === undefined) {
    return bodyValue === undefined ? undefined : `the body carries params.${field}="${bodyValue}" but the required Mcp-Name header is missing`;
  }
  const decoded = decodeHeaderValue(req.mcpNameHeader.trim());
  if (decoded === undefined) return 'the Mcp-Name header carries an invalid =?base64?…?= value';
  if (bodyValue !== undefined && decoded !== bodyValue) return `the body carries params.${field}="${bodyValue}" but the Mcp-Name header names "${decoded}"`;
  return undefined;
}

const BASE64_CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * An `Mcp-Name` / `Mcp-Param-*` value as sent (S/…/streamable-http, "Value Encoding"):
 * `=?base64?…?=` carries UTF-8 in canonical Base64; anything else is the value itself.
 * undefined when the sentinel is there but its payload is not canonical Base64 or UTF-8.
 */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?=') && value.length >= 11)) return value;
  const b64 = value.slice(9, -2);
  if (!BASE64_CANONICAL.test(b64)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

/** How a header value must be sent: plain when it is safe visible ASCII, else the Base64 sentinel. */
export function encodeHeaderValue(value: string): string {
  const plain = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !(value.startsWith('=?base64?') && value.endsWith('?='));
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** `params` without the modern envelope keys (for a 2025-era server, which must not see them). */
export function stripEnvelope(params: Obj | undefined): Obj | undefined {
  const meta = metaOf(params);
  if (!params || !meta) return params;
  const { _meta: _m, ...out } = params;
  const kept = userMeta(meta);
  if (kept) out._meta = kept;
  return out;
}

/**
 * A modern request's params as a 2025-era server gets them: `stripEnvelope`, and without
 * the MRTR fields (`inputResponses`, `requestState`: the gateway's business). One copy of
 * `params` — this runs for every relayed request.
 */
export function forLegacyServer(params: Obj): Obj {
  const { inputResponses: _i, requestState: _r, _meta: meta, ...out } = params;
  if (meta !== undefined) {
    const kept = isObj(meta) ? userMeta(meta) : meta;
    if (kept !== undefined) out._meta = kept;
  }
  return out;
}

/** The `_meta` keys that are not the envelope's, or undefined when there are none. */
function userMeta(meta: Obj): Obj | undefined {
  let kept: Obj | undefined;
  for (const k of Object.keys(meta)) if (!k.startsWith(RESERVED_META_PREFIX)) (kept ??= {})[k] = meta[k];
  return kept;
}

/** `params` with the envelope a modern server needs added (for a 2025-era client's request). */
export function withEnvelope(params: Obj | undefined, envelope: ModernEnvelope): Obj {
  const meta: Obj = { ...(metaOf(params) ?? {}) };
  meta[META.protocolVersion] = envelope.protocolVersion;
  meta[META.clientCapabilities] = envelope.clientCapabilities;
  if (envelope.clientInfo) meta[META.clientInfo] = envelope.clientInfo;
  if (envelope.logLevel !== undefined) meta[META.logLevel] = envelope.logLevel;
  return { ...(params ?? {}), _meta: meta };
}

export interface CacheHints {
  ttlMs: number;
  cacheScope: 'public' | 'private';
}

/**
 * A result from a 2025-era server as a modern client must see it: `resultType`, cache
 * hints on cacheable methods (the server gave none: `ttlMs` 0 and `private` are the
 * conservative reading), and the server's identity in `_meta`. `inPlace`: the result is
 * the caller's own (parsed for this answer only) and may be changed rather than copied.
 */
export function asModernResult(method: string, result: Obj, hints: CacheHints, serverInfo?: Obj, inPlace = false): Obj {
  const out: Obj = inPlace ? result : { ...result };
  if (typeof out.resultType !== 'string') out.resultType = 'complete';
  if (out.resultType === 'complete' && CACHEABLE_METHODS.has(method)) {
    if (typeof out.ttlMs !== 'number' || out.ttlMs < 0) out.ttlMs = hints.ttlMs;
    if (out.cacheScope !== 'public' && out.cacheScope !== 'private') out.cacheScope = hints.cacheScope;
  }
  if (serverInfo) {
    const meta = isObj(out._meta) ? (inPlace ? out._meta : { ...out._meta }) : {};
    if (meta[META.serverInfo] === undefined) meta[META.serverInfo] = serverInfo;
    out._meta = meta;
  }
  return out;
}

/** A modern server's result as a 2025-era client expects it (fields it does not know removed). */
export function asLegacyResult(result: Obj): Obj {
  const { resultType: _t, ttlMs: _l, cacheScope: _s, ...rest } = result;
  return rest;
}

function idOf(body: unknown): JsonRpcId | undefined {
  if (!isObj(body)) return undefined;
  return typeof body.id === 'string' || typeof body.id === 'number' ? body.id : undefined;
}

function refused(status: number, id: JsonRpcId | null | undefined, code: number, message: string, data?: unknown): EraRoute {
  return { era: 'refused', refusal: { status, error: rpcError(id ?? null, code, message, data) } };
}

function mismatch(id: JsonRpcId | undefined, why: string): EraRoute {
  return refused(400, id, ModernErrorCode.HeaderMismatch, `Bad Request: the request headers and body disagree: ${why}`);
}
