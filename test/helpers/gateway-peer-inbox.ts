/**
 * What every hand-made tunnel peer of the gateway tests keeps: the frames the gateway sent,
 * waits on them, the highest contiguous seq seen, and a fake MCP server (`handler`) that
 * answers requests as they arrive. FakeTunnelPeer (ws) and HttpTunnelPeer (sse/poll) differ
 * only in how frames travel.
 */
import type { Frame, RpcHandler } from './gateway-fake-peer.js';

export abstract class PeerInbox {
  readonly frames: Frame[] = [];
  /** Answers gateway requests; `undefined` lets the test take them with nthRequest(). */
  abstract handler: RpcHandler | undefined;
  /** Highest contiguous seq received from the gateway. */
  inboundAck = 0;
  private waiters: Array<{ pred: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }> = [];

  abstract respond(id: string | number, result: Frame): unknown;

  /** Wait for the first frame at index >= `from` that matches. Tests bound this with their own timeout. */
  next(pred: (f: Frame) => boolean, from = 0): Promise<Frame> {
    for (let i = from; i < this.frames.length; i++) if (pred(this.frames[i]!)) return Promise.resolve(this.frames[i]!);
    return new Promise((resolve) => this.waiters.push({ pred, resolve, from }));
  }

  /** The n-th (0-based) JSON-RPC request the gateway sent us, whoever answered it. */
  nthRequest(n: number): Promise<Frame> {
    let seen = 0;
    return this.next((f) => f.type === 'request' && f.payload?.method !== undefined && f.payload?.id !== undefined && seen++ === n);
  }

  /** Record one inbound frame, wake its waiters, answer it if it is a request. */
  protected record(f: Frame, trackSeq: boolean): void {
    if (trackSeq && typeof f.seq === 'number' && f.seq === this.inboundAck + 1) this.inboundAck = f.seq;
    this.frames.push(f);
    const index = this.frames.length - 1;
    for (const w of [...this.waiters]) {
      if (index >= w.from && w.pred(f)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(f);
      }
    }
    const p = f.payload;
    if (f.type === 'request' && p && typeof p.method === 'string' && p.id !== undefined && this.handler) {
      const result = this.handler(p);
      if (result !== undefined) void this.respond(p.id, result);
    }
  }
}
