/**
 * The gateway's own SSE streams for single requests (src/gateway/mcp/request-streams.ts),
 * on a real HTTP server on 127.0.0.1 and fetch: the priming event, the answer ending the
 * stream, events related to the request on it, and a reconnect with Last-Event-ID that
 * gets what was missed once — while the request runs, and after it was answered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BoundedEventStore } from '../../../src/gateway/mcp/event-store.js';
import { RequestStreams } from '../../../src/gateway/mcp/request-streams.js';
import { FakeClock } from '../../protocol/fake-clock.js';

interface SseEvent {
  id?: string;
  retry?: string;
  data?: string;
}

/** Events of an SSE body (comments kept as `{ data: ': …' }` so keepalives can be seen). */
function events(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.length > 0)
    .map((block) => {
      const ev: SseEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) ev.data = line;
        else if (line.startsWith('id: ')) ev.id = line.slice(4);
        else if (line.startsWith('retry: ')) ev.retry = line.slice(7);
        else if (line.startsWith('data: ')) ev.data = line.slice(6);
      }
      return ev;
    });
}

/** A streaming body read step by step: `until` what came so far matches, `rest` to its end. */
class BodyReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly dec = new TextDecoder();
  text = '';
  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }
  async until(pred: (text: string) => boolean): Promise<string> {
    while (!pred(this.text)) {
      const { value, done } = await this.reader.read();
      if (done) break;
      this.text += this.dec.decode(value, { stream: true });
    }
    return this.text;
  }
  rest(): Promise<string> {
    return this.until(() => false);
  }
  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

const progress = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progressToken: 't', progress: n } });
const answer = (id: number) => ({ jsonrpc: '2.0' as const, id, result: { content: [{ type: 'text', text: `done ${id}` }] } });

describe('RequestStreams', () => {
  let server: http.Server;
  let base: string;
  let streams: RequestStreams;
  let store: BoundedEventStore;
  const clock = new FakeClock();
  let lastResume: unknown;
  /** POST responses the server saw closed (a cut is seen on the server's side). */
  let closed = 0;

  before(async () => {
    server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url!, 'http://x');
      res.once('close', () => req.method === 'POST' && closed++);
      if (req.method === 'POST') streams.begin(Number(url.searchParams.get('id')), res, 'sid-1', url.searchParams.get('primed') === '1');
      else {
        lastResume = streams.resume(String(req.headers['last-event-id']), res, 'sid-1');
        if (typeof lastResume === 'object') res.writeHead((lastResume as { status: number }).status).end();
        // Not one of these streams: the SDK transport's to answer (here: an empty 204).
        else if (lastResume === 'not_ours') res.writeHead(204).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const fresh = (maxBytes = 1 << 20): void => {
    store = new BoundedEventStore({ maxBytes, maxEvents: 100 });
    streams = new RequestStreams({ store, retryMs: 1000, keepaliveMs: 15_000, clock });
  };

  test('a primed stream: priming event first, related events, the answer ends it', async () => {
    fresh();
    const res = await fetch(`${base}/?id=1&primed=1`, { method: 'POST' });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('mcp-session-id'), 'sid-1');
    assert.equal(streams.route(progress(1), 1), true);
    assert.equal(streams.route(progress(2), 99), false, 'related to another request: not ours');
    assert.equal(streams.route(answer(1), undefined), true);
    assert.equal(streams.has(1), false);
    const evs = events(await res.text());
    assert.equal(evs[0]!.retry, '1000');
    assert.equal(evs[0]!.data, '');
    assert.ok(evs[0]!.id?.startsWith('rq'));
    assert.deepEqual(evs.slice(1).map((e) => JSON.parse(e.data!)), [progress(1), answer(1)]);
  });

  test('without priming (an older client) the stream starts with the first event', async () => {
    fresh();
    const res = await fetch(`${base}/?id=2&primed=0`, { method: 'POST' });
    streams.route(answer(2), undefined);
    const evs = events(await res.text());
    assert.equal(evs.length, 1);
    assert.deepEqual(JSON.parse(evs[0]!.data!), answer(2));
  });

  test('cut while the request runs: the reconnect replays what was missed once, then carries the rest', async () => {
    fresh();
    const ctl = new AbortController();
    const res = await fetch(`${base}/?id=3&primed=1`, { method: 'POST', signal: ctl.signal });
    streams.route(progress(1), 3);
    const seen = events(await new BodyReader(res).until((t) => t.includes('"progress":1')));
    const cursor = seen.at(-1)!.id!;
    const seenClosed = closed;
    ctl.abort();
    await waitUntil(() => closed > seenClosed);
    // Sent while the client is away: kept in the store.
    assert.equal(streams.route(progress(2), 3), true);
    const resumed = await fetch(base, { headers: { 'last-event-id': cursor } });
    assert.equal(lastResume, 'resumed');
    streams.route(progress(3), 3);
    streams.route(answer(3), undefined);
    const rest = events(await resumed.text()).map((e) => JSON.parse(e.data!) as unknown);
    assert.deepEqual(rest, [progress(2), progress(3), answer(3)]);
  });

  test('answered while the client was away: the reconnect gets the answer, and the stream ends', async () => {
    fresh();
    const ctl = new AbortController();
    const res = await fetch(`${base}/?id=4&primed=1`, { method: 'POST', signal: ctl.signal });
    const cursor = events(await new BodyReader(res).until((t) => t.includes('\n\n')))[0]!.id!;
    const seenClosed = closed;
    ctl.abort();
    await waitUntil(() => closed > seenClosed);
    streams.route(answer(4), undefined);
    const resumed = await fetch(base, { headers: { 'last-event-id': cursor } });
    assert.deepEqual(
      events(await resumed.text()).map((e) => JSON.parse(e.data!) as unknown),
      [answer(4)],
    );
  });

  test('a second connection to a live stream is refused (409); a cursor whose events are gone is refused (400)', async () => {
    fresh(300);
    const body = new BodyReader(await fetch(`${base}/?id=5&primed=1`, { method: 'POST' }));
    const cursor = events(await body.until((t) => t.includes('\n\n')))[0]!.id!;
    assert.equal((await fetch(base, { headers: { 'last-event-id': cursor } })).status, 409);
    for (let i = 0; i < 20; i++) streams.route(progress(i), 5);
    const gone = await fetch(base, { headers: { 'last-event-id': cursor } });
    assert.equal(gone.status, 400);
    assert.deepEqual(lastResume, { status: 400, message: 'Invalid event ID format' });
    assert.equal((await fetch(base, { headers: { 'last-event-id': 'not-ours.1' } })).status, 204);
    assert.equal(lastResume, 'not_ours');
    streams.route(answer(5), undefined);
    assert.match(await body.rest(), /done 5/);
  });

  test('keepalive comments while waiting; a closed session answers every waiting request with an error', async () => {
    fresh();
    const body = new BodyReader(await fetch(`${base}/?id=6&primed=1`, { method: 'POST' }));
    await body.until((t) => t.includes('\n\n'));
    clock.advance(15_000);
    assert.match(await body.until((t) => t.includes(': keepalive')), /: keepalive/);
    streams.closeAll();
    const last = events(await body.rest()).at(-1)!;
    const err = JSON.parse(last.data!) as { id: number; error: { code: number; message: string } };
    assert.equal(err.id, 6);
    assert.match(err.error.message, /session closed/);
    assert.equal(clock.pending, 0, 'no timer left behind');
  });
});

/** Bounded wait (count and time) for what the server's side of a connection saw. */
async function waitUntil(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(pred(), 'the server saw the connection close');
}
