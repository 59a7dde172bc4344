/**
 * ReliableChannel under pressure (docs/delivery.md "Within which bounds"): transport
 * congestion stops data frames until drained(); inbound frames held undelivered (ahead of
 * a gap, or while delivery is paused) are bounded in bytes and are never acknowledged.
 * Time is a FakeClock; the wire is an array of the strings handed to send().
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReliableChannel, type HeldOverflow, type ReliableChannelOptions } from '../../src/protocol/reliable-channel.js';
import { parseEnvelope as parseFrame, type UnknownEnvelope } from '../../src/protocol/envelope.js';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.js';
import { FakeClock } from './fake-clock.js';

const parseEnvelope = (text: string): UnknownEnvelope => parseFrame(text) as UnknownEnvelope;

function msg(n: number, pad = ''): JsonRpcMessage {
  return { jsonrpc: '2.0', method: 'm', params: { n, pad } };
}

/** A data frame as the peer's channel puts it on the wire, and its text. */
function frame(seq: number, n = seq, pad = '', ack = 0): { env: UnknownEnvelope; text: string } {
  const text = `{"ack":${ack},${JSON.stringify({ type: 'request', seq, payload: msg(n, pad) }).slice(1)}`;
  return { env: parseEnvelope(text), text };
}

function setup(opts: Partial<ReliableChannelOptions> = {}) {
  const clock = new FakeClock();
  const delivered: number[] = [];
  const wire: string[] = [];
  const overflows: HeldOverflow[] = [];
  let accepting = true;
  const ch = new ReliableChannel({
    deliver: (e) => delivered.push((e.payload as unknown as { params: { n: number } }).params.n),
    onHeldOverflow: (o) => overflows.push(o),
    clock,
    ...opts,
  });
  /** A transport that reports congestion after every frame while `accepting` is false. */
  const send = (f: string): boolean => {
    wire.push(f);
    return accepting;
  };
  const setAccepting = (v: boolean): void => {
    accepting = v;
  };
  const receive = (seq: number, n = seq, pad = ''): boolean => {
    const { env, text } = frame(seq, n, pad);
    return ch.receive(env, text.length);
  };
  const seqs = (): (number | undefined)[] => wire.map((f) => parseEnvelope(f)).filter((e) => e.type !== 'ack').map((e) => e.seq);
  const acks = (): number[] => wire.map((f) => parseEnvelope(f)).filter((e) => e.type === 'ack').map((e) => e.ack!);
  return { clock, delivered, wire, overflows, ch, send, setAccepting, receive, seqs, acks };
}

