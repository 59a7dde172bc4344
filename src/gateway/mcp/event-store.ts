/**
 * Resumable SSE streams for 2025-era MCP clients (2025-11-25 Streamable HTTP,
 * "Resumability and Redelivery"; SEP-1699 priming events): the SDK transport stores
 * every event it writes here and, when a client reconnects with `Last-Event-ID`, replays
 * what came after it on that same stream. One store per MCP session, bounded in bytes and
 * events; over the bound the oldest events go first, and a reconnect that needs one of
 * them is refused (the client then sees an error instead of a silent gap).
 *
 * Event ids are `<streamId>.<n>`: the stream is readable from the id alone (the SDK asks
 * `getStreamIdForEventId` before it replays), and `n` grows per store so ids never repeat.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface EventStoreLimits {
  maxBytes: number;
  maxEvents: number;
}

interface StoredEvent {
  n: number;
  streamId: string;
  message: JSONRPCMessage;
  bytes: number;
}

export class BoundedEventStore implements EventStore {
  private events: StoredEvent[] = [];
  private head = 0;
  private bytes = 0;
  private next = 0;
  /** Highest event number evicted by the bound, per stream: replays from before it are refused. */
  private readonly evictedThrough = new Map<string, number>();

  constructor(private readonly limits: EventStoreLimits) {}

  get size(): { events: number; bytes: number } {
    return { events: this.events.length - this.head, bytes: this.bytes };
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const n = ++this.next;
    // The priming event is an empty object: it only gives the client a cursor.
    const bytes = Object.keys(message).length === 0 ? 0 : Buffer.byteLength(JSON.stringify(message));
    this.events.push({ n, streamId, message, bytes });
    this.bytes += bytes;
    while ((this.bytes > this.limits.maxBytes || this.events.length - this.head > this.limits.maxEvents) && this.events.length - this.head > 1) {
      const old = this.events[this.head++]!;
      this.bytes -= old.bytes;
      this.evictedThrough.set(old.streamId, old.n);
    }
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
    return `${streamId}.${n}`;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const parsed = parseEventId(eventId);
    if (!parsed || parsed.n > this.next) return undefined;
    // Some event after the cursor is gone: a replay would have a hole in it.
    if ((this.evictedThrough.get(parsed.streamId) ?? 0) > parsed.n) return undefined;
    return parsed.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const parsed = parseEventId(lastEventId);
    if (!parsed) return '';
    for (let i = this.head; i < this.events.length; i++) {
      const ev = this.events[i]!;
      if (ev.streamId !== parsed.streamId || ev.n <= parsed.n || ev.bytes === 0) continue;
      await send(`${ev.streamId}.${ev.n}`, ev.message);
    }
    return parsed.streamId;
  }
}

function parseEventId(id: string): { streamId: string; n: number } | undefined {
  const dot = id.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const n = Number(id.slice(dot + 1));
  return Number.isSafeInteger(n) && n > 0 ? { streamId: id.slice(0, dot), n } : undefined;
}
