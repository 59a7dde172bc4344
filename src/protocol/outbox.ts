/**
 * The sending half of a ReliableChannel's memory (docs/protocol.md §3.2): data frames
 * pushed and not yet acknowledged, in seq order, serialized once. Every seq the channel
 * assigns goes through here, so the seqs held are contiguous and a frame is found by
 * arithmetic. Bounded in bytes by the channel (`hasRoom` before `push`).
 *
 * Acknowledged frames are released at once (their slot is cleared), not when the array is
 * next compacted: otherwise up to half the array could be dead frames, and the memory held
 * would be twice the byte bound.
 */
import type { DataEnvelope } from './envelope.js';
import type { JsonRpcMessage } from './jsonrpc.js';

export interface OutboxEntry {
  seq: number;
  /** Serialized frame without `ack`, starting with `{`. */
  body: string;
  bytes: number;
}

export class Outbox {
  /** entries[head..] are held; slots before head are cleared and cut off in bulk. */
  private entries: Array<OutboxEntry | undefined> = [];
  private head = 0;
  private bytes_ = 0;

  get frames(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.bytes_;
  }

  /** Seq of the oldest frame held, or undefined when empty. */
  get firstSeq(): number | undefined {
    return this.entries[this.head]?.seq;
  }

  push(entry: OutboxEntry): void {
    this.entries.push(entry);
    this.bytes_ += entry.bytes;
  }

  /** The frame with this seq, if it is still held. */
  get(seq: number): OutboxEntry | undefined {
    const first = this.firstSeq;
    if (first === undefined || seq < first) return undefined;
    return this.entries[this.head + (seq - first)];
  }

  /** Release every frame with seq <= `ack` (acknowledgements are cumulative). Returns how many. */
  trimThrough(ack: number): number {
    let n = 0;
    for (let e = this.entries[this.head]; e !== undefined && e.seq <= ack; e = this.entries[this.head]) {
      this.bytes_ -= e.bytes;
      this.entries[this.head++] = undefined;
      n++;
    }
    // Compact once the cleared prefix dominates, so the array does not grow forever.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes_ = 0;
  }

  /** The JSON-RPC payloads still held, oldest first (to answer what a dropped session owed). */
  payloads(): JsonRpcMessage[] {
    const out: JsonRpcMessage[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const env = JSON.parse(this.entries[i]!.body) as DataEnvelope;
      out.push(env.payload);
    }
    return out;
  }
}
