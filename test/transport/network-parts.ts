/**
 * Test parts for the client transports, around a real in-process gateway:
 * - instrumentGateway: counts every request path that reaches the gateway (HTTP and
 *   upgrades) and can answer upgrades with 426, as an Upgrade-stripping middlebox would;
 * - startBufferingFront: a store-and-forward HTTP front, the kind of middlebox (virus
 *   scanners, some corporate proxies) that hands a response over only once it is
 *   complete. An event stream never completes, so SSE cannot work through it; long polls
 *   and POSTs do. It strips Upgrade (answers 426). No real package behaves like this
 *   without also depending on the client's Accept-Encoding (nginx's gzip), hence this one.
 * - Collector: gathers a Transport's frames and close, with bounded waits.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { UnknownEnvelope as Envelope } from '../../src/protocol/envelope.js';
import { RELIABILITY_VERSION } from '../../src/protocol/envelope.js';
import type { Transport, TransportCloseInfo } from '../../src/transport/transport.js';
import { ECHO_SERVER } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/system.js';

export interface GatewayProbe {
  /**
   * Every request that reached the gateway, upgrades included: `METHOD path?query`, plus
   * ` last-event-id=N` when that header was sent.
   */
  paths: string[];
  /** Answer WebSocket upgrades with 426 instead of passing them to the gateway. */
  blockUpgrades: boolean;
}

export function instrumentGateway(server: http.Server): GatewayProbe {
  const probe: GatewayProbe = { paths: [], blockUpgrades: false };
  server.prependListener('request', (req: http.IncomingMessage) => {
    const id = req.headers['last-event-id'];
    probe.paths.push(`${req.method} ${req.url}${id === undefined ? '' : ` last-event-id=${String(id)}`}`);
  });
  const upgrade = server.listeners('upgrade') as Array<(req: http.IncomingMessage, socket: Duplex, head: Buffer) => void>;
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    probe.paths.push(`UPGRADE ${req.url}`);
    if (probe.blockUpgrades) {
      socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    for (const l of upgrade) l.call(server, req, socket, head);
  });
  return probe;
}

export interface Front {
  url: string;
  close(): Promise<void>;
}

/**
 * `passFirstBytes`: hand over the first bytes of each response at once and only then
 * buffer (a scanner that looks at the start of a response before holding the rest): the
 * gateway's padded SSE start and session event get through, later events do not.
 */
export async function startBufferingFront(target: string, opts: { passFirstBytes?: number } = {}): Promise<Front> {
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      (upRes) => {
        const chunks: Buffer[] = [];
        let passed = 0;
        const pass = opts.passFirstBytes ?? 0;
        if (pass > 0) {
          const headers = { ...upRes.headers };
          delete headers['content-length'];
          res.writeHead(upRes.statusCode ?? 502, headers);
        }
        upRes.on('data', (c: Buffer) => {
          if (passed < pass) {
            const n = Math.min(pass - passed, c.length);
            res.write(c.subarray(0, n));
            passed += n;
            if (n < c.length) chunks.push(c.subarray(n));
          } else {
            chunks.push(c);
          }
        });
        upRes.on('end', () => {
          if (pass > 0) {
            res.end(Buffer.concat(chunks));
            return;
          }
          const headers = { ...upRes.headers };
          delete headers['transfer-encoding'];
          delete headers.connection;
          const body = Buffer.concat(chunks);
          res.writeHead(upRes.statusCode ?? 502, { ...headers, 'content-length': String(body.length) });
          res.end(body);
        });
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (_req: http.IncomingMessage, socket: Duplex) => {
    socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The first frame a client sends on a new transport. */
export function registerFrame(kind: string, name = 'echo'): string {
  return JSON.stringify({ type: 'register', server: { ...ECHO_SERVER, name }, reliability: RELIABILITY_VERSION, keepalive: 5, transport: kind });
}

export class Collector {
  readonly frames: Envelope[] = [];
  /** Frames the transport handed over already parsed (poll answers), not as text. */
  parsed = 0;
  closed: TransportCloseInfo | undefined;

  constructor(t: Transport) {
    t.onmessage = (f) => {
      if (typeof f !== 'string') this.parsed++;
      this.frames.push((typeof f === 'string' ? JSON.parse(f) : f.json) as Envelope);
    };
    t.onclose = (info) => (this.closed = info);
  }

  /** The first frame (from index `from` on) that satisfies `pred`; bounded in time. */
  next(pred: (f: Envelope) => boolean, from = 0, what = 'a frame'): Promise<Envelope> {
    return waitFor(() => this.frames.slice(from).find(pred), what, 10_000, 10);
  }

  count(type: string): number {
    return this.frames.filter((f) => f.type === type).length;
  }

  whenClosed(): Promise<TransportCloseInfo> {
    return waitFor(() => this.closed, 'the transport to close', 20_000, 10);
  }
}
