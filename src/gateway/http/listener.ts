/**
 * The gateway's listening server: plain HTTP, or HTTPS with `--tls-cert/--tls-key` (and
 * client certificates required with `--tls-client-ca`), and its answers to requests that
 * never became requests. Its timeouts and connection cap: server-limits.ts.
 */
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { GatewayOptions } from '../../config/types.js';
import { ConfigError, errorMessage } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { serverConstructorOptions } from './server-limits.js';

/**
 * Everything above only needs 'request' and 'upgrade' events, which both kinds emit, so
 * WebSocket tunnels work over either.
 */
export function createListener(opts: GatewayOptions, handler: RequestListener, log: Logger): Server {
  const limits = serverConstructorOptions(opts);
  if (!opts.tlsCert && !opts.tlsKey && !opts.tlsClientCa) return createServer({ connectionsCheckingInterval: limits.connectionsCheckingInterval }, handler);
  if (!opts.tlsCert && !opts.tlsKey) {
    throw new ConfigError('--tls-client-ca needs --tls-cert and --tls-key: client certificates are only checked over HTTPS');
  }
  if (!opts.tlsCert || !opts.tlsKey) {
    throw new ConfigError('--tls-cert and --tls-key go together: HTTPS needs both the certificate and its private key');
  }
  const cert = readPem(opts.tlsCert, '--tls-cert');
  const key = readPem(opts.tlsKey, '--tls-key');
  const ca = opts.tlsClientCa ? readPem(opts.tlsClientCa, '--tls-client-ca') : undefined;
  try {
    // With a client CA, the TLS handshake itself refuses clients without a certificate it
    // signed: they never reach the HTTP layer (nor its Bearer-token check).
    const clientAuth = ca ? { ca, requestCert: true, rejectUnauthorized: true } : {};
    const server = createHttpsServer({ cert, key, ...clientAuth, ...limits }, handler);
    // Failed handshakes (no or untrusted client certificate, plain HTTP on the TLS port) never reach HTTP.
    server.on('tlsClientError', (err) => log.debug({ err: errorMessage(err) }, 'TLS handshake failed'));
    return server;
  } catch (err) {
    throw new ConfigError(`gateway TLS setup failed (check --tls-cert / --tls-key / --tls-client-ca): ${errorMessage(err)}`, { cause: err });
  }
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${flag} file ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(new ConfigError(`gateway cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** --headers-timeout / --receive-timeout expired (Node's own code), or unparsable HTTP: answer and close. */
export function answerClientErrors(server: Server, log: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    log.debug({ err: errorMessage(err), code: err.code }, timedOut ? 'HTTP request not received in time: connection closed' : 'malformed HTTP request');
    const status = timedOut ? '408 Request Timeout' : '400 Bad Request';
    // As Node's default: write and destroy. end() alone would leave the socket half-open for
    // as long as a hostile peer keeps its side open (HTTP server sockets allow half-open).
    if (socket.writable && (socket as Socket).bytesWritten === 0) socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  });
}
