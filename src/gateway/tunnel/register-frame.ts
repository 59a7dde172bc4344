/**
 * What may arrive on a tunnel link before its session exists (docs/protocol.md §2.2):
 * `register`, and — from a plain peer — data frames. The ContextForge client initializes
 * its local server itself and forwards the answer as a `response` frame *before* it
 * registers; nobody asked for that answer, so the gateway drops it, within bounds (count,
 * bytes; the register deadline bounds the time), and waits for the register.
 */
import { errorMessage } from '../../errors.js';
import { isDataEnvelope, parseEnvelope, type DataEnvelope, type Frame, type RegisterEnvelope, type UnknownEnvelope } from '../../protocol/envelope.js';
import type { TunnelErrorCode } from '../../protocol/error-codes.js';
import { isValidServerName, SERVER_NAME_RULE } from '../../protocol/server-name.js';
import { clip } from '../../observability/log-text.js';
import { readDiscoverResult, SERVER_ERAS, type DiscoverResultLike, type ServerEra } from '../../protocol/discover-result.js';

/** Data frames a plain peer may send before its register. */
export const PRE_REGISTER_MAX_FRAMES = 32;
/** A link must send `register` this soon after it opened (ms). */
export const REGISTER_TIMEOUT_MS = 30_000;

export type EarlyFrame =
  | { kind: 'register'; register: RegisterEnvelope }
  /** A plain peer's data frame before register: dropped (nobody asked for it). */
  | { kind: 'early_data'; env: DataEnvelope; bytes: number }
  | { kind: 'refuse'; code: TunnelErrorCode; message: string };

/** Bytes and frames of early data seen so far on one link. */
export interface EarlyBudget {
  frames: number;
  bytes: number;
}

/** Classify one frame that arrived before register, charging early data to `budget`. */
export function earlyFrame(text: string, maxFrameBytes: number, budget: EarlyBudget): EarlyFrame {
  let env: Frame;
  try {
    env = parseEnvelope(text, maxFrameBytes);
  } catch (err) {
    return { kind: 'refuse', code: 'invalid_register', message: `${errorMessage(err)} (expected "register")` };
  }
  // Until it is checked, a register is as untyped as any frame.
  if (env.type === 'register') return validateRegister(env as UnknownEnvelope);
  if (!isDataEnvelope(env) || env.seq !== undefined) {
    const seq = (env as UnknownEnvelope).seq;
    return {
      kind: 'refuse',
      code: 'invalid_register',
      message: `the first frame must be "register" (a plain peer may send data frames without seq before it), got "${clip(env.type, 40)}"${seq !== undefined ? ' with a seq' : ''}`,
    };
  }
  const bytes = Buffer.byteLength(text);
  budget.frames++;
  budget.bytes += bytes;
  if (budget.frames > PRE_REGISTER_MAX_FRAMES) {
    return { kind: 'refuse', code: 'pre_register_limit', message: `more than ${PRE_REGISTER_MAX_FRAMES} data frames before "register"` };
  }
  // One frame of the largest size fits (an initialize answer with long instructions); more does not.
  if (budget.bytes > maxFrameBytes) {
    return { kind: 'refuse', code: 'pre_register_limit', message: `more than ${maxFrameBytes} bytes of data frames before "register" (--max-frame-bytes)` };
  }
  return { kind: 'early_data', env, bytes };
}

/** A register frame the rest of the gateway can trust the shape of. */
function validateRegister(env: UnknownEnvelope): EarlyFrame {
  const fail = (message: string, code: TunnelErrorCode = 'invalid_register'): EarlyFrame => ({ kind: 'refuse', code, message });
  const server = env.server as Record<string, unknown> | undefined;
  if (typeof server !== 'object' || server === null || Array.isArray(server)) return fail('register has no "server" object');
  if (typeof server.name !== 'string' || server.name.trim() === '') return fail('register "server.name" must be a non-empty string');
  if (!isValidServerName(server.name)) {
    return fail(`server name ${JSON.stringify(clip(server.name, 80))} is not valid: expected ${SERVER_NAME_RULE}`, 'invalid_name');
  }
  if (server.serverInfo !== undefined) {
    const info = server.serverInfo as Record<string, unknown> | null;
    if (typeof info !== 'object' || info === null || typeof info.name !== 'string') return fail('register "server.serverInfo" needs a "name"');
  }
  const era = checkServerEra(server);
  if (era !== undefined) return fail(era);
  const resume = env.resume as Record<string, unknown> | undefined;
  if (resume !== undefined) {
    if (typeof resume !== 'object' || resume === null || typeof resume.sessionId !== 'string') return fail('register "resume.sessionId" must be a string');
    if (!Number.isSafeInteger(resume.ack) || (resume.ack as number) < 0) return fail('register "resume.ack" must be an integer >= 0');
  }
  if (env.keepalive !== undefined && (typeof env.keepalive !== 'number' || !(env.keepalive > 0))) {
    return fail('register "keepalive" must be a positive number of seconds');
  }
  return { kind: 'register', register: env as unknown as RegisterEnvelope };
}

/**
 * `server.era` and `server.discover` (docs/protocol.md §2): which MCP era the local server
 * speaks and, for a 2026-07-28 one, its DiscoverResult (shape checked, size bounded).
 * undefined when they are absent (an older client or ContextForge: legacy) or valid.
 */
export function checkServerEra(server: Record<string, unknown>): string | undefined {
  const era = server.era;
  if (era === undefined) return server.discover === undefined ? undefined : 'register "server.discover" needs "server.era": "modern"';
  if (typeof era !== 'string' || !(SERVER_ERAS as readonly string[]).includes(era)) {
    return `register "server.era" must be one of ${SERVER_ERAS.join(', ')}, got ${clip(JSON.stringify(era), 40)}`;
  }
  if (era === 'legacy') return server.discover === undefined ? undefined : 'register "server.discover" is only for "server.era": "modern"';
  if (server.discover === undefined) return 'register "server.era": "modern" needs "server.discover" (the server\'s DiscoverResult)';
  // Without serverInfo the gateway would send initialize itself, which a 2026-07-28 server refuses.
  if (server.serverInfo === undefined) return 'register "server.era": "modern" needs "server.serverInfo"';
  const discover = readDiscoverResult(server.discover);
  return typeof discover === 'string' ? `register "server.discover": ${discover}` : undefined;
}

/** The era a (register or server_status) server description says, or why it cannot be used. */
export function registeredEra(server: Record<string, unknown>): { era: ServerEra; discover?: DiscoverResultLike } | string {
  const bad = checkServerEra(server);
  if (bad !== undefined) return bad;
  return server.era === 'modern' ? { era: 'modern', discover: server.discover as DiscoverResultLike } : { era: 'legacy' };
}
