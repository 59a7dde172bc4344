/**
 * The `server_status` control frame (docs/protocol.md §2.1): the client tells the gateway
 * that its local server went down (and is being restarted) or is back with a fresh
 * InitializeResult (for a 2026-07-28 server: DiscoverResult). A control frame, not a data
 * frame: it is never queued or replayed, so the client sends the current status again
 * after every (re)connect instead.
 * Plain peers (ContextForge) ignore the unknown type.
 */
import type { ServerDescription, ServerStatusEnvelope } from '../protocol/envelope.js';

export function serverDownFrame(reason: string): ServerStatusEnvelope {
  return { type: 'server_status', available: false, reason };
}

export function serverUpFrame(server: ServerDescription): ServerStatusEnvelope {
  return { type: 'server_status', available: true, server: { ...server } };
}

