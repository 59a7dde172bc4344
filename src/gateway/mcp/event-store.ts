/**
 * Resumable SSE streams for 2025-era MCP clients (2025-11-25 Streamable HTTP,
 * "Resumability and Redelivery"; SEP-1699 priming events): the SDK transport stores
 * every event it writes here and, when a client reconnects with `Last-Event-ID`, replays
 * what came after it on that same stream. One store per MCP session, bounded in bytes and
 * events; over the bound the oldest events go first, and a reconnect that needs one of
 * them is refused (the client then sees an error instead of a silent gap).
 *
 * Events are kept serialized, as written: a replay writes them again without a second
 * JSON.stringify, and their byte count is the text's.
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
  /** The message as written on the wire; undefined for a priming event (it only gives the client a cursor). */
  text: string | undefined;
  bytes: number;
}

/** One stored event, as a replay writes it. */
export interface ReplayedEvent {
  id: string;
  /** The message, serialized. */
  data: string;
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

  /**
   * Store one event of `streamId` (`text`: the message serialized, undefined for a priming
   * event) and return its id. Synchronous, for the gateway's own request streams
   * (request-streams.ts): a replay and what follows it cannot interleave.
   */
  store(streamId: string, text: string | undefined): string {
    const n = ++this.next;
    const bytes = text === undefined ? 0 : Buffer.byteLength(text);
    this.events.push({ n, streamId, text, bytes });
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

  /** The stream an event id names, if every event of it after that id is still here. */
  streamOf(eventId: string): string | undefined {
    const parsed = parseEventId(eventId);
    if (!parsed || parsed.n > this.next) return undefined;
    // Some event after the cursor is gone: a replay would have a hole in it.
    if ((this.evictedThrough.get(parsed.streamId) ?? 0) > parsed.n) return undefined;
    return parsed.streamId;
  }

  /** The events of the cursor's stream after it, in order (priming events left out). */
  eventsAfter(lastEventId: string): ReplayedEvent[] {
    const parsed = parseEventId(lastEventId);
    if (!parsed) return [];
    const out: ReplayedEvent[] = [];
    for (let i = this.head; i < this.events.length; i++) {
      const ev = this.events[i]!;
      if (ev.streamId !== parsed.streamId || ev.n <= parsed.n || ev.text === undefined) continue;
      out.push({ id: `${ev.streamId}.${ev.n}`, data: ev.text });
    }
    return out;
  }

  // The SDK transport's EventStore (its standalone GET stream and the streams it still opens).

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    return this.store(streamId, Object.keys(message).length === 0 ? undefined : JSON.stringify(message));
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.streamOf(eventId);
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const parsed = parseEventId(lastEventId);
    if (!parsed) return '';
    for (const ev of this.eventsAfter(lastEventId)) await send(ev.id, JSON.parse(ev.data) as JSONRPCMessage);
    return parsed.streamId;
  }
}

function parseEventId(id: string): { streamId: string; n: number } | undefined {
  const dot = id.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const n = Number(id.slice(dot + 1));
  return Number.isSafeInteger(n) && n > 0 ? { streamId: id.slice(0, dot), n } : undefined;
}
