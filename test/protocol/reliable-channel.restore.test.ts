/**
 * ReliableChannel.restore (scale-out failover, docs/scale-out.md): a channel continues a
 * session another process held, from the state it recorded — which may lag behind what
 * the peer saw.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReliableChannel } from '../../src/protocol/reliable-channel.js';
import { parseEnvelope, type DataEnvelope } from '../../src/protocol/envelope.js';
import { FakeClock } from './fake-clock.js';

const body = (seq: number, n: number): string => JSON.stringify({ type: 'request', seq, payload: { jsonrpc: '2.0', method: 'm', params: { n } } });
const frame = (seq: number, ack?: number): DataEnvelope => ({ type: 'response', seq, ...(ack !== undefined ? { ack } : {}), payload: { jsonrpc: '2.0', id: seq, result: {} } });

function setup() {
  const delivered: number[] = [];
  const wire: string[] = [];
  const ch = new ReliableChannel({ deliver: (e) => delivered.push(e.seq!), clock: new FakeClock() });
  const send = (f: string): boolean => (wire.push(f), true);
  return { ch, delivered, wire, send };
}

describe('ReliableChannel.restore', () => {
  it('replays the recorded frames past the peer ack and numbers new ones after them', () => {
    const { ch, wire, send } = setup();
    ch.restore({ frames: [5, 6, 7].map((seq) => ({ seq, body: body(seq, seq) })), nextSeq: 8, inboundAck: 3 });
    assert.equal(ch.attach(send, 5), 2);
    ch.push('request', { jsonrpc: '2.0', method: 'm', params: { n: 8 } });
    assert.deepEqual(wire.map((f) => (parseEnvelope(f) as DataEnvelope).seq), [6, 7, 8]);
    assert.equal(ch.stats().replayed, 2);
  });

  it('inbound: frames up to the recorded ack are duplicates; the first one past it starts delivery even after a gap the old holder delivered', () => {
    const { ch, delivered, send } = setup();
    ch.restore({ frames: [], nextSeq: 1, inboundAck: 3 });
    ch.attach(send, 0);
    // The old holder delivered (and acknowledged) up to 5 but recorded only 3: the peer replays from 6.
    ch.receive(frame(6));
    ch.receive(frame(7));
    assert.deepEqual(delivered, [6, 7]);
    assert.equal(ch.inboundAck, 7);
  });

  it('inbound: a replay from below the recorded ack drops the duplicates and delivers the rest once', () => {
    const { ch, delivered, send } = setup();
    ch.restore({ frames: [], nextSeq: 1, inboundAck: 3 });
    ch.attach(send, 0);
    for (const seq of [2, 3, 4, 5, 4]) ch.receive(frame(seq));
    assert.deepEqual(delivered, [4, 5]);
    assert.equal(ch.stats().duplicatesDropped, 3);
  });

  it('after the first frame, a real gap is held again (no second jump)', () => {
    const { ch, delivered, send } = setup();
    ch.restore({ frames: [], nextSeq: 1, inboundAck: 0 });
    ch.attach(send, 0);
    ch.receive(frame(4));
    ch.receive(frame(6));
    assert.deepEqual(delivered, [4]);
    ch.receive(frame(5));
    assert.deepEqual(delivered, [4, 5, 6]);
  });
});
