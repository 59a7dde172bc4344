/**
 * The register handshake on a freshly opened transport (docs/protocol.md §2): send
 * `register`, then wait for `register_ack` (resolves) or an `error` frame (rejects; fatal
 * when retrying cannot help), within a deadline. Frames that arrive right behind the ack
 * (a transport may hand over a whole batch at once) are kept in `early` for the caller.
 */
import type { Clock } from '../clock.js';
import { ReverseProxyError, TransportError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { isKnownEnvelope, type Frame, type RegisterAckEnvelope, type RegisterEnvelope } from '../protocol/envelope.js';
import { errorEffect } from '../protocol/error-codes.js';
import type { InboundFrame, Transport, TransportCloseInfo } from '../transport/transport.js';

export interface RegisterHandshake {
  transport: Transport;
  register: RegisterEnvelope;
  /** Settles when the transport closes. */
  closed: Promise<TransportCloseInfo>;
  /** Installs the handler of the transport's next frames. */
  setHandler: (h: (frame: InboundFrame) => void) => void;
  early: InboundFrame[];
  timeoutMs: number;
  clock: Clock;
  /** Parse a frame; undefined (already logged) when it is malformed. */
  parse: (frame: InboundFrame) => Frame | undefined;
  log: Logger;
}

export function registerOn(o: RegisterHandshake): Promise<RegisterAckEnvelope> {
  const { transport } = o;
  return new Promise<RegisterAckEnvelope>((resolve, reject) => {
    const timer = o.clock.setTimeout(() => {
      void transport.close('no register_ack');
      reject(new TransportError(`gateway did not answer register within ${o.timeoutMs} ms`, { code: 'ERR_HANDSHAKE_TIMEOUT' }));
    }, o.timeoutMs);
    void o.closed.then((info) => {
      o.clock.clearTimeout(timer);
      reject(info.error ?? new TransportError(`transport closed during registration (${info.reason})`));
    });
    o.setHandler((frame) => {
      const env = o.parse(frame);
      if (!env) return;
      if (!isKnownEnvelope(env)) {
        o.log.debug({ type: env.type }, 'frame before register_ack ignored');
      } else if (env.type === 'register_ack' && typeof env.sessionId === 'string') {
        o.clock.clearTimeout(timer);
        o.setHandler((next) => o.early.push(next));
        warnWithoutModern(o.register, env, o.log);
        resolve(env);
      } else if (env.type === 'error') {
        o.clock.clearTimeout(timer);
        void transport.close('registration refused');
        const msg = `gateway refused registration: ${String(env.message ?? 'no reason given')}`;
        // A refusal that will not fix itself (the name, the register) ends the client.
        reject(errorEffect(env.code) === 'stop' ? new ReverseProxyError('ERR_SESSION_CLOSED', msg) : new TransportError(msg));
      } else {
        o.log.debug({ type: env.type }, 'frame before register_ack ignored');
      }
    });
    transport.send(JSON.stringify(o.register));
  });
}

/** Servers already warned about (once per process, not per reconnect). */
const warned = new WeakSet<object>();

/**
 * A 2026-07-28 server behind a gateway that does not announce it bridges that era (an
 * older gateway, or ContextForge): its 2025-era MCP clients would send requests without
 * `_meta`, which the server refuses. Say so once, with what to do.
 */
function warnWithoutModern(reg: RegisterEnvelope, ack: RegisterAckEnvelope, log: Logger): void {
  if (reg.server.era !== 'modern' || ack.eras?.includes('modern') || warned.has(reg.server)) return;
  warned.add(reg.server);
  log.warn(
    { event: 'gateway_lacks_modern' },
    'the gateway does not say it bridges MCP 2026-07-28 servers (an older gateway?): its 2025-era MCP clients will fail against this server. ' +
      'Upgrade the gateway, or, if the server also speaks the 2025 era, run with --server-era legacy',
  );
}
