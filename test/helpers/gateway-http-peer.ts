/**
 * A hand-written tunnel client for the gateway's HTTP links (protocol.md §4.1): an SSE
 * stream read with undici fetch + eventsource-parser, or a long-poll loop, and NDJSON
 * POSTs upstream. Same frame bookkeeping as gateway-fake-peer.ts (which speaks ws), with
 * just enough seq/ack to resume, and a fake MCP server answering requests (`handler`).
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { fetch, type Dispatcher } from 'undici';
import { echoServer, type Frame, type RpcHandler } from './gateway-fake-peer.js';
import { PeerInbox } from './gateway-peer-inbox.js';

export interface HttpPeerOptions {
  dispatcher?: Dispatcher;
  /** Long-poll wait (s) of the poll loop. */
  pollWait?: number;
}

/** The raw start of an SSE response, for header/padding checks. */
export interface SseOpening {
  status: number;
  headers: Headers;
  comments: string[];
}

export class HttpTunnelPeer extends PeerInbox {
  /** SSE event ids in arrival order (across reopened streams). */
  readonly eventIds: number[] = [];
  override handler: RpcHandler | undefined = echoServer;
  lastEventId = 0;
  opening: SseOpening | undefined;
  private outSeq = 0;
  private commentWaiters: Array<{ text: string; resolve: () => void }> = [];
  private stream: AbortController | undefined;
  private posting: Promise<unknown> = Promise.resolve();
  private stopped = false;
  linkId = '';
  postUrl = '';
  pollUrl = '';

  private constructor(
    readonly kind: 'sse' | 'poll',
    readonly gatewayUrl: string,
    readonly token: string,
    private readonly o: HttpPeerOptions,
  ) {
    super();
  }

  get auth(): Record<string, string> {
    return { Authorization: `Bearer ${this.token}` };
  }

  /** Open an SSE link; resolves once the `session` event arrived. */
  static async openSse(gatewayUrl: string, token: string, o: HttpPeerOptions = {}): Promise<HttpTunnelPeer> {
    const peer = new HttpTunnelPeer('sse', gatewayUrl, token, o);
    await peer.openStream(`${gatewayUrl}/reverse-proxy/sse`, {});
    return peer;
  }

