/**
 * The SDK's Streamable HTTP server transport, which the 2025-era path uses for `initialize`,
 * batches, the GET stream and DELETE (mcp-endpoint.ts), loaded with the first 2025-era MCP
 * session: the module and the zod schemas behind it are ~20 MB of RSS and a part of
 * start-up that a gateway serving only 2026-07-28 clients never needs (docs/performance.md,
 * "Applied" 13). Loaded once; sessions opened while it loads wait on the same import, and a
 * failed import is tried again by the next session.
 */
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export type SdkTransportClass = typeof StreamableHTTPServerTransport;

let loading: Promise<SdkTransportClass> | undefined;

export function sdkTransport(): Promise<SdkTransportClass> {
  loading ??= import('@modelcontextprotocol/sdk/server/streamableHttp.js').then(
    (m) => m.StreamableHTTPServerTransport,
    (err: unknown) => {
      loading = undefined;
      throw err;
    },
  );
  return loading;
}
