/**
 * The tunnel's wire constants, one place for both halves (docs/protocol.md): where the
 * transports live, what their SSE events are called, how long a poll may wait, which
 * header marks the gateway's own answers, and how much silence each side allows its peer.
 */

/** Every tunnel route sits under this path, after the gateway base URL's own prefix. */
export const TUNNEL_PREFIX = '/reverse-proxy';

/** Where each transport opens its link (§4). */
export const TUNNEL_PATH = {
  ws: `${TUNNEL_PREFIX}/ws`,
  sse: `${TUNNEL_PREFIX}/sse`,
  poll: `${TUNNEL_PREFIX}/poll`,
} as const;

/**
 * A link's URLs as the gateway hands them out (§4.1): relative references, resolved
 * against the URL that returned them, so a path prefix added by a reverse proxy is kept.
 */
export const linkRef = {
  messages: (linkId: string): string => `links/${encodeURIComponent(linkId)}/messages`,
  poll: (linkId: string): string => `links/${encodeURIComponent(linkId)}/poll`,
};

/** SSE event names on the tunnel's event stream (§4.1): the link's session info, then frames. */
export const SSE_EVENT = {
  session: 'session',
  message: 'message',
} as const;

/** The gateway holds a long poll at most this long (s): under the usual 30–60 s proxy read timeouts. */
export const POLL_MAX_WAIT_S = 25;

/**
 * Every HTTP response of the gateway carries this header, so a client can tell the
 * gateway's own 401/403 from a proxy's (§4).
 */
export const GATEWAY_MARKER_HEADER = 'x-mcp-reverse-proxy';

/** The client's heartbeat interval (s) when nothing says otherwise (`register.keepalive`). */
export const DEFAULT_KEEPALIVE_S = 30;

/**
 * How long the client lets the gateway be silent, in its own keepalive intervals. The
 * gateway answers every heartbeat, so the client hears from it at least once a keepalive:
 * silent for 1.5 means an answer is missing, and the link is given up (checked every
 * quarter keepalive, so within 1.75).
 */
export const GATEWAY_SILENCE_KEEPALIVES = 1.5;

/**
 * How long the gateway lets a client be silent, in the client's keepalive intervals (from
 * `register`): 2.5, so that one lost heartbeat is not fatal but two are.
 */
export const CLIENT_SILENCE_KEEPALIVES = 2.5;