describe('ReliableChannel: transport congestion', () => {
  it('stops handing data frames to a congested transport and goes on, in order, after drained()', () => {
    const { ch, send, setAccepting, seqs } = setup();
    ch.attach(send, 0);
    ch.push('request', msg(1));
    setAccepting(false);
    ch.push('request', msg(2)); // taken, but the transport says it is congested
    ch.push('request', msg(3));
    ch.push('request', msg(4));
    assert.deepEqual(seqs(), [1, 2], 'nothing more after the frame that met congestion');
    assert.equal(ch.transportCongested, true);
    assert.equal(ch.outboxFrames, 4, 'the rest waits in the outbox');
    setAccepting(true);
    ch.drained();
    assert.deepEqual(seqs(), [1, 2, 3, 4]);
    assert.equal(ch.transportCongested, false);
    assert.equal(ch.stats().sent, 4);
  });

  it('a drain that comes while still congested sends one frame and waits again', () => {
    const { ch, send, setAccepting, seqs } = setup();
    ch.attach(send, 0);
    setAccepting(false);
    for (let n = 1; n <= 4; n++) ch.push('request', msg(n));
    assert.deepEqual(seqs(), [1]);
    ch.drained();
    assert.deepEqual(seqs(), [1, 2]);
    ch.drained();
    assert.deepEqual(seqs(), [1, 2, 3]);
  });

  it('drained() without congestion sends nothing twice', () => {
    const { ch, send, seqs } = setup();
    ch.attach(send, 0);
    ch.push('request', msg(1));
    ch.drained();
    assert.deepEqual(seqs(), [1]);
  });

  it('the replay after a resume stops at congestion too, and a new transport starts uncongested', () => {
    const { ch, send, setAccepting, seqs, wire } = setup();
    for (let n = 1; n <= 5; n++) ch.push('request', msg(n)); // detached: all queued
    setAccepting(false);
    assert.equal(ch.attach(send, 1), 4, 'four frames are due after the peer acked 1');
    assert.deepEqual(seqs(), [2]);
    ch.detach(); // the congested transport died
    wire.length = 0;
    setAccepting(true);
    ch.attach(send, 1); // the peer never got 2
    assert.deepEqual(seqs(), [2, 3, 4, 5], 'the next transport gets the rest in order');
    const { sent, replayed } = ch.stats();
    assert.deepEqual({ sent, replayed }, { sent: 4, replayed: 1 });
  });

  it('acks and control frames still go out while data waits', () => {
    const { ch, send, setAccepting, wire, clock, receive } = setup({ ackIntervalMs: 10 });
    ch.attach(send, 0);
    setAccepting(false);
    ch.push('request', msg(1));
    ch.push('request', msg(2));
    receive(1);
    clock.advance(10);
    assert.equal(ch.sendControl({ type: 'heartbeat' }), false);
    const types = wire.map((f) => parseEnvelope(f).type);
    assert.deepEqual(types, ['request', 'ack', 'heartbeat']);
  });

  it('an ack that overtakes the send cursor moves it on (no frame sent after it was acknowledged)', () => {
    const { ch, send, setAccepting, seqs } = setup();
    ch.attach(send, 0);
    setAccepting(false);
    for (let n = 1; n <= 4; n++) ch.push('request', msg(n));
    // The peer saw 1..3 (e.g. on an older transport) and acks them.
    ch.receive(parseEnvelope('{"type":"ack","ack":3}'));
    setAccepting(true);
    ch.drained();
    assert.deepEqual(seqs(), [1, 4]);
  });
});

describe('ReliableChannel: frames held ahead of a gap are bounded in bytes', () => {
  it('past maxHeldBytes a frame is dropped unacknowledged and reported as a gap overflow', () => {
    const size = frame(2, 2, 'x'.repeat(100)).text.length;
    const { ch, overflows, receive, delivered, send, wire } = setup({ maxHeldBytes: 3 * size, ackEvery: 1 });
    ch.attach(send, 0);
    receive(2, 2, 'x'.repeat(100));
    receive(3, 3, 'x'.repeat(100));
    receive(4, 4, 'x'.repeat(100));
    assert.deepEqual(overflows, []);
    assert.equal(ch.heldBytes, 3 * (size - '"ack":0,'.length), 'held bytes count the frame as its sender queued it');
    receive(5, 5, 'x'.repeat(100));
    assert.equal(overflows.length, 1);
    assert.deepEqual(overflows[0], { reason: 'gap', seq: 5, frameBytes: size - 8, heldBytes: 3 * (size - 8), limit: 3 * size });
    assert.deepEqual(delivered, []);
    assert.deepEqual(wire, [], 'nothing acknowledged');
    // The gap fills: what was held goes out in order; the dropped frame comes again by replay.
    receive(1);
    assert.deepEqual(delivered, [1, 2, 3, 4]);
    assert.equal(ch.inboundAck, 4);
    receive(5);
    assert.deepEqual(delivered, [1, 2, 3, 4, 5]);
  });

  it('one frame larger than the whole bound is still held when nothing else is', () => {
    const { ch, overflows, receive, delivered } = setup({ maxHeldBytes: 10 });
    receive(2, 2, 'x'.repeat(100));
    assert.deepEqual(overflows, []);
    receive(3);
    assert.equal(overflows.length, 1);
    receive(1);
    assert.deepEqual(delivered, [1, 2]);
    assert.equal(ch.heldBytes, 0);
  });

  it('defaults to the outbox bound (maxQueueBytes)', () => {
    const size = frame(2).text.length - 8;
    const { overflows, receive } = setup({ maxQueueBytes: 2 * size });
    receive(2);
    receive(3);
    receive(4);
    assert.equal(overflows.length, 1);
    assert.equal(overflows[0]!.limit, 2 * size);
  });
});

