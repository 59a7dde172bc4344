/**
 * The lifecycle every client transport shares, written once (after undici's
 * dispatcher-base): the handlers, an explicit state machine, `start()` only once, and
 * `finish()`, which ends the transport exactly once — its own cleanup first, then
 * `onclose` — however many ways it is ended (a local close(), a failed start, the peer,
 * a lost stream).
 *
 *   idle ──start()──▶ connecting ──▶ open ──close()──▶ closing ──▶ closed
 *                          │           └──────── lost ───────────────▲
 *                          └──────────── failed start ───────────────┘
 */
import type { InboundFrame, Transport, TransportCloseInfo, TransportKind } from './transport.js';

export type TransportState = 'idle' | 'connecting' | 'open' | 'closing' | 'closed';

export abstract class TransportBase implements Transport {
  abstract readonly kind: TransportKind;
  onmessage?: (frame: InboundFrame) => void;
  onclose?: (info: TransportCloseInfo) => void;
  onerror?: (err: Error) => void;
  ondrain?: () => void;

  protected state: TransportState = 'idle';

  abstract start(): Promise<void>;
  abstract send(frame: string, bytes?: number): boolean;
  abstract close(reason?: string): Promise<void>;

  /** True once the transport is closing or closed: nothing more may start. */
  protected get ending(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  /** Enter `connecting`; a transport is started once. */
  protected beginStart(): void {
    if (this.state !== 'idle') throw new Error(`${this.constructor.name} already started`);
    this.state = 'connecting';
  }

  /** End once: `released()` stops timers and streams, then the owner hears `onclose`. */
  protected finish(info: TransportCloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.released();
    this.onclose?.(info);
  }

  /** Timers, streams and sockets the transport holds, released when it ends. */
  protected released(): void {}
}
