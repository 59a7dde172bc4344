/**
 * Tunnel envelope (docs/protocol.md §1). Every frame on every transport is one JSON
 * object. The field names follow the ContextForge reverse-proxy wire format so that
 * plain peers interoperate; `seq`/`ack` are this project's extension.
 */
import { ProtocolError } from '../errors.js';
import type { TunnelErrorCode } from './error-codes.js';
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
  'server_status',
] as const;
export type EnvelopeType = (typeof ENVELOPE_TYPES)[number];
const KNOWN_TYPES: ReadonlySet<string> = new Set(ENVELOPE_TYPES);

export type DataType = 'request' | 'response' | 'notification';
/** Data frames carry a JSON-RPC payload and (in reliable mode) a seq. */
export const DATA_TYPES: ReadonlySet<string> = new Set<DataType>(['request', 'response', 'notification']);

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

/**
 * Fields every frame may carry; `parseEnvelope` checks their types. The fields of each
 * known type below are as the protocol specifies them and as this project sends them;
 * from a peer they are not checked by the parser, so receivers check what they rely on.
 */
interface EnvelopeBase {
  sessionId?: string;
  /** Highest contiguous seq received from the peer (reliable mode, any frame). */
  ack?: number;
}

/** `request` (gateway → client), `response` / `notification` (client → gateway). */
export interface DataEnvelope extends EnvelopeBase {
  type: DataType;
  /** Reliable mode only: +1 per data frame and direction. */
  seq?: number;
  payload: JsonRpcMessage;
}

export interface RegisterEnvelope extends EnvelopeBase {
  type: 'register';
  server: ServerDescription;
  resume?: { sessionId: string; ack: number };
  reliability?: string;
  /** The client's heartbeat interval (s). */
  keepalive?: number;
  /** The transport this register travels on, for the gateway's catalog. */
  transport?: string;
}

export interface RegisterAckEnvelope extends EnvelopeBase {
  type: 'register_ack';
  sessionId: string;
  status: 'success' | string;
  resumed?: boolean;
  reliability?: string;
  /** The MCP eras of local servers this gateway bridges for MCP clients of either era (absent: an older gateway, legacy only). */
  eras?: ServerEra[];
}

export interface UnregisterEnvelope extends EnvelopeBase {
  type: 'unregister';
}

export interface HeartbeatEnvelope extends EnvelopeBase {
  type: 'heartbeat';
  /** The gateway's answers carry its time (ISO 8601). */
  timestamp?: string;
}

/** A standalone acknowledgement: `ack` and nothing else. */
export interface AckEnvelope extends EnvelopeBase {
  type: 'ack';
}

export interface ErrorEnvelope extends EnvelopeBase {
  type: 'error';
  message: string;
  /** protocol/error-codes.ts; from another peer, any string. */
  code?: TunnelErrorCode | string;
}

/** Extension (client → gateway, §2.1): the local server went down, or is back. */
export interface ServerStatusEnvelope extends EnvelopeBase {
  type: 'server_status';
  available: boolean;
  /** Why it is down (`available: false`). */
  reason?: string;
  /** Its new description with a fresh InitializeResult (`available: true`). */
  server?: ServerDescription;
}

export type Envelope =
  | DataEnvelope
  | RegisterEnvelope
  | RegisterAckEnvelope
  | UnregisterEnvelope
  | HeartbeatEnvelope
  | AckEnvelope
  | ErrorEnvelope
  | ServerStatusEnvelope;

/** Frames without a seq: never queued, never replayed. */
export type ControlEnvelope = Exclude<Envelope, DataEnvelope>;

/** A frame of a type this version does not know (a newer peer's): receivers ignore it. */
export interface UnknownEnvelope extends EnvelopeBase {
  type: string;
  seq?: number;
  payload?: JsonRpcMessage;
  [extra: string]: unknown;
}

/** What the parser returns: a known envelope, or an unknown type to be ignored. */
export type Frame = Envelope | UnknownEnvelope;

export function isKnownEnvelope(frame: Frame): frame is Envelope {
  return KNOWN_TYPES.has(frame.type);
}

export function isDataEnvelope(frame: Frame): frame is DataEnvelope {
  return DATA_TYPES.has(frame.type);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parse and validate one frame. Throws ProtocolError with a message that says what is
 * wrong; callers log it, drop the frame and keep the session.
 */
export function parseEnvelope(text: string, maxBytes = Infinity): Frame {
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
  return frameOf(value);
}

/** An already-parsed frame (a poll answer's), validated as parseEnvelope validates text. */
export function frameOf(value: unknown): Frame {
  const env = validateEnvelope(value) as UnknownEnvelope;
  // The payload's depth is the receiver's to judge, in seq order (the frame must still count).
  for (const key in env) {
    if (key !== 'payload' && exceedsDepth(env[key], MAX_JSON_DEPTH)) throw new ProtocolError(tooDeepMessage(`frame field "${key}"`));
  }
  return env;
}

export function validateEnvelope(value: unknown): Frame {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('frame is not a JSON object');
  }
  const env = value as UnknownEnvelope;
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
