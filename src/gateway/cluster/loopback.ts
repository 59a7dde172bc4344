/**
 * Where a replica runs the requests other replicas forward to it: a second HTTP listener on
 * 127.0.0.1, port chosen by the system, serving the same routes (no forwarding again). The
 * principal comes from the verified envelope, handed over in a header that counts only
 * with this process's own random token — nothing reachable from outside the process can
 * set it, and the bearer token never leaves the replica that checked it.
 */
import { Agent, createServer, request, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../http/auth.js';
import type { ExchangeRequest } from './exchange.js';

const TOKEN_HEADER = 'x-rp-loopback';
const PRINCIPAL_HEADER = 'x-rp-principal';

export class Loopback {
  private readonly token = randomBytes(24).toString('base64url');
  private readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 64 });
  private server: Server | undefined;
  private port = 0;

  /** Start serving `handler` (the routes, without forwarding) on 127.0.0.1. */
  async start(handler: RequestListener): Promise<void> {
    const server = createServer(handler);
    // Streams (SSE, long polls) stay open as long as the forwarding replica keeps them.
    server.requestTimeout = 0;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** The principal a loopback request carries, or undefined when it is not one of ours. */
  principalOf(req: IncomingMessage): Principal | undefined {
    const given = req.headers[TOKEN_HEADER];
    if (typeof given !== 'string' || given.length !== this.token.length) return undefined;
    if (!timingSafeEqual(Buffer.from(given), Buffer.from(this.token))) return undefined;
    const raw = req.headers[PRINCIPAL_HEADER];
    if (typeof raw !== 'string') return undefined;
    const p = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Principal;
    return { subject: String(p.subject), isAdmin: p.isAdmin === true };
  }

  /** Run one request here; `onResponse` gets the response stream. */
  run(x: ExchangeRequest, onResponse: (res: IncomingMessage) => void, onError: (err: Error) => void): () => void {
    const headers: Record<string, string> = {
      ...x.headers,
      [TOKEN_HEADER]: this.token,
      [PRINCIPAL_HEADER]: Buffer.from(JSON.stringify(x.principal)).toString('base64url'),
    };
    if (x.body !== undefined) headers['content-length'] = String(Buffer.byteLength(x.body));
    const req = request({ host: '127.0.0.1', port: this.port, method: x.method, path: x.path, headers, agent: this.agent }, onResponse);
    req.on('error', onError);
    req.end(x.body);
    return () => req.destroy();
  }

  async close(): Promise<void> {
    this.agent.destroy();
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
