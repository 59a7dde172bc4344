/**
 * TLS alerts that undici swallows. With TLS 1.3 a server that requires (or rejects) a
 * client certificate says so with an alert *after* the client's handshake completed;
 * undici then reports only "other side closed" (UND_ERR_SOCKET), for fetch and WebSocket
 * alike. The socket itself did see `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`, so we
 * listen on every socket undici connects (`undici:client:connected`) and keep the last
 * TLS alert per host for a few seconds; refusal.ts asks for it when a connection to that
 * host closed before answering.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

const KEEP_MS = 10_000;
/** Bounded: one entry per host, and hosts are few (one gateway, a proxy). */
const MAX_HOSTS = 64;
const alerts = new Map<string, { error: Error & { code?: string }; at: number }>();
let subscribed = false;

function isTlsAlert(err: Error & { code?: string }): boolean {
  return /^ERR_SSL_/.test(err.code ?? '') || /alert/i.test(err.message);
}

export function watchTlsAlerts(): void {
  if (subscribed) return;
  subscribed = true;
  diagnosticsChannel.subscribe('undici:client:connected', (msg) => {
    const { connectParams, socket } = msg as { connectParams: { host?: string; protocol?: string }; socket: Socket };
    if (connectParams.protocol !== 'https:' || !connectParams.host) return;
    const host = connectParams.host;
    socket.prependListener('error', (error: Error & { code?: string }) => {
      if (!isTlsAlert(error)) return;
      if (alerts.size >= MAX_HOSTS) alerts.clear();
      alerts.set(host, { error, at: Date.now() });
    });
  });
}

/** The TLS alert a connection to `host` (`name[:port]`, as in a URL) got lately, if any. */
export function recentTlsAlert(host: string): (Error & { code?: string }) | undefined {
  const a = alerts.get(host);
  if (!a) return undefined;
  if (Date.now() - a.at > KEEP_MS) {
    alerts.delete(host);
    return undefined;
  }
  return a.error;
}
