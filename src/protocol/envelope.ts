/**
 * Tunnel envelope (docs/protocol.md §1). Every frame on every transport is one JSON
 * object. The field names follow the ContextForge reverse-proxy wire format so that
 * plain peers interoperate; `seq`/`ack` are this project's extension.
 */
import { ProtocolError } from '../errors.js';
import type { JsonRpcMessage } from './jsonrpc.js';
import type { DiscoverResultLike, ServerEra } from './discover-result.js';
import { exceedsDepth, MAX_JSON_DEPTH, tooDeepMessage } from './json-depth.js';

export const ENVELOPE_TYPES = [
  'register',
  'register_ack',
  'unregister',
  'heartbeat',
  'request',
  'response',
  'notification',
  'error',
  'ack',
] as const;
export type EnvelopeType = (typeof ENVELOPE_TYPES)[number];

/** Data frames carry a JSON-RPC payload and (in reliable mode) a seq. */
export const DATA_TYPES: ReadonlySet<string> = new Set(['request', 'response', 'notification']);

/** Marker a peer puts in register / register_ack to say it speaks seq/ack. */
export const RELIABILITY_VERSION = 'seq-ack/1';

export interface ServerDescription {
  name: string;
  description?: string;
  protocol?: string;
  serverInfo?: { name: string; version: string; [k: string]: unknown };
  capabilities?: Record<string, unknown>;
  protocolVersion?: string;
  instructions?: string;
  /** Which MCP era the local server speaks (docs/protocol.md §2); absent = legacy (older clients, ContextForge). */
  era?: ServerEra;
  /** era modern: the local server's DiscoverResult. */
  discover?: DiscoverResultLike;
}

export interface Envelope {
  type: string;
  sessionId?: string;
  payload?: JsonRpcMessage;
  seq?: number;
  ack?: number;
  [extra: string]: unknown;
}

export interface RegisterEnvelope extends Envelope {
  type: 'register';
  server: ServerDescription;
  resume?: { sessionId: string; ack: number };
  reliability?: string;
  /** The transport this register travels on, for the gateway's catalog. */
  transport?: string;
}

export interface RegisterAckEnvelope extends Envelope {
  type: 'register_ack';
  sessionId: string;
  status: 'success' | string;
  resumed?: boolean;
  ack?: number;
  reliability?: string;
}

export interface ErrorEnvelope extends Envelope {
  type: 'error';
  message: string;
  code?: string;
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parse and validate one frame. Throws ProtocolError with a message that says what is
 * wrong; callers log it, drop the frame and keep the session.
 */
export function parseEnvelope(text: string, maxBytes = Infinity): Envelope {
  // String length is UTF-16 units; it bounds bytes from below, which is enough to reject
  // gross oversize before parsing. Exact byte checks happen where the bytes are counted.
  if (text.length > maxBytes) {
    throw new ProtocolError(`frame of ${text.length} bytes exceeds the maximum of ${maxBytes}`, 'ERR_FRAME_TOO_LARGE');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(`frame is not valid JSON (${(err as Error).message})`);
  }
  const env = validateEnvelope(value);
  // The payload's depth is the receiver's to judge, in seq order (the frame must still count).
  for (const key in env) {
    if (key !== 'payload' && exceedsDepth(env[key], MAX_JSON_DEPTH)) throw new ProtocolError(tooDeepMessage(`frame field "${key}"`));
  }
  return env;
}

export function validateEnvelope(value: unknown): Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('frame is not a JSON object');
  }
  const env = value as Envelope;
  if (typeof env.type !== 'string' || env.type.length === 0) {
    throw new ProtocolError('frame has no "type" string');
  }
  if (env.seq !== undefined && (!isNonNegInt(env.seq) || env.seq < 1)) {
    throw new ProtocolError(`frame "seq" must be an integer >= 1, got ${JSON.stringify(env.seq)}`);
  }
  if (env.ack !== undefined && !isNonNegInt(env.ack)) {
    throw new ProtocolError(`frame "ack" must be an integer >= 0, got ${JSON.stringify(env.ack)}`);
  }
  if (env.sessionId !== undefined && typeof env.sessionId !== 'string') {
    throw new ProtocolError('frame "sessionId" must be a string');
  }
  if (DATA_TYPES.has(env.type)) {
    const p = env.payload;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      throw new ProtocolError(`"${env.type}" frame must carry a JSON-RPC object in "payload"`);
    }
  }
  return env;
}

/** Client → gateway data frame type for a payload (ContextForge naming). */
export function upstreamTypeFor(payload: JsonRpcMessage): 'response' | 'notification' {
  return 'id' in payload && payload.id !== undefined && payload.id !== null ? 'response' : 'notification';
}

/**
 * Every HTTP response of the gateway carries this header, so a client can tell the
 * gateway's own 401/403 from a proxy's (docs/protocol.md §4).
 */
export const GATEWAY_MARKER_HEADER = 'x-mcp-reverse-proxy';
