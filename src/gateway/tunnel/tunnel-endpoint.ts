/**
 * Where every tunnel link enters, whatever carries it: the WebSocket endpoint
 * (links/ws-endpoint.ts) and the HTTP links of `sse` and `poll`
 * (links/http-links-endpoint.ts) hand their links to `acceptLink` the same way.
 * A link is authenticated before it gets here; it must send `register` within
 * REGISTER_TIMEOUT_MS, and before that only a plain peer's data frames are accepted
 * (and dropped, within bounds: register-frame.ts, docs/protocol.md §2.2).
 *
 * Refusals are what a hostile token holder can cause at will, so their WARN lines are
 * rate-limited per subject (first REFUSAL_LOG_BURST per interval, then one summary).
 */
import type { Logger } from '../../observability/logger.js';
import { clip } from '../../observability/log-text.js';
import { refusalLog, type RateLimitedLog } from '../../observability/rate-limited-log.js';
import { RELIABILITY_VERSION, type RegisterAckEnvelope, type RegisterEnvelope } from '../../protocol/envelope.js';
import type { TunnelErrorCode } from '../../protocol/error-codes.js';
import { realClock, type Clock } from '../../clock.js';
import type { TunnelLink } from '../../transport/transport.js';
import type { Principal } from '../http/auth.js';
import { IdleGuardedLink, idleTimeoutMs } from './links/idle-guard.js';
import type { LinkSlot } from './links/link-quota.js';
import { MeteredLink, type FrameCounter } from './links/metered-link.js';
import { earlyFrame, REGISTER_TIMEOUT_MS, type EarlyBudget } from './register-frame.js';
import type { SessionRegistry } from './session-registry.js';
import type { TunnelCluster } from './tunnel-cluster.js';

export interface TunnelEndpointOptions {
  registry: SessionRegistry;
  maxFrameBytes: number;
  logger: Logger;
  /** Metrics: every frame in and out, and frames replayed on resume. */
  countFrame?: FrameCounter;
  countReplayed?: (frames: number) => void;
  /** Timers of the register deadline, idle detection and the refusal log (tests: a fake clock). */
  clock?: Clock;
  /** Scale-out: what the other replicas hold is checked before a register is decided here. */
  cluster?: TunnelCluster;
}

export class TunnelEndpoint {
  private readonly clock: Clock;
  private readonly refusals: RateLimitedLog;

  constructor(private readonly o: TunnelEndpointOptions) {
    this.clock = o.clock ?? realClock;
    this.refusals = refusalLog(o.logger, 'register_refused', 'register refusal', this.clock);
  }

  /** Take an authenticated link; it becomes a session's link once it registers. */
  acceptLink(link: TunnelLink, principal: Principal, slot?: LinkSlot): void {
    const counted = this.o.countFrame ? new MeteredLink(link, this.o.countFrame) : link;
    // Until register tells us its keepalive, assume the default one.
    const guarded = new IdleGuardedLink(counted, idleTimeoutMs(undefined), this.clock);
    const log = this.o.logger.child({ owner: clip(principal.subject), transport: link.kind });
    const budget: EarlyBudget = { frames: 0, bytes: 0 };
    const deadline = this.clock.setTimeout(
      () => this.refuse(guarded, principal, log, 'register_timeout', `no "register" within ${REGISTER_TIMEOUT_MS / 1000} s of opening the link`),
      REGISTER_TIMEOUT_MS,
    );
    const done = (): void => {
      this.clock.clearTimeout(deadline);
      guarded.onmessage = undefined;
      guarded.onclose = undefined;
    };
    guarded.onclose = (info) => {
      done();
      log.info({ event: 'link_closed', reason: clip(info.reason) }, 'tunnel link closed before register');
    };
    guarded.onmessage = (frame) => {
      const step = earlyFrame(frame, this.o.maxFrameBytes, budget);
      if (step.kind === 'early_data') {
        const id = (step.env.payload as { id?: unknown }).id;
        log.debug(
          { event: 'early_frame_dropped', type: clip(step.env.type, 40), id: clip(id, 80), bytes: step.bytes },
          'data frame before register dropped: nobody asked for it (a plain peer initializing its own server)',
        );
        return;
      }
      done();
      if (step.kind === 'refuse') return this.refuse(guarded, principal, log, step.code, step.message);
      if (!this.o.cluster) return this.register(guarded, step.register, principal, log, slot);
      void this.admitThenRegister(this.o.cluster, guarded, step.register, principal, log, slot);
    };
  }

  /** Scale-out: the cluster decides first (async); the link may close meanwhile. */
  private async admitThenRegister(cluster: TunnelCluster, link: IdleGuardedLink, reg: RegisterEnvelope, principal: Principal, log: Logger, slot: LinkSlot | undefined): Promise<void> {
    let closed = false;
    link.onclose = () => {
      closed = true;
    };
    let admission: Awaited<ReturnType<TunnelCluster['admit']>>;
    try {
      admission = await cluster.admit(principal, reg);
    } catch (err) {
      admission = { kind: 'refused', code: 'cluster_unavailable', message: `the gateway cannot reach its cluster store: ${err instanceof Error ? err.message : String(err)}` };
    }
    link.onclose = undefined;
    if (closed) return;
    if (admission.kind === 'refused') return this.refuse(link, principal, log, admission.code, admission.message);
    this.register(link, reg, principal, log, slot);
  }

  private register(link: IdleGuardedLink, reg: RegisterEnvelope, principal: Principal, log: Logger, slot: LinkSlot | undefined): void {
    const reliable = reg.reliability === RELIABILITY_VERSION;
    if (reg.reliability !== undefined && !reliable) {
      log.warn({ reliability: clip(reg.reliability, 40) }, `unknown reliability ${clip(JSON.stringify(reg.reliability), 40)}: using plain mode`);
    }
    const outcome = this.o.registry.register(principal, reg, reliable ? 'reliable' : 'plain');
    if (outcome.kind === 'refused') return this.refuse(link, principal, log, outcome.code, outcome.message);
    slot?.registered();
    const { session, resumed } = outcome;
    const ack: RegisterAckEnvelope = {
      type: 'register_ack',
      sessionId: session.sessionId,
      status: 'success',
      resumed,
      ack: resumed ? session.channel.inboundAck : 0,
      eras: ['legacy', 'modern'],
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

  private refuse(link: TunnelLink, principal: Principal, log: Logger, code: TunnelErrorCode, message: string): void {
    if (this.refusals.allow(principal.subject)) {
      log.warn({ event: 'register_refused', code, reason: clip(message) }, `register refused: ${clip(message)}`);
    }
    link.send(JSON.stringify({ type: 'error', code, message }));
    link.close(message);
  }
}
