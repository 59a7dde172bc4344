import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedEventStore } from '../../../src/gateway/mcp/event-store.js';

const msg = (i: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progress: i } });

async function replay(store: BoundedEventStore, after: string): Promise<{ stream: string; ids: string[] }> {
  const ids: string[] = [];
  const stream = await store.replayEventsAfter(after, { send: async (id) => void ids.push(id) });
  return { stream, ids };
}

test('replays the events of one stream after the cursor, in order, skipping priming events', async () => {
  const s = new BoundedEventStore({ maxBytes: 1 << 20, maxEvents: 100 });
  const prime = await s.storeEvent('a', {} as never);
  const a1 = await s.storeEvent('a', msg(1));
  await s.storeEvent('b', msg(2));
  const a3 = await s.storeEvent('a', msg(3));
  assert.equal(await s.getStreamIdForEventId(prime), 'a');
  assert.deepEqual(await replay(s, prime), { stream: 'a', ids: [a1, a3] });
  assert.deepEqual(await replay(s, a1), { stream: 'a', ids: [a3] });
});

test('bounded in bytes and events: the oldest go, and a cursor before them is refused', async () => {
  const s = new BoundedEventStore({ maxBytes: 400, maxEvents: 1000 });
  const first = await s.storeEvent('a', msg(0));
  for (let i = 1; i < 50; i++) await s.storeEvent('a', msg(i));
  assert.ok(s.size.bytes <= 400);
  assert.equal(await s.getStreamIdForEventId(first), undefined);
  const c = new BoundedEventStore({ maxBytes: 1 << 20, maxEvents: 3 });
  for (let i = 0; i < 10; i++) await c.storeEvent('a', msg(i));
  assert.equal(c.size.events, 3);
});

test('unknown or malformed ids are not found', async () => {
  const s = new BoundedEventStore({ maxBytes: 1000, maxEvents: 10 });
  assert.equal(await s.getStreamIdForEventId('nope'), undefined);
  assert.equal(await s.getStreamIdForEventId('a.99'), undefined);
});
