/**
 * Counts a link's frames and bytes for the metrics, by wrapping (any link kind, like
 * IdleGuardedLink): the sessions and transports above stay unaware of metrics.
 */
import type { TransportCloseInfo, TunnelLink } from '../transport/transport.js';

export type FrameCounter = (direction: 'in' | 'out', bytes: number) => void;

export class MeteredLink implements TunnelLink {
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  ondrain?: () => void;

  constructor(
    private readonly inner: TunnelLink,
    private readonly count: FrameCounter,
  ) {
    inner.onmessage = (frame) => {
      this.count('in', Buffer.byteLength(frame));
      this.onmessage?.(frame);
    };
    inner.onclose = (info) => this.onclose?.(info);
    inner.ondrain = () => this.ondrain?.();
  }

  get kind(): TunnelLink['kind'] {
    return this.inner.kind;
  }

  send(frame: string): boolean {
    this.count('out', Buffer.byteLength(frame));
    return this.inner.send(frame);
  }

  close(reason?: string, code?: number): void {
    this.inner.close(reason, code);
  }
}
