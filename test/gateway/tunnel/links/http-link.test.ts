/**
 * Units of the gateway's HTTP links (src/gateway/tunnel/links/http-link.ts, poll-downstream.ts):
 * the bounded replay buffer, the link's downstream hand-over and its timers on a fake
 * clock, and the poll query. The HTTP routes end to end: http-links.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../protocol/fake-clock.js';
import { EventBuffer, HttpLink, LINGER_MS, REPLAY_BUFFER_BYTES, UNATTENDED_LINK_MS, type Downstream } from '../../../../src/gateway/tunnel/links/http-link.js';
import { parsePollQuery } from '../../../../src/gateway/tunnel/links/poll-downstream.js';
import { POLL_MAX_WAIT_S } from '../../../../src/protocol/constants.js';

test('EventBuffer: ids grow by one, overflow drops the oldest, ack drops up to `after`, stale ids are gone', () => {
  const b = new EventBuffer(100);
  const big = 'x'.repeat(40);
  for (let i = 0; i < 3; i++) b.append(big);
  assert.equal(b.last, 3);
  assert.equal(b.size, 80, 'the first frame was dropped to stay within 100 bytes');
  assert.equal(b.after(0).kind, 'gone');
  assert.deepEqual((b.after(1) as { events: { id: number }[] }).events.map((e) => e.id), [2, 3]);
  assert.equal(b.after(4).kind, 'gone', 'an id never sent');
  b.ackThrough(2);
  assert.deepEqual((b.after(2) as { events: { id: number }[] }).events.map((e) => e.id), [3]);
  assert.equal(b.after(1).kind, 'gone', 'acknowledged frames are gone');
  const huge = b.append('y'.repeat(500));
  assert.deepEqual((b.after(3) as { events: unknown[] }).events, [huge], 'a frame over the bound is still kept until fetched');
  assert.equal(REPLAY_BUFFER_BYTES, 1024 * 1024);

  // Many small frames: the held window stays exact across the buffer's internal compaction.
  const many = new EventBuffer(1000);
  for (let i = 1; i <= 5000; i++) many.append(String(i % 10));
  const held = many.after(4000);
  assert.equal(held.kind, 'ok');
  assert.deepEqual((held as { events: { id: number }[] }).events.map((e) => e.id), Array.from({ length: 1000 }, (_, i) => 4001 + i));
  assert.equal(many.after(3999).kind, 'gone');
  many.ackThrough(4500);
  assert.equal((many.after(4500) as { events: unknown[] }).events.length, 500);
});

test('HttpLink: closed after UNATTENDED_LINK_MS with no stream, poll or POST; forgotten LINGER_MS later', () => {
  const clock = new FakeClock();
  let gone = false;
  const link = new HttpLink({ kind: 'poll', owner: 'alice', clock, onGone: () => (gone = true) });
  const closes: string[] = [];
  link.onclose = (info) => closes.push(info.reason);
  clock.advance(UNATTENDED_LINK_MS / 2);
  link.touch(); // a POST
  clock.advance(UNATTENDED_LINK_MS / 2 + 1);
  assert.deepEqual(closes, [], 'a request restarts the allowance');
  const held: Downstream = { push: () => true, end: () => {} };
  const detach = link.attach(held);
  clock.advance(UNATTENDED_LINK_MS * 3);
  assert.deepEqual(closes, [], 'an attached stream or poll keeps the link');
  detach();
  clock.advance(UNATTENDED_LINK_MS);
  assert.equal(closes.length, 1);
  assert.match(closes[0]!, /abandoned/);
  assert.equal(link.send('{}'), false, 'nothing is sent on a closed link');
  assert.equal(gone, false);
  clock.advance(LINGER_MS);
  assert.equal(gone, true);
});

test('HttpLink: a new downstream replaces the old one; frames go to the current one; close ends it', () => {
  const link = new HttpLink({ kind: 'sse', owner: 'alice', clock: new FakeClock() });
  const log: string[] = [];
  const d = (name: string): Downstream => ({ push: (ev) => (log.push(`${name}:${ev.id}`), true), end: (why) => log.push(`${name}:${why}`) });
  link.attach(d('a'));
  link.send('{"n":1}');
  link.attach(d('b'));
  link.send('{"n":2}');
  link.close('bye');
  assert.deepEqual(log, ['a:1', 'a:replaced', 'b:2', 'b:closed']);
  const got: string[] = [];
  const l2 = new HttpLink({ kind: 'poll', owner: 'alice', clock: new FakeClock() });
  l2.onmessage = (f) => got.push(f);
  assert.equal(l2.receive('a\r\n\n  \nb\n'), 2);
  assert.deepEqual(got, ['a', 'b']);
});

test('HttpLink congestion: a poll link is congested at half the replay buffer and drains when a poll acknowledges', () => {
  const link = new HttpLink({ kind: 'poll', owner: 'alice', clock: new FakeClock() });
  let drains = 0;
  link.ondrain = () => drains++;
  const frame = 'x'.repeat(64 * 1024);
  let sent = 0;
  while (link.send(frame) && sent < 100) sent++;
  sent++;
  assert.equal(sent, REPLAY_BUFFER_BYTES / 2 / frame.length, 'false once half the buffer is taken');
  // A pending poll takes the frames, but they stay until the next poll acknowledges them.
  const poll: Downstream = { push: () => true, end: () => {} };
  const detach = link.attach(poll);
  assert.equal(link.send(frame), false, 'still congested: nothing acknowledged yet');
  detach();
  assert.equal(drains, 0);
  link.ackThrough(1);
  assert.equal(drains, 0, 'not under half yet');
  link.ackThrough(sent + 1);
  assert.equal(drains, 1);
  link.ackThrough(sent + 1);
  assert.equal(drains, 1, 'once per congestion');
});

test('HttpLink congestion: an SSE link follows its stream, and a stream that reattaches drains it', () => {
  const link = new HttpLink({ kind: 'sse', owner: 'alice', clock: new FakeClock() });
  let drains = 0;
  link.ondrain = () => drains++;
  let writable = true;
  const stream: Downstream = { push: () => writable, end: () => {} };
  const detach = link.attach(stream);
  for (let i = 0; i < 40; i++) assert.equal(link.send('x'.repeat(64 * 1024)), true, 'a reading stream is never congested by the replay buffer');
  writable = false;
  assert.equal(link.send('{}'), false);
  link.drained(); // the response's 'drain' event
  assert.equal(drains, 1);
  writable = true;
  detach();
  assert.equal(link.send('{}'), false, 'no stream, and the replay buffer is more than half full');
  link.attach(stream);
  assert.equal(drains, 2, 'the reopened stream takes frames again');
});

test('poll query: defaults, `wait` capped at 25 s, bad values rejected', () => {
  assert.deepEqual(parsePollQuery(new URLSearchParams(''), 15), { after: 0, waitMs: 15_000 });
  assert.deepEqual(parsePollQuery(new URLSearchParams('after=7&wait=600'), 15), { after: 7, waitMs: POLL_MAX_WAIT_S * 1000 });
  assert.deepEqual(parsePollQuery(new URLSearchParams('after=7&wait=0.5'), 15), { after: 7, waitMs: 500 });
  assert.equal(typeof parsePollQuery(new URLSearchParams('after=-1'), 15), 'string');
  assert.equal(typeof parsePollQuery(new URLSearchParams('wait=soon'), 15), 'string');
});
