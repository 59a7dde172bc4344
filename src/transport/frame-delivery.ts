/**
 * Hands inbound frames to `onmessage` one per macrotask, in order.
 *
 * One SSE chunk, one poll answer or one TCP read can carry many frames (register_ack and
 * the replay right behind it, typically). Delivered in one synchronous loop, the frames
 * after register_ack reach the consumer before its `await` on the ack has resumed — i.e.
 * before it installed the handler for the session — and get lost. A browser-style "one
 * event per task" delivery lets every promise continuation run between two frames.
 */
export class FrameDelivery {
  private readonly queue: string[] = [];
  private head = 0;
  private scheduled = false;
  private stopped = false;

  /** `deliver` is looked up per frame, so the owner may swap its handler at any time. */
  constructor(private readonly deliver: (frame: string) => void) {}

  push(frame: string): void {
    if (this.stopped) return;
    this.queue.push(frame);
    this.schedule();
  }

  /**
   * The transport is closing: hand over what is still queued at once (a last `error`
   * frame such as session_deleted often arrives right before the close), then stop.
   */
  end(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Bounded by the queue's length at this moment: delivery cannot add to a stopped queue.
    const rest = this.queue.slice(this.head);
    this.queue.length = 0;
    this.head = 0;
    for (const frame of rest) this.deliver(frame);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped || this.head >= this.queue.length) return;
      const frame = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (this.head < this.queue.length) this.schedule();
      this.deliver(frame);
    });
  }
}