  /** Create a poll link and start the long-poll loop. */
  static async openPoll(gatewayUrl: string, token: string, o: HttpPeerOptions = {}): Promise<HttpTunnelPeer> {
    const peer = new HttpTunnelPeer('poll', gatewayUrl, token, o);
    const createUrl = `${gatewayUrl}/reverse-proxy/poll`;
    const res = await fetch(createUrl, { headers: peer.auth, dispatcher: o.dispatcher });
    if (res.status !== 200) throw new Error(`poll link refused: HTTP ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { linkId: string; postUrl: string; pollUrl: string };
    peer.linkId = body.linkId;
    peer.postUrl = new URL(body.postUrl, createUrl).href;
    peer.pollUrl = new URL(body.pollUrl, createUrl).href;
    void peer.pollLoop();
    return peer;
  }

  /** (Re)open the SSE stream; `link` reopens an existing link after `lastEventId`. Throws with the status when refused. */
  async openStream(url: string, headers: Record<string, string>): Promise<void> {
    this.stream?.abort();
    const ctl = new AbortController();
    this.stream = ctl;
    const res = await fetch(url, { headers: { ...this.auth, ...headers }, signal: ctl.signal, dispatcher: this.o.dispatcher });
    if (res.status !== 200 || !res.body) {
      const text = await res.text();
      throw Object.assign(new Error(`SSE refused: HTTP ${res.status} ${text}`), { status: res.status });
    }
    const opening: SseOpening = { status: res.status, headers: res.headers as unknown as Headers, comments: [] };
    this.opening = opening;
    let sessionSeen!: () => void;
    const session = new Promise<void>((resolve) => (sessionSeen = resolve));
    const parser = createParser({
      onComment: (c) => {
        opening.comments.push(c);
        for (const w of this.commentWaiters.filter((x) => c.trim() === x.text)) {
          this.commentWaiters.splice(this.commentWaiters.indexOf(w), 1);
          w.resolve();
        }
      },
      onEvent: (ev: EventSourceMessage) => {
        if (ev.event === 'session') {
          const data = JSON.parse(ev.data) as { linkId: string; postUrl: string };
          this.linkId = data.linkId;
          this.postUrl = new URL(data.postUrl, url).href;
          sessionSeen();
        } else if (ev.event === 'message') {
          this.eventIds.push(Number(ev.id));
          this.lastEventId = Number(ev.id);
          this.onFrame(JSON.parse(ev.data) as Frame);
        }
      },
    });
    void (async () => {
      try {
        for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) parser.feed(chunk);
      } catch {
        // aborted: the test dropped the stream
      }
    })();
    await session;
  }

  /** Resolves when a comment line with this text arrives on the current stream. */
  comment(text: string): Promise<void> {
    return new Promise((resolve) => this.commentWaiters.push({ text, resolve }));
  }

  /** Reopen the stream on the same link after `lastEventId` (default: the last one seen). */
  reopen(lastEventId = this.lastEventId): Promise<void> {
    const url = `${this.gatewayUrl}/reverse-proxy/sse?link=${encodeURIComponent(this.linkId)}`;
    return this.openStream(url, { 'Last-Event-ID': String(lastEventId) });
  }

  /** Drop the SSE stream as a cut connection would; the link stays. */
  dropStream(): void {
    this.stream?.abort();
    this.stream = undefined;
  }

  async register(server: Frame, extra: Frame = {}): Promise<Frame> {
    const from = this.frames.length;
    // Resuming a session another peer object held: continue its sequence numbers (this peer keeps no outbox to replay).
    if (typeof extra.resume?.ack === 'number') this.inboundAck = extra.resume.ack;
    await this.post([JSON.stringify({ type: 'register', server, transport: this.kind, reliability: 'seq-ack/1', keepalive: 30, ...extra })]);
    const ack = await this.next((f) => f.type === 'register_ack' || f.type === 'error', from);
    if (ack.resumed === true) this.outSeq = ack.ack as number;
    return ack;
  }

  /** One NDJSON POST; POSTs go one at a time, in order. */
  post(lines: string[]): Promise<{ status: number; body: any }> {
    const run = async (): Promise<{ status: number; body: any }> => {
      const res = await fetch(this.postUrl, {
        method: 'POST',
        headers: { ...this.auth, 'Content-Type': 'application/x-ndjson' },
        body: lines.join('\n') + '\n',
        dispatcher: this.o.dispatcher,
      });
      return { status: res.status, body: await res.json() };
    };
    const p = this.posting.then(run, run);
    this.posting = p.catch(() => {});
    return p;
  }

  sendData(payload: Frame): Promise<unknown> {
    const type = payload.id !== undefined && !('method' in payload) ? 'response' : 'notification';
    return this.post([JSON.stringify({ type, payload, seq: ++this.outSeq, ack: this.inboundAck })]);
  }

  respond(id: string | number, result: Frame): Promise<unknown> {
    return this.sendData({ jsonrpc: '2.0', id, result });
  }

  /** Stop reading (stream or poll loop). The gateway notices through its idle timers, or the test deletes the session. */
  stop(): void {
    this.stopped = true;
    this.dropStream();
  }

  /** Long-poll loop: bounded in count; each poll is bounded by `wait` on the gateway side. */
  private async pollLoop(): Promise<void> {
    let after = 0;
    for (let i = 0; i < 10_000 && !this.stopped; i++) {
      const res = await fetch(`${this.pollUrl}?after=${after}&wait=${this.o.pollWait ?? 5}`, {
        headers: this.auth,
        dispatcher: this.o.dispatcher,
      }).catch(() => undefined);
      if (!res || res.status !== 200) {
        this.stopped = true;
        return;
      }
      const body = (await res.json()) as { next: number; frames: Frame[] };
      for (const f of body.frames) this.onFrame(f);
      after = body.next;
    }
  }

  private onFrame(f: Frame): void {
    this.record(f, true);
  }
}