describe('ReliableChannel: paused delivery', () => {
  it('holds frames unacknowledged while paused, then delivers them in order and acks', () => {
    const { ch, send, receive, delivered, acks, clock } = setup({ ackIntervalMs: 50 });
    ch.attach(send, 0);
    receive(1);
    ch.pauseDelivery();
    receive(2);
    receive(3);
    receive(4);
    assert.deepEqual(delivered, [1]);
    clock.advance(1000);
    assert.deepEqual(acks(), [1], 'only the delivered frame is acknowledged');
    assert.equal(ch.inboundAck, 1);
    assert.equal(ch.stats().gapsHeld, 0, 'frames in order are not gaps');
    ch.resumeDelivery();
    assert.deepEqual(delivered, [1, 2, 3, 4]);
    clock.advance(50);
    assert.deepEqual(acks(), [1, 4]);
    assert.equal(ch.heldBytes, 0);
  });

  it('the consumer may pause again from inside deliver(): the rest stays held', () => {
    const clock = new FakeClock();
    const delivered: number[] = [];
    const ch: ReliableChannel = new ReliableChannel({
      clock,
      deliver: (e) => {
        const n = (e.payload as unknown as { params: { n: number } }).params.n;
        delivered.push(n);
        if (n === 2) ch.pauseDelivery(); // e.g. the child's stdin just filled up
      },
    });
    for (let seq = 1; seq <= 4; seq++) {
      const { env, text } = frame(seq);
      ch.receive(env, text.length);
    }
    assert.deepEqual(delivered, [1, 2]);
    assert.equal(ch.inboundAck, 2);
    ch.resumeDelivery();
    assert.deepEqual(delivered, [1, 2, 3, 4]);
  });

  it('duplicates of held frames are dropped; a gap behind the held run is still a gap', () => {
    const { ch, receive, delivered } = setup();
    ch.pauseDelivery();
    receive(1);
    receive(1);
    receive(3); // 2 is missing
    assert.equal(ch.stats().duplicatesDropped, 1);
    assert.equal(ch.stats().gapsHeld, 1);
    ch.resumeDelivery();
    assert.deepEqual(delivered, [1]);
    receive(2);
    assert.deepEqual(delivered, [1, 2, 3]);
  });

  it('past maxHeldBytes a paused frame is dropped and reported; a replay brings it back', () => {
    const size = frame(1).text.length - 8;
    const { ch, send, receive, delivered, overflows } = setup({ maxHeldBytes: 2 * size });
    ch.attach(send, 0);
    ch.pauseDelivery();
    receive(1);
    receive(2);
    receive(3);
    receive(4);
    assert.deepEqual(overflows.map((o) => [o.reason, o.seq]), [['paused', 3]], 'what follows a dropped frame is dropped too, not held as a gap');
    ch.resumeDelivery();
    assert.deepEqual(delivered, [1, 2]);
    assert.equal(ch.inboundAck, 2, 'the dropped frames were never acknowledged: the peer still has them');
    receive(3); // the replay after a resume
    receive(4);
    assert.deepEqual(delivered, [1, 2, 3, 4]);
  });

  it('reset() forgets held frames and keeps the pause', () => {
    const { ch, receive, delivered } = setup();
    ch.pauseDelivery();
    receive(1);
    ch.reset();
    assert.equal(ch.heldBytes, 0);
    assert.equal(ch.deliveryPaused, true);
    receive(1, 10);
    ch.resumeDelivery();
    assert.deepEqual(delivered, [10]);
  });
});
