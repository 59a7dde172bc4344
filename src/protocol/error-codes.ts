/**
 * The codes of the `error` frame (docs/protocol.md §1, "`error` codes sent by the
 * gateway"), and what each one means to the client: one list, so the gateway can only send
 * codes the client knows, and the client only acts on codes the gateway sends.
 */

/** What the client does on receiving the code. */
export type ErrorEffect =
  /** Stop for good: retrying cannot help (the process exits with the message). */
  | 'stop'
  /** Not fatal: the link closes and the client reconnects with its backoff. */
  | 'retry'
  /** Logged; the session goes on. */
  | 'report';

export const TUNNEL_ERRORS = {
  /** An operator ran DELETE /reverse-proxy/sessions/{id}: never resumed. */
  session_deleted: 'stop',
  /** A newer register of the same name by the same subject took over. */
  session_replaced: 'stop',
  /** Another user holds the name, or it differs from a live one only by case. */
  name_taken: 'stop',
  /** The server name breaks the name rule (protocol/server-name.ts). */
  invalid_name: 'stop',
  /** The first frame was neither a valid register nor a plain peer's data frame. */
  invalid_register: 'stop',
  /** Too many data frames, or bytes of them, before register. */
  pre_register_limit: 'retry',
  /** No register within the deadline after the link opened. */
  register_timeout: 'retry',
  /** The subject already holds --max-sessions-per-user live sessions. */
  too_many_sessions: 'retry',
  /** Frames past a seq never sent over --max-queue-bytes: the session is ended. */
  gap_overflow: 'retry',
  /** The gateway's own initialize through the tunnel failed: the session is ended. */
  initialize_failed: 'retry',
  /** The gateway is shutting down. */
  gateway_shutdown: 'retry',
  /** Scale-out: the replica cannot reach the cluster's Redis, so it cannot decide the register. */
  cluster_unavailable: 'retry',
  /** A frame could not be parsed; it was dropped. */
  bad_frame: 'report',
  /** A second register on a link that is already registered; ignored. */
  already_registered: 'report',
} as const satisfies Record<string, ErrorEffect>;

export type TunnelErrorCode = keyof typeof TUNNEL_ERRORS;

/** The effect of a code received in an `error` frame; unknown codes (another gateway's) are reported. */
export function errorEffect(code: unknown): ErrorEffect {
  return typeof code === 'string' && Object.hasOwn(TUNNEL_ERRORS, code) ? TUNNEL_ERRORS[code as TunnelErrorCode] : 'report';
}
