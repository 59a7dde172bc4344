/**
 * The gateway's end of a transport connection is a TunnelLink (transport/transport.ts).
 * What every link shares is written once here (after undici's dispatcher-base):
 * - LinkBase: the handlers, an explicit open → closed state, and `finish()`, which ends
 *   the link exactly once (its owner's cleanup first, then `onclose`), so a local close()
 *   and the peer's close cannot both report;
 * - LinkWrapper: behaviour added to any link by wrapping it (idle detection, metering),
 *   which forwards what it does not change.
 */
import type { TransportCloseInfo, TransportKind, TunnelLink } from '../../../transport/transport.js';
import type { Principal } from '../../http/auth.js';
import type { LinkSlot } from './link-quota.js';

/** Where an endpoint hands each authenticated link (TunnelEndpoint.acceptLink). */
export type LinkAcceptor = (link: TunnelLink, principal: Principal, slot?: LinkSlot) => void;

export abstract class LinkBase implements TunnelLink {
  abstract readonly kind: TransportKind;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  ondrain?: () => void;

  private state: 'open' | 'closed' = 'open';

  get open(): boolean {
    return this.state === 'open';
  }

  abstract send(frame: string, bytes?: number): boolean;
  abstract close(reason?: string, code?: number): void;

  /** End the link once: `released()` gives back what it holds, then the session hears `onclose`. */
  protected finish(info: TransportCloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.released();
    this.onclose?.(info);
  }

  /** Listeners, timers, streams: whatever the link holds, released when it ends. */
  protected abstract released(): void;
}

export abstract class LinkWrapper implements TunnelLink {
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  ondrain?: () => void;

  constructor(protected readonly inner: TunnelLink) {
    inner.onmessage = (frame) => this.received(frame);
    inner.onclose = (info) => this.closed(info);
    inner.ondrain = () => this.ondrain?.();
  }

  get kind(): TransportKind {
    return this.inner.kind;
  }

  send(frame: string, bytes?: number): boolean {
    return this.inner.send(frame, bytes);
  }

  close(reason?: string, code?: number): void {
    this.inner.close(reason, code);
  }

  /** A frame from the peer; the default passes it on. */
  protected received(frame: string): void {
    this.onmessage?.(frame);
  }

  /** The wrapped link ended; the default passes it on. */
  protected closed(info: TransportCloseInfo): void {
    this.onclose?.(info);
  }
}
