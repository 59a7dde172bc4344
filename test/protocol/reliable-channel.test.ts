/**
 * Example-based tests of ReliableChannel (docs/protocol.md §3). Time is a FakeClock; the
 * wire is an array of the strings handed to send().
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReliableChannel, CHANNEL_DEFAULTS, type ReliableChannelOptions } from '../../src/protocol/reliable-channel.js';
import { parseEnvelope as parseFrame, type DataEnvelope, type UnknownEnvelope } from '../../src/protocol/envelope.js';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.js';
import { QueueFullError } from '../../src/errors.js';
import { FakeClock } from './fake-clock.js';

const parseEnvelope = (text: string): UnknownEnvelope => parseFrame(text) as UnknownEnvelope;

function msg(n: number, pad = ''): JsonRpcMessage {
  return pad ? { jsonrpc: '2.0', method: 'm', params: { n, pad } } : { jsonrpc: '2.0', method: 'm', params: { n } };
}

function data(seq: number | undefined, n: number = seq ?? 0, ack?: number): DataEnvelope {
  const env: DataEnvelope = { type: 'request', payload: msg(n) };
  if (seq !== undefined) env.seq = seq;
  if (ack !== undefined) env.ack = ack;
  return env;
}

/** What the channel stores per frame: the frame serialized without ack. */
function bodyBytes(type: string, seq: number, payload: JsonRpcMessage): number {
  return Buffer.byteLength(JSON.stringify({ type, seq, payload }));
}

function setup(opts: Partial<ReliableChannelOptions> = {}) {
  const clock = new FakeClock();
  const delivered: DataEnvelope[] = [];
  const wire: string[] = [];
  const ch = new ReliableChannel({ deliver: (e) => delivered.push(e), clock, ...opts });
  const send = (f: string): boolean => {
    wire.push(f);
    return true;
  };
  const nums = (): number[] => delivered.map((e) => (e.payload as unknown as { params: { n: number } }).params.n);
  const parsed = (): UnknownEnvelope[] => wire.map((f) => parseEnvelope(f));
  const seqs = (): (number | undefined)[] => parsed().map((e) => e.seq);
  return { clock, delivered, wire, ch, send, nums, parsed, seqs };
}

