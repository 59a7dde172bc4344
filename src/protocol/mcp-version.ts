/**
 * The MCP protocol version the client offers its local server. A local constant rather
 * than the SDK's: importing `@modelcontextprotocol/sdk/types.js` for one string costs the
 * tunnel client ~17 MB of RSS and ~120 ms of start-up (zod schemas). A test keeps it equal
 * to the SDK's LATEST_PROTOCOL_VERSION.
 */
export const LATEST_PROTOCOL_VERSION = '2025-11-25';
