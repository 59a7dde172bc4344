/**
 * The `server_status` control frame (docs/protocol.md §2.1): the client tells the gateway
 * that its local server went down (and is being restarted) or is back with a fresh
 * InitializeResult (for a 2026-07-28 server: DiscoverResult). A control frame, not a data
 * frame: it is never queued or replayed, so the client sends the current status again
 * after every (re)connect instead.
 * Plain peers (ContextForge) ignore the unknown type.
 */
import type { ServerDescription, ServerStatusEnvelope } from '../protocol/envelope.js';
import type { HandshakeResult } from './local-server.js';

export function serverDownFrame(reason: string): ServerStatusEnvelope {
  return { type: 'server_status', available: false, reason };
}

export function serverUpFrame(server: ServerDescription): ServerStatusEnvelope {
  return { type: 'server_status', available: true, server: { ...server } };
}

/**
 * Copy the handshake's fields into the description `register` sends. The object is
 * updated in place: the TunnelClient holds it and re-sends it with every `register`, so a
 * fresh session after a restart announces the new child, not the first one. A 2026-07-28
 * server gets the InitializeResult fields too (from its DiscoverResult), so a gateway that
 * knows nothing of eras still describes it sensibly.
 */
export function describeServer(server: ServerDescription, init: HandshakeResult): void {
  server.serverInfo = init.serverInfo;
  server.capabilities = init.capabilities;
  server.protocolVersion = init.protocolVersion;
  if (init.instructions) server.instructions = init.instructions;
  else delete server.instructions;
  server.era = init.era;
  if (init.era === 'modern' && init.discover) server.discover = init.discover;
  else delete server.discover;
}
