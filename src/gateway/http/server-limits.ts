/**
 * Timeouts and caps of the gateway's HTTP server, against anyone who can open a socket
 * (docs/gateway.md, "Connections"). Node 20's defaults keep a silent or header-trickling
 * connection for 60–90 s and a trickled body for 300 s, and accept any number of them.
 *
 * - headersTimeout: from a connection's start (or a kept-alive connection's next request)
 *   to the end of the headers; covers connections that never send a byte and upgrade
 *   requests. Over HTTPS the TLS handshake gets the same deadline (tls handshakeTimeout).
 * - requestTimeout (`--receive-timeout`): to the end of the request body. It stops once the
 *   request is received, so long-lived responses (tunnel SSE, long polls, MCP SSE streams,
 *   WebSocket links after the upgrade) are not cut: they have their own keepalive and idle
 *   rules (tunnel/links/idle-guard.ts, SSE keepalive comments, --mcp-session-idle).
 * - keepAliveTimeout: idle time between two requests on one connection.
 * - maxConnections: every open TCP connection counts (upgraded WebSockets and streams
 *   too); more are closed at accept, before a byte is read (Node emits 'drop').
 */
import type { Server } from 'node:http';
import { realClock, type Clock } from '../../clock.js';
import type { GatewayOptions } from '../../config/types.js';
import type { Logger } from '../../observability/logger.js';

/** How often Node looks for expired header/request deadlines (its default is 30 s). */
function checkingIntervalMs(headersTimeoutMs: number): number {
  return Math.max(100, Math.min(1000, Math.floor(headersTimeoutMs / 4)));
}

type Limits = Pick<GatewayOptions, 'headersTimeout' | 'receiveTimeout' | 'keepAliveTimeout' | 'maxConnections'>;

/** Options only the server constructors take (http.createServer / https.createServer). */
export function serverConstructorOptions(o: Limits): { connectionsCheckingInterval: number; handshakeTimeout: number } {
  const headersMs = o.headersTimeout * 1000;
  return { connectionsCheckingInterval: checkingIntervalMs(headersMs), handshakeTimeout: headersMs };
}

/** Set the deadlines and the connection cap on a created server; log refused connections. */
export function applyServerLimits(server: Server, o: Limits, log: Logger, onDropped?: () => void, clock: Clock = realClock): void {
  server.headersTimeout = o.headersTimeout * 1000;
  server.requestTimeout = o.receiveTimeout * 1000;
  server.keepAliveTimeout = o.keepAliveTimeout * 1000;
  server.maxConnections = o.maxConnections;
  // One line for the first refusal, then at most one summary every 10 s: a flood must not flood the log.
  let dropped = 0;
  let summary: unknown;
  server.on('drop', () => {
    onDropped?.();
    if (summary !== undefined) {
      dropped++;
      return;
    }
    log.warn({ event: 'connection_refused', limit: o.maxConnections }, `connection refused: ${o.maxConnections} connections open (--max-connections)`);
    const report = (): void => {
      if (dropped > 0) {
        log.warn({ event: 'connection_refused', count: dropped, limit: o.maxConnections }, `${dropped} more connections refused over --max-connections ${o.maxConnections}`);
        dropped = 0;
        summary = clock.setTimeout(report, 10_000);
      } else {
        summary = undefined;
      }
    };
    summary = clock.setTimeout(report, 10_000);
  });
  server.once('close', () => clock.clearTimeout(summary));
}
