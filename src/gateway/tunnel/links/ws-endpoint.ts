/**
 * `GET /reverse-proxy/ws`: authenticate the upgrade request, take a place in the link
 * quota, then hand the socket on as a WsLink (to TunnelEndpoint.acceptLink). A bad token gets a real
 * `HTTP/1.1 401` before any upgrade, so clients can tell "wrong token" from "WebSockets
 * blocked" (PROTOCOL.md §5.3); a subject over its link quota gets `429`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../../../observability/logger.js';
import { errorMessage } from '../../../errors.js';
import type { Authenticate } from '../../http/authenticator.js';
import type { LinkQuota } from './link-quota.js';
import type { LinkAcceptor } from './link.js';
import { WsLink, WS_CLOSE } from './ws-link.js';
import { GATEWAY_MARKER_HEADER, TUNNEL_PATH } from '../../../protocol/constants.js';

export interface WsEndpointOptions {
  authenticate: Authenticate;
  /** Where each upgraded socket goes, as a link. */
  accept: LinkAcceptor;
  maxFrameBytes: number;
  logger: Logger;
  quota?: LinkQuota;
}

export class WsEndpoint {
  private readonly wss: WebSocketServer;

  constructor(private readonly o: WsEndpointOptions) {
    // ws closes with 1009 on a frame over maxPayload (TunnelWebSocket adds the reason). No
    // compression: frames are small JSON, and permessage-deflate costs memory per
    // connection (and is a known DoS vector).
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: o.maxFrameBytes,
      perMessageDeflate: false,
      WebSocket: tunnelWebSocket(o.maxFrameBytes),
    });
  }

  /** The http(s) server's 'upgrade' listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.o.logger.debug({ err }, 'socket error during upgrade'));
    const path = (req.url ?? '/').split('?')[0];
    if (path !== TUNNEL_PATH.ws) return rejectUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint at ${path}`);
    this.o.authenticate(req).then(
      (principal) => {
        if (socket.destroyed) return;
        const slot = this.o.quota?.acquire(principal.subject, 'ws');
        if (typeof slot === 'string') return rejectUpgrade(socket, 429, 'Too Many Requests', slot);
        // The slot is the socket's: released whenever the connection ends, upgraded or not.
        if (slot) socket.once('close', () => slot.release());
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          const link = new WsLink(ws);
          this.o.accept(link, principal, slot);
        });
      },
      (err: unknown) => rejectUpgrade(socket, 401, 'Unauthorized', errorMessage(err)),
    );
  }

  /** Close every tunnel socket (gateway shutdown). */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.close(WS_CLOSE.goingAway, 'gateway shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const ws of this.wss.clients) ws.terminate();
  }
}

/**
 * ws answers a frame over maxPayload with a bare close 1009; the peer should also read
 * which limit it hit. ws calls `close(code)` on the socket object, so a subclass (the
 * server's documented `WebSocket` option) can supply the reason.
 */
function tunnelWebSocket(maxFrameBytes: number): typeof WebSocket {
  return class TunnelWebSocket extends WebSocket {
    override close(code?: number, data?: string | Buffer): void {
      const reason = code === WS_CLOSE.tooBig && data === undefined ? `frame larger than ${maxFrameBytes} bytes (--max-frame-bytes)` : data;
      super.close(code, reason);
    }
  };
}

function rejectUpgrade(socket: Duplex, status: number, statusText: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: message });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\n` +
      'Connection: close\r\n' +
      `${GATEWAY_MARKER_HEADER}: gateway\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      (status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '') +
      '\r\n' +
      body,
  );
}
