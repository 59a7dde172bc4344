/**
 * A CONNECT tunnel through an HTTP proxy, with the proxy's authentication run on the same
 * kept-alive connection. NTLM and Negotiate authenticate a *connection*, not a request:
 * the 407, its challenge and our answer must all travel on one TCP connection, and only
 * the request that completes the handshake gets the tunnel. undici's ProxyAgent sends one
 * CONNECT per connection with a fixed header, so the dispatcher hands undici this as its
 * `connect` function instead (src/net/dispatcher.ts): undici then speaks HTTP/1.1 or
 * TLS + HTTP/1.1 inside the socket we return, as with any connection.
 *
 * The requests themselves are Node's own HTTP client (`http.request` with
 * `createConnection` returning our socket): it parses the proxy's answers, bounded by
 * Node's header-size limit. A CONNECT answer is handed over raw (Node treats every answer
 * to CONNECT as the start of a tunnel), so the body of a 407 is drained here, by its
 * Content-Length, before the next request goes on the same socket.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { parseChallenges, proxyAuthenticateValues } from './proxy-auth/challenges.js';
import type { ProxyAuthenticator } from './proxy-auth/authenticator.js';
import { realClock, type Clock } from '../clock.js';

/** A 407 body larger than this is not worth draining: that connection is dropped. */
const MAX_DRAIN_BYTES = 1024 * 1024;
/** Connections a handshake may use (a proxy that closes after each 407 costs one each). */
const MAX_CONNECTIONS = 4;

export interface TunnelRequest {
  proxy: URL;
  /** CA etc. for an https:// proxy. */
  proxyTls?: tls.ConnectionOptions;
  /** `host:port` of the gateway (IPv6 in brackets). */
  target: string;
  auth: ProxyAuthenticator;
  timeoutMs: number;
  clock?: Clock;
}

/** The proxy refused the tunnel with a status other than 407. */
export class TunnelRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    proxy: string,
    target: string,
  ) {
    super(`proxy ${proxy} answered ${status} to CONNECT ${target}`);
    this.name = 'TunnelRefusedError';
  }
}

/** Nothing answered at the proxy's address (refused, unreachable, timed out). */
export class ProxyUnreachableError extends Error {
  readonly code: string;
  constructor(proxy: string, cause: Error & { code?: string }) {
    super(`proxy ${proxy} is unreachable (${cause.code ?? cause.message})`, { cause });
    this.name = 'ProxyUnreachableError';
    this.code = 'ERR_PROXY_UNREACHABLE';
  }
}

interface Answer {
  status: number;
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  socket: net.Socket;
  head: Buffer;
}

function dial(req: TunnelRequest): Promise<net.Socket> {
  const { proxy } = req;
  const port = Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80);
  const host = proxy.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket =
      proxy.protocol === 'https:'
        ? tls.connect({ ...req.proxyTls, host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
        : net.connect({ host, port });
    const ok = proxy.protocol === 'https:' ? 'secureConnect' : 'connect';
    const onError = (err: Error & { code?: string }): void => {
      socket.destroy();
      // TLS problems with an https:// proxy keep their own code for refusal.ts.
      reject(err.code && /^ERR_TLS|CERT|SSL/.test(err.code) ? err : new ProxyUnreachableError(proxyName(proxy), err));
    };
    socket.once('error', onError);
    socket.once(ok, () => {
      socket.removeListener('error', onError);
      resolve(socket);
    });
  });
}

function proxyName(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** One CONNECT on `socket`; resolves with the raw answer (the socket is ours again). */
function connectOnce(socket: net.Socket, target: string, authorization: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: target, 'proxy-connection': 'keep-alive', connection: 'keep-alive' };
    if (authorization) headers['proxy-authorization'] = authorization;
    const req = http.request({ method: 'CONNECT', path: target, headers, createConnection: () => socket });
    req.once('connect', (res: http.IncomingMessage, s: net.Socket, head: Buffer) =>
      resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, headers: res.headers, socket: s, head }),
    );
    req.once('error', reject);
    req.end();
  });
}

