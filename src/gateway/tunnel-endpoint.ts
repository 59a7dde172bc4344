/**
 * Where every tunnel link enters, whatever carries it: the WebSocket endpoint
 * (links/ws-endpoint.ts) and the HTTP links of `sse` and `poll`
 * (links/http-links-endpoint.ts) hand their links to `acceptLink` the same way.
 * A link is authenticated before it gets here; its first frame must be
 * `register` (PROTOCOL.md §2).
 */
import type { Logger } from '../observability/logger.js';
import { errorMessage } from '../errors.js';
import { parseEnvelope, RELIABILITY_VERSION, type Envelope, type RegisterEnvelope } from '../protocol/envelope.js';
import type { TunnelLink } from '../transport/transport.js';
import type { Principal } from './auth.js';
import { IdleGuardedLink, idleTimeoutMs } from './links/idle-guard.js';
import { MeteredLink, type FrameCounter } from './metered-link.js';
import type { SessionRegistry } from './session-registry.js';

export interface TunnelEndpointOptions {
  registry: SessionRegistry;
  maxFrameBytes: number;
  logger: Logger;
  /** Metrics: every frame in and out, and frames replayed on resume. */
  countFrame?: FrameCounter;
  countReplayed?: (frames: number) => void;
}

export class TunnelEndpoint {
  constructor(private readonly o: TunnelEndpointOptions) {}

  /** Take an authenticated link; it becomes a session's link once it registers. */
  acceptLink(link: TunnelLink, principal: Principal): void {
    // Until register tells us its keepalive, assume the default one.
    const counted = this.o.countFrame ? new MeteredLink(link, this.o.countFrame) : link;
    const guarded = new IdleGuardedLink(counted, idleTimeoutMs(undefined));
    const log = this.o.logger.child({ owner: principal.subject, transport: link.kind });
    guarded.onclose = (info) => log.info({ event: 'link_closed', reason: info.reason }, 'tunnel link closed before register');
    guarded.onmessage = (frame) => {
      guarded.onmessage = undefined;
      guarded.onclose = undefined;
      this.firstFrame(guarded, frame, principal, log);
    };
  }

  private firstFrame(link: IdleGuardedLink, frame: string, principal: Principal, log: Logger): void {
    let reg: RegisterEnvelope;
    try {
      reg = validateRegister(parseEnvelope(frame, this.o.maxFrameBytes));
    } catch (err) {
      return refuse(link, log, 'invalid_register', errorMessage(err));
    }
    const reliable = reg.reliability === RELIABILITY_VERSION;
    if (reg.reliability !== undefined && !reliable) {
      log.warn({ reliability: reg.reliability }, `unknown reliability "${String(reg.reliability)}": using plain mode`);
    }
    const outcome = this.o.registry.register(principal, reg, reliable ? 'reliable' : 'plain');
    if (outcome.kind === 'refused') return refuse(link, log, outcome.code, outcome.message);
    const { session, resumed } = outcome;
    const ack: Envelope = {
      type: 'register_ack',
      sessionId: session.sessionId,
      status: 'success',
      resumed,
      ack: resumed ? session.channel.inboundAck : 0,
    };
    if (reliable) ack.reliability = RELIABILITY_VERSION;
    link.setIdleTimeout(idleTimeoutMs(typeof reg.keepalive === 'number' ? reg.keepalive : undefined));
    // Order matters: register_ack first, then replay (the client resets its state on the ack).
    link.send(JSON.stringify(ack));
    const replayed = session.attach(link, resumed ? reg.resume!.ack : 0);
    this.o.countReplayed?.(replayed);
    log.info(
      {
        event: 'register',
        name: session.serverName,
        sessionId: session.sessionId,
        resumed,
        mode: session.channel.mode,
        replayed,
      },
      `${resumed ? 'resumed' : 'registered'} server ${session.serverName} (${session.channel.mode} mode over ${link.kind})`,
    );
  }
}

function refuse(link: TunnelLink, log: Logger, code: string, message: string): void {
  log.warn({ event: 'register_refused', code, reason: message }, `register refused: ${message}`);
  link.send(JSON.stringify({ type: 'error', code, message }));
  link.close(message);
}

/** A register frame the rest of the gateway can trust the shape of. */
function validateRegister(env: Envelope): RegisterEnvelope {
  const fail = (why: string): never => {
    throw new Error(why);
  };
  if (env.type !== 'register') fail(`the first frame must be "register", got "${env.type}"`);
  const server = env.server as Record<string, unknown> | undefined;
  if (typeof server !== 'object' || server === null || Array.isArray(server)) fail('register has no "server" object');
  if (typeof server!.name !== 'string' || server!.name.trim() === '') fail('register "server.name" must be a non-empty string');
  if (server!.serverInfo !== undefined) {
    const info = server!.serverInfo as Record<string, unknown> | null;
    if (typeof info !== 'object' || info === null || typeof info.name !== 'string') fail('register "server.serverInfo" needs a "name"');
  }
  const resume = env.resume as Record<string, unknown> | undefined;
  if (resume !== undefined) {
    if (typeof resume !== 'object' || resume === null || typeof resume.sessionId !== 'string') fail('register "resume.sessionId" must be a string');
    if (!Number.isSafeInteger(resume.ack) || (resume.ack as number) < 0) fail('register "resume.ack" must be an integer >= 0');
  }
  if (env.keepalive !== undefined && (typeof env.keepalive !== 'number' || !(env.keepalive > 0))) {
    fail('register "keepalive" must be a positive number of seconds');
  }
  return env as RegisterEnvelope;
}