describe('ReliableChannel: inbound delivery', () => {
  it('delivers in order, exactly once, and tracks inboundAck', () => {
    const { ch, nums } = setup();
    assert.equal(ch.inboundAck, 0);
    assert.equal(ch.receive(data(1)), true);
    assert.equal(ch.receive(data(2)), true);
    assert.equal(ch.receive(data(3)), true);
    assert.deepEqual(nums(), [1, 2, 3]);
    assert.equal(ch.inboundAck, 3);
    assert.equal(ch.stats().delivered, 3);
  });

  it('control frames are not delivered and return false', () => {
    const { ch, delivered } = setup();
    assert.equal(ch.receive({ type: 'heartbeat' }), false);
    assert.equal(ch.receive({ type: 'ack', ack: 0 }), false);
    assert.equal(ch.receive({ type: 'error', message: 'x' }), false);
    assert.equal(ch.receive({ type: 'something_new', seq: 1 }), false);
    assert.equal(delivered.length, 0);
    assert.equal(ch.inboundAck, 0);
  });

  it('drops and counts duplicates', () => {
    const { ch, nums } = setup();
    ch.receive(data(1));
    ch.receive(data(2));
    ch.receive(data(2, 99));
    ch.receive(data(1, 98));
    ch.receive(data(3));
    ch.receive(data(3, 97));
    assert.deepEqual(nums(), [1, 2, 3]);
    assert.equal(ch.stats().duplicatesDropped, 3);
    assert.equal(ch.inboundAck, 3);
  });

  it('holds frames after a gap, then delivers them in order once it is filled', () => {
    const { ch, nums } = setup();
    ch.receive(data(1));
    ch.receive(data(4));
    ch.receive(data(3));
    assert.deepEqual(nums(), [1]);
    assert.equal(ch.inboundAck, 1, 'ack stays at the highest contiguous seq');
    assert.equal(ch.stats().gapsHeld, 2);
    ch.receive(data(4, 44)); // a second copy of a held frame is a duplicate
    assert.equal(ch.stats().duplicatesDropped, 1);
    ch.receive(data(2));
    assert.deepEqual(nums(), [1, 2, 3, 4]);
    assert.equal(ch.inboundAck, 4);
    ch.receive(data(3)); // already delivered from the held set
    assert.deepEqual(nums(), [1, 2, 3, 4]);
    assert.equal(ch.stats().duplicatesDropped, 2);
  });

  it('beyond maxHeldFrames out-of-order frames are dropped, and a later copy is delivered', () => {
    const { ch, nums } = setup({ maxHeldFrames: 1 });
    ch.receive(data(3));
    ch.receive(data(4)); // no room: dropped (replay will bring it again)
    assert.equal(ch.stats().gapsHeld, 1);
    ch.receive(data(1));
    ch.receive(data(2));
    assert.deepEqual(nums(), [1, 2, 3]);
    assert.equal(ch.inboundAck, 3);
    ch.receive(data(4));
    assert.deepEqual(nums(), [1, 2, 3, 4]);
  });

  it('delivered held frames free their slots for the next gap', () => {
    const { ch, nums } = setup({ maxHeldFrames: 2 });
    ch.receive(data(3));
    ch.receive(data(4));
    ch.receive(data(1));
    ch.receive(data(2));
    assert.deepEqual(nums(), [1, 2, 3, 4]);
    ch.receive(data(7));
    ch.receive(data(8));
    assert.equal(ch.stats().gapsHeld, 4, 'both new out-of-order frames were held');
    ch.receive(data(5));
    ch.receive(data(6));
    assert.deepEqual(nums(), [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('frames without seq (plain peer) are delivered as they come and not acked', () => {
    const { ch, nums, wire, send, clock } = setup({ ackEvery: 1 });
    ch.attach(send, 0);
    ch.receive(data(undefined, 7));
    ch.receive(data(undefined, 7));
    ch.receive(data(undefined, 5));
    assert.deepEqual(nums(), [7, 7, 5]);
    assert.equal(ch.inboundAck, 0);
    assert.equal(clock.pending, 0);
    assert.deepEqual(wire, []);
  });

  it('a push from inside deliver() carries the ack of the frame being delivered', () => {
    const clock = new FakeClock();
    const wire: string[] = [];
    const ch: ReliableChannel = new ReliableChannel({
      clock,
      deliver: (e) => ch.push('response', { jsonrpc: '2.0', id: (e.payload as unknown as { params: { n: number } }).params.n, result: {} }),
    });
    ch.attach((f) => (wire.push(f), true), 0);
    ch.receive(data(1));
    ch.receive(data(3));
    ch.receive(data(2));
    assert.deepEqual(
      wire.map((f) => parseEnvelope(f)).map((e) => [e.ack, e.seq, (e.payload as { id: number }).id]),
      [
        [1, 1, 1],
        [2, 2, 2],
        [3, 3, 3],
      ],
    );
    // (After the piggybacked ack the channel still arms one standalone-ack timer for the
    // delivered frame; redundant but harmless, so not asserted either way.)
    void clock;
  });
});

describe('ReliableChannel: acks', () => {
  it('piggybacks the current ack on data frames (the wire string starts with {"ack":)', () => {
    const { ch, wire, send, clock } = setup({ ackIntervalMs: 50 });
    ch.attach(send, 0);
    ch.push('request', msg(1));
    assert.ok(wire[0]!.startsWith('{"ack":0,'), wire[0]);
    ch.receive(data(1));
    ch.receive(data(2));
    ch.push('request', msg(2));
    assert.ok(wire[1]!.startsWith('{"ack":2,"type":"request","seq":2,'), wire[1]);
    assert.deepEqual(parseEnvelope(wire[1]!), { ack: 2, type: 'request', seq: 2, payload: msg(2) });
    assert.equal(clock.pending, 0, 'the piggybacked ack cancels the standalone-ack timer');
    clock.advance(1000);
    assert.equal(wire.length, 2, 'no standalone ack after a piggybacked one');
  });

  it('sends a standalone ack after ackEvery unacknowledged frames', () => {
    const { ch, wire, send, clock } = setup({ ackEvery: 3 });
    ch.attach(send, 0);
    ch.receive(data(1));
    ch.receive(data(2));
    assert.deepEqual(wire, []);
    ch.receive(data(3));
    assert.deepEqual(wire, ['{"type":"ack","ack":3}']);
    assert.equal(clock.pending, 0);
    ch.receive(data(4));
    ch.receive(data(5));
    ch.receive(data(6));
    assert.deepEqual(wire, ['{"type":"ack","ack":3}', '{"type":"ack","ack":6}']);
  });

  it('duplicates count towards ackEvery: the peer is re-acked', () => {
    const { ch, wire, send } = setup({ ackEvery: 2 });
    ch.attach(send, 0);
    ch.receive(data(1));
    ch.receive(data(1));
    assert.deepEqual(wire, ['{"type":"ack","ack":1}']);
  });

  it('gap frames do not trigger acks (nothing new to acknowledge)', () => {
    const { ch, wire, send, clock } = setup({ ackEvery: 1 });
    ch.attach(send, 0);
    ch.receive(data(2));
    ch.receive(data(3));
    assert.deepEqual(wire, []);
    assert.equal(clock.pending, 0);
    ch.receive(data(1));
    assert.deepEqual(wire, ['{"type":"ack","ack":3}']);
  });

  it('sends a standalone ack ackIntervalMs after the first unacknowledged frame', () => {
    const { ch, wire, send, clock } = setup({ ackIntervalMs: 200, ackEvery: 100 });
    ch.attach(send, 0);
    ch.receive(data(1));
    assert.equal(clock.pending, 1);
    clock.advance(100);
    ch.receive(data(2)); // does not restart the timer
    assert.equal(clock.pending, 1);
    clock.advance(99);
    assert.deepEqual(wire, []);
    clock.advance(1);
    assert.deepEqual(wire, ['{"type":"ack","ack":2}']);
    assert.equal(clock.pending, 0);
    clock.advance(10_000);
    assert.equal(wire.length, 1, 'idle: no further acks');
  });

  it('uses the documented defaults (200 ms, 64 frames)', () => {
    assert.equal(CHANNEL_DEFAULTS.ackIntervalMs, 200);
    assert.equal(CHANNEL_DEFAULTS.ackEvery, 64);
    const { ch, wire, send, clock } = setup();
    ch.attach(send, 0);
    for (let i = 1; i <= 63; i++) ch.receive(data(i));
    assert.deepEqual(wire, []);
    ch.receive(data(64));
    assert.deepEqual(wire, ['{"type":"ack","ack":64}']);
    ch.receive(data(65));
    clock.advance(199);
    assert.equal(wire.length, 1);
    clock.advance(1);
    assert.deepEqual(wire.slice(1), ['{"type":"ack","ack":65}']);
  });

  it('no acks and no timers while detached; detach cancels a pending ack timer', () => {
    const { ch, wire, send, clock } = setup({ ackEvery: 1 });
    ch.receive(data(1));
    assert.equal(clock.pending, 0);
    assert.deepEqual(wire, []);

    const b = setup({ ackIntervalMs: 100 });
    b.ch.attach(b.send, 0);
    b.ch.receive(data(1));
    assert.equal(b.clock.pending, 1);
    b.ch.detach();
    assert.equal(b.clock.pending, 0);
    b.clock.advance(1000);
    assert.deepEqual(b.wire, []);
    void send;
  });

  it('sendControl stamps the current ack and counts as acknowledging', () => {
    const { ch, wire, send, clock } = setup({ ackIntervalMs: 100 });
    assert.equal(ch.sendControl({ type: 'heartbeat' }), false, 'detached: not sent');
    ch.attach(send, 0);
    ch.receive(data(1));
    assert.equal(ch.sendControl({ type: 'heartbeat' }), true);
    assert.deepEqual(wire.map((f) => JSON.parse(f)), [{ type: 'heartbeat', ack: 1 }]);
    assert.equal(clock.pending, 0);
    clock.advance(1000);
    assert.equal(wire.length, 1);
  });

  it('incoming acks trim the outbox cumulatively (standalone and piggybacked, stale ones ignored)', () => {
    const { ch, send } = setup();
    ch.attach(send, 0);
    const sizes: number[] = [];
    for (let i = 1; i <= 5; i++) {
      ch.push('request', msg(i));
      sizes.push(bodyBytes('request', i, msg(i)));
    }
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
    assert.equal(ch.outboxFrames, 5);
    assert.equal(ch.outboxBytes, sum(sizes));
    ch.receive({ type: 'ack', ack: 2 });
    assert.equal(ch.outboxFrames, 3);
    assert.equal(ch.outboxBytes, sum(sizes.slice(2)));
    ch.receive({ type: 'ack', ack: 1 }); // stale
    assert.equal(ch.outboxFrames, 3);
    ch.receive(data(1, 1, 4)); // piggybacked on a data frame
    assert.equal(ch.outboxFrames, 1);
    assert.equal(ch.outboxBytes, sizes[4]);
    ch.receive({ type: 'heartbeat', ack: 5 }); // any frame may carry ack
    assert.equal(ch.outboxFrames, 0);
    assert.equal(ch.outboxBytes, 0);
  });
});

describe('ReliableChannel: detach / attach replay', () => {
  it('queues while detached and replays only seq > peerAck, in order, with the current ack', () => {
    const { ch, wire, send, seqs, parsed } = setup();
    ch.attach(send, 0);
    for (let i = 1; i <= 3; i++) assert.equal(ch.push('request', msg(i)), i);
    assert.deepEqual(seqs(), [1, 2, 3]);
    ch.detach();
    assert.equal(ch.attached, false);
    assert.equal(ch.push('request', msg(4)), 4);
    assert.equal(ch.push('notification', msg(5)), 5);
    assert.equal(wire.length, 3, 'nothing is sent while detached');
    assert.equal(ch.outboxFrames, 5);
    ch.receive(data(1)); // inbound while detached still delivers
    ch.receive(data(2));

    wire.length = 0;
    assert.equal(ch.attach(send, 2), 3);
    assert.equal(ch.attached, true);
    assert.deepEqual(seqs(), [3, 4, 5]);
    assert.deepEqual(
      parsed().map((e) => [e.ack, e.type]),
      [
        [2, 'request'],
        [2, 'request'],
        [2, 'notification'],
      ],
    );
    assert.equal(ch.outboxFrames, 3, 'replayed frames stay until acked');
    // Live traffic continues after the replay.
    ch.push('request', msg(6));
    assert.deepEqual(seqs(), [3, 4, 5, 6]);
  });

  it('replays everything again on a second resume if nothing was acked', () => {
    const { ch, wire, send, seqs } = setup();
    ch.attach(send, 0);
    ch.push('request', msg(1));
    ch.push('request', msg(2));
    ch.detach();
    wire.length = 0;
    assert.equal(ch.attach(send, 0), 2);
    ch.detach();
    assert.equal(ch.attach(send, 1), 1);
    assert.deepEqual(seqs(), [1, 2, 2]);
  });

  it('attach with peerAck = last seq replays nothing and empties the outbox', () => {
    const { ch, wire, send } = setup();
    ch.attach(send, 0);
    ch.push('request', msg(1));
    ch.push('request', msg(2));
    ch.detach();
    wire.length = 0;
    assert.equal(ch.attach(send, 2), 0);
    assert.deepEqual(wire, []);
    assert.equal(ch.outboxFrames, 0);
    assert.equal(ch.outboxBytes, 0);
  });

  it('a long outbox survives compaction of the acknowledged prefix', () => {
    const { ch, wire, send, seqs } = setup();
    ch.attach(send, 0);
    for (let i = 1; i <= 3000; i++) ch.push('request', msg(i));
    ch.receive({ type: 'ack', ack: 2000 });
    assert.equal(ch.outboxFrames, 1000);
    ch.receive({ type: 'ack', ack: 2500 });
    assert.equal(ch.outboxFrames, 500);
    ch.detach();
    wire.length = 0;
    assert.equal(ch.attach(send, 2600), 400);
    assert.deepEqual(seqs(), Array.from({ length: 400 }, (_, i) => 2601 + i));
    let bytes = 0;
    for (let i = 2601; i <= 3000; i++) bytes += bodyBytes('request', i, msg(i));
    assert.equal(ch.outboxBytes, bytes);
  });

  it('extra fields are carried on the frame', () => {
    const { ch, send, parsed } = setup();
    ch.attach(send, 0);
    ch.push('response', { jsonrpc: '2.0', id: 1, result: {} }, { sessionId: 's-1' });
    assert.equal(parsed()[0]!.sessionId, 's-1');
  });
});

describe('ReliableChannel: byte bound and onDrain', () => {
  const frame = (i: number): number => bodyBytes('request', i, msg(i, 'x'.repeat(100)));

  it('throws QueueFullError when a push would exceed the bound; nothing is queued or sent', () => {
    let drains = 0;
    const size = frame(1); // frames 1..9 have the same size
    const { ch, wire, send } = setup({ maxQueueBytes: 3 * size, onDrain: () => drains++ });
    ch.attach(send, 0);
    for (let i = 1; i <= 3; i++) ch.push('request', msg(i, 'x'.repeat(100)));
    assert.equal(ch.outboxBytes, 3 * size, 'exactly at the bound is allowed');
    assert.equal(ch.hasRoom(1), false);
    assert.throws(
      () => ch.push('request', msg(4, 'x'.repeat(100))),
      (err: unknown) => err instanceof QueueFullError && err.code === 'ERR_QUEUE_FULL' && err.retryable && /queue is full/.test(err.message),
    );
    assert.equal(ch.outboxFrames, 3);
    assert.equal(ch.outboxBytes, 3 * size);
    assert.equal(wire.length, 3);
    assert.equal(ch.stats().outboundSeq, 3, 'a refused push does not consume a seq');
    assert.throws(() => ch.push('request', msg(4, 'x'.repeat(100))), QueueFullError);
    assert.equal(drains, 0);

    ch.receive({ type: 'ack', ack: 1 }); // 2/3 full: not yet
    assert.equal(drains, 0);
    ch.receive({ type: 'ack', ack: 2 }); // 1/3 full: room again
    assert.equal(drains, 1);
    ch.receive({ type: 'ack', ack: 3 });
    assert.equal(drains, 1, 'onDrain is called once per refusal episode');

    assert.equal(ch.push('request', msg(4, 'x'.repeat(100))), 4);
    assert.equal(parseEnvelope(wire.at(-1)!).seq, 4);
  });

  it('onDrain fires exactly when the outbox gets down to half the bound', () => {
    let drains = 0;
    const size = frame(1);
    const { ch, send } = setup({ maxQueueBytes: 4 * size, onDrain: () => drains++ });
    ch.attach(send, 0);
    for (let i = 1; i <= 4; i++) ch.push('request', msg(i, 'x'.repeat(100)));
    assert.throws(() => ch.push('request', msg(5, 'x'.repeat(100))), QueueFullError);
    ch.receive({ type: 'ack', ack: 1 });
    assert.equal(drains, 0);
    ch.receive({ type: 'ack', ack: 2 }); // exactly half
    assert.equal(drains, 1);
  });

  it('onDrain is not called when nothing was refused', () => {
    let drains = 0;
    const { ch, send } = setup({ maxQueueBytes: 10_000, onDrain: () => drains++ });
    ch.attach(send, 0);
    for (let i = 1; i <= 5; i++) ch.push('request', msg(i));
    ch.receive({ type: 'ack', ack: 5 });
    assert.equal(drains, 0);
  });

  it('the bound applies while detached; a resume ack makes room and calls onDrain', () => {
    let drains = 0;
    const size = frame(1);
    const { ch, send, seqs } = setup({ maxQueueBytes: 2 * size, onDrain: () => drains++ });
    ch.push('request', msg(1, 'x'.repeat(100)));
    ch.push('request', msg(2, 'x'.repeat(100)));
    assert.throws(() => ch.push('request', msg(3, 'x'.repeat(100))), QueueFullError);
    assert.equal(ch.attach(send, 1), 1);
    assert.equal(drains, 1);
    assert.deepEqual(seqs(), [2]);
  });

  it('a push from onDrain during attach goes out after the replay, in seq order, once', () => {
    const size = frame(1);
    const clock = new FakeClock();
    const wire: string[] = [];
    let drained = false;
    const ch: ReliableChannel = new ReliableChannel({
      clock,
      deliver: () => {},
      maxQueueBytes: 4 * size,
      onDrain: () => {
        drained = true;
        ch.push('request', msg(5, 'x'.repeat(100)));
      },
    });
    for (let i = 1; i <= 4; i++) ch.push('request', msg(i, 'x'.repeat(100)));
    assert.throws(() => ch.push('request', msg(5, 'x'.repeat(100))), QueueFullError);
    ch.attach((f) => (wire.push(f), true), 2); // trims 1..2 -> onDrain -> push seq 5
    assert.equal(drained, true);
    assert.deepEqual(
      wire.map((f) => parseEnvelope(f).seq),
      [3, 4, 5],
    );
    const s = ch.stats();
    assert.equal(s.sent + s.replayed, 3);
  });

  it('reset() while refused makes room and calls onDrain', () => {
    let drains = 0;
    const size = frame(1);
    const { ch } = setup({ maxQueueBytes: size, onDrain: () => drains++ });
    ch.push('request', msg(1, 'x'.repeat(100)));
    assert.throws(() => ch.push('request', msg(2, 'x'.repeat(100))), QueueFullError);
    ch.reset();
    assert.equal(drains, 1);
    assert.equal(ch.outboxBytes, 0);
  });
});

describe('ReliableChannel: plain mode', () => {
  it('sends without seq or ack and retains nothing when attached', () => {
    const { ch, wire, send } = setup();
    ch.setMode('plain');
    assert.equal(ch.mode, 'plain');
    ch.attach(send, 0);
    ch.push('response', { jsonrpc: '2.0', id: 1, result: {} });
    ch.push('notification', { jsonrpc: '2.0', method: 'x' });
    assert.deepEqual(wire.map((f) => JSON.parse(f)), [
      { type: 'response', payload: { jsonrpc: '2.0', id: 1, result: {} } },
      { type: 'notification', payload: { jsonrpc: '2.0', method: 'x' } },
    ]);
    assert.equal(ch.outboxFrames, 0);
    assert.equal(ch.outboxBytes, 0);
    assert.equal(ch.stats().sent, 2);
  });

  it('queues while detached (bounded) and flushes once, in order, on attach', () => {
    const { ch, wire, send } = setup();
    ch.setMode('plain');
    ch.push('request', msg(1));
    ch.push('request', msg(2));
    assert.equal(ch.outboxFrames, 2);
    assert.ok(ch.outboxBytes > 0);
    assert.deepEqual(wire, []);
    assert.equal(ch.attach(send, 0), 2);
    assert.deepEqual(wire.map((f) => JSON.parse(f)), [
      { type: 'request', payload: msg(1) },
      { type: 'request', payload: msg(2) },
    ]);
    assert.equal(ch.outboxFrames, 0);
    assert.equal(ch.outboxBytes, 0);
    ch.detach();
    assert.equal(ch.attach(send, 0), 0, 'nothing is retained for a second attach');
    assert.equal(wire.length, 2);
    assert.equal(ch.stats().sent, 2);
    assert.equal(ch.stats().replayed, 0);
  });

  it('does not ack inbound frames and sendControl carries no ack', () => {
    const { ch, wire, send, clock, nums } = setup({ ackEvery: 1 });
    ch.setMode('plain');
    ch.attach(send, 0);
    ch.receive(data(undefined, 1));
    ch.receive(data(undefined, 2));
    assert.deepEqual(nums(), [1, 2]);
    assert.equal(clock.pending, 0);
    assert.deepEqual(wire, []);
    ch.sendControl({ type: 'heartbeat' });
    assert.deepEqual(wire, ['{"type":"heartbeat"}']);
  });

  it('the byte bound applies to the detached plain queue', () => {
    const size = Buffer.byteLength(JSON.stringify({ type: 'request', payload: msg(1) }));
    const { ch } = setup({ maxQueueBytes: size });
    ch.setMode('plain');
    ch.push('request', msg(1));
    assert.throws(() => ch.push('request', msg(2)), QueueFullError);
  });
});

describe('ReliableChannel: reset and close', () => {
  it('reset() returns unacknowledged payloads and restarts both sequences at 1', () => {
    const { ch, send, seqs, nums, wire, clock } = setup({ ackIntervalMs: 100 });
    ch.attach(send, 0);
    for (let i = 1; i <= 4; i++) ch.push('request', msg(i));
    ch.receive({ type: 'ack', ack: 2 });
    ch.receive(data(1));
    ch.receive(data(3, 30)); // held
    assert.equal(clock.pending, 1);

    assert.deepEqual(ch.reset(), [msg(3), msg(4)]);
    assert.equal(ch.outboxFrames, 0);
    assert.equal(ch.outboxBytes, 0);
    assert.equal(ch.inboundAck, 0);
    assert.equal(ch.stats().outboundSeq, 0);
    assert.equal(clock.pending, 0, 'pending ack timer cancelled');

    wire.length = 0;
    assert.equal(ch.push('request', msg(10)), 1);
    assert.deepEqual(seqs(), [1]);
    // The new session's seq 1 and 2 are delivered; the old held seq 3 must not leak in.
    ch.receive(data(1, 11));
    ch.receive(data(2, 12));
    assert.deepEqual(nums(), [1, 11, 12]);
    assert.equal(ch.inboundAck, 2);
  });

  it('reset() with nothing outstanding returns []', () => {
    const { ch } = setup();
    assert.deepEqual(ch.reset(), []);
  });

  it('close() detaches and makes push a no-op', () => {
    const { ch, send, wire } = setup();
    ch.attach(send, 0);
    ch.close();
    assert.equal(ch.attached, false);
    assert.equal(ch.push('request', msg(1)), 0);
    assert.equal(ch.outboxFrames, 0);
    assert.deepEqual(wire, []);
  });
});

describe('ReliableChannel: stats()', () => {
  it('counts sent, replayed, delivered, duplicates, gaps, outbox and sequences', () => {
    const { ch, send } = setup();
    assert.deepEqual(ch.stats(), {
      mode: 'reliable',
      sent: 0,
      replayed: 0,
      delivered: 0,
      duplicatesDropped: 0,
      gapsHeld: 0,
      outboxFrames: 0,
      outboxBytes: 0,
      inboundAck: 0,
      outboundSeq: 0,
    });
    ch.attach(send, 0);
    ch.push('request', msg(1));
    ch.push('request', msg(2));
    ch.detach();
    ch.push('request', msg(3)); // queued while down
    ch.attach(send, 1); // replays 2 (again) and 3 (for the first time)
    ch.receive(data(1));
    ch.receive(data(3));
    ch.receive(data(3));
    ch.receive(data(2));
    ch.receive(data(1));
    assert.deepEqual(ch.stats(), {
      mode: 'reliable',
      sent: 3, // every seq handed to send() once counts here, including 3
      replayed: 1, // only seq 2 went out a second time
      delivered: 3,
      duplicatesDropped: 2,
      gapsHeld: 1,
      outboxFrames: 2,
      outboxBytes: bodyBytes('request', 2, msg(2)) + bodyBytes('request', 3, msg(3)),
      inboundAck: 3,
      outboundSeq: 3,
    });
    ch.setMode('plain');
    assert.equal(ch.stats().mode, 'plain');
  });
});

describe('ReliableChannel: byte lengths', () => {
  it('hands every frame to send() with its UTF-8 length: first sends, replays with acks of any width, plain mode, standalone acks', () => {
    const sent: Array<{ frame: string; bytes: number | undefined }> = [];
    const send = (frame: string, bytes: number | undefined): boolean => {
      sent.push({ frame, bytes });
      return true;
    };
    const ch = new ReliableChannel({ deliver: () => undefined, clock: new FakeClock(), ackEvery: 1 });
    ch.attach(send, 0);
    ch.push('request', { jsonrpc: '2.0', method: 'm', params: { s: 'héllo ✓ 😀' } });
    for (let seq = 1; seq <= 12; seq++) ch.receive(data(seq)); // standalone acks, up to two digits
    ch.push('request', { jsonrpc: '2.0', method: 'm', params: { s: 'ünïcode' } });
    ch.detach();
    ch.attach(send, 0); // both replayed with ack 12
    ch.setMode('plain');
    ch.push('notification', { jsonrpc: '2.0', method: 'ß' });
    const measured = sent.filter((s) => s.bytes !== undefined);
    assert.ok(measured.length >= 17, `${measured.length} frames`);
    for (const { frame, bytes } of measured) assert.equal(bytes, Buffer.byteLength(frame), frame);
  });
});
