/**
 * Counts a link's frames and bytes for the metrics, by wrapping (any link kind, like
 * IdleGuardedLink): the sessions and transports above stay unaware of metrics.
 */
import type { TunnelLink } from '../../../transport/transport.js';
import { LinkWrapper } from './link.js';

export type FrameCounter = (direction: 'in' | 'out', bytes: number) => void;

export class MeteredLink extends LinkWrapper {
  constructor(
    inner: TunnelLink,
    private readonly count: FrameCounter,
  ) {
    super(inner);
  }

  protected override received(frame: string): void {
    this.count('in', Buffer.byteLength(frame));
    super.received(frame);
  }

  override send(frame: string, bytes: number = Buffer.byteLength(frame)): boolean {
    this.count('out', bytes);
    return this.inner.send(frame, bytes);
  }
}
