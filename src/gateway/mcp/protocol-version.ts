/**
 * Which MCP protocol version the gateway answers an MCP client's `initialize` with (MCP
 * lifecycle, "Version Negotiation"): the version the client asked for when the gateway
 * supports it, otherwise the latest one it supports (the client then decides whether it
 * can go on). The gateway's list is the SDK's (a copy in protocol/mcp-handshake.ts, tested
 * equal), whose transport also checks the `MCP-Protocol-Version` header of every later
 * request against it.
 *
 * The tunneled server negotiated its own version with the tunnel client; its capabilities,
 * serverInfo and instructions are passed on as they are and messages are relayed without
 * translation (docs/gateway.md, "Protocol versions").
 */
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/mcp-handshake.js';

export const GATEWAY_PROTOCOL_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;

export function negotiateProtocolVersion(requested: unknown): string {
  return typeof requested === 'string' && GATEWAY_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}