/** Read and drop the body of a 407 so the next request can use the connection. */
function drain(a: Answer): Promise<boolean> {
  const length = Number(a.headers['content-length'] ?? NaN);
  const keepAlive = !/close/i.test(String(a.headers['connection'] ?? a.headers['proxy-connection'] ?? ''));
  // No length (read-to-close or chunked) or too long: this connection is done.
  if (!keepAlive || !Number.isSafeInteger(length) || length > MAX_DRAIN_BYTES) return Promise.resolve(false);
  let left = length - a.head.length;
  if (left < 0) return Promise.resolve(false);
  if (left === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const s = a.socket;
    const done = (ok: boolean): void => {
      s.removeListener('data', onData);
      s.removeListener('close', onClose);
      s.pause();
      // Back to "no mode yet", as Node leaves a socket it hands over after CONNECT: the
      // next request's parser then starts the flow when it attaches (a socket left
      // explicitly paused would never deliver the proxy's next answer).
      (s as { readableFlowing: boolean | null }).readableFlowing = null;
      resolve(ok);
    };
    const onData = (chunk: Buffer): void => {
      left -= chunk.length;
      if (left === 0) done(true);
      else if (left < 0) done(false);
    };
    const onClose = (): void => done(false);
    s.on('data', onData);
    s.once('close', onClose);
    s.resume();
  });
}

/** Open the tunnel: CONNECT, authenticate on 407 (same connection when the proxy keeps it), return the socket. */
export async function openTunnel(req: TunnelRequest): Promise<net.Socket> {
  const handshake = req.auth.handshake();
  let authorization = await handshake.first();
  let socket: net.Socket | undefined;
  const clock = req.clock ?? realClock;
  let timer: unknown;
  let expired = false;
  // Between our requests nobody else listens on the socket: a reset there must not be an
  // uncaught 'error' (the next request on it fails instead, with its own error).
  const guard = (): void => undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      expired = true;
      socket?.destroy();
      reject(new ProxyUnreachableError(proxyName(req.proxy), Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    }, req.timeoutMs);
  });
  const run = async (): Promise<net.Socket> => {
    for (let connections = 0; connections < MAX_CONNECTIONS; ) {
      if (!socket) {
        socket = await dial(req);
        socket.on('error', guard);
        connections++;
        // The deadline passed while dialling: this socket is nobody's.
        if (expired) throw new Error('tunnel deadline passed');
      }
      const answer = await connectOnce(socket, req.target, authorization);
      socket = answer.socket;
      if (answer.status >= 200 && answer.status < 300) {
        handshake.succeeded();
        socket.removeListener('error', guard);
        if (answer.head.length > 0) socket.unshift(answer.head);
        return socket;
      }
      if (answer.status !== 407) {
        // Authentication passed even so (the proxy went on to its access rules): remember
        // the scheme, forwarding mode needs to know it (ProxyRoute.forwardRefusal).
        handshake.succeeded();
        socket.destroy();
        throw new TunnelRefusedError(answer.status, flat(answer.headers), proxyName(req.proxy), req.target);
      }
      const drained = drain(answer);
      authorization = await handshake.next(parseChallenges(proxyAuthenticateValues(answer.rawHeaders)));
      if (!(await drained)) {
        // The proxy closes after a 407: a connection-bound scheme must start over on the
        // next connection (the proxy's challenge was for the one that closed).
        answer.socket.destroy();
        socket = undefined;
        if (/^NTLM /.test(authorization) && !/^NTLM TlRMTVNTUAABAAAA/.test(authorization)) {
          throw new Error(`proxy ${proxyName(req.proxy)} closed the connection in the middle of the NTLM handshake (it must keep the connection alive after a 407)`);
        }
      }
    }
    throw new Error(`proxy ${proxyName(req.proxy)} closed ${MAX_CONNECTIONS} connections in a row during authentication`);
  };
  try {
    return await Promise.race([run(), deadline]);
  } catch (err) {
    socket?.destroy();
    throw err;
  } finally {
    clock.clearTimeout(timer);
  }
}

function flat(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
