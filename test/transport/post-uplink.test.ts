/**
 * The upstream half of the HTTP transports (src/transport/post-uplink.ts) against a real
 * HTTP server on 127.0.0.1 that answers each POST only when the test says so: one POST
 * in flight, frames coalesced behind it in order, congestion once queued + in-flight bytes
 * pass the high-water mark, and `ondrain` when they are down to half of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { PostUplink } from '../../src/transport/post-uplink.js';
import { waitFor } from '../helpers/system.js';

test('PostUplink: congestion past the high-water mark, drain once the POSTs are answered', { timeout: 20_000 }, async () => {
  const bodies: string[] = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      bodies.push(body);
      held.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new Agent();
  let drains = 0;
  const uplink = new PostUplink({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/messages`,
    dispatcher: agent,
    ctx: { what: 'test link', host: '127.0.0.1' },
    onfatal: (err) => assert.fail(err),
    highWaterMark: 100,
    ondrain: () => drains++,
  });
  const frame = (n: number): string => `{"n":${n},"pad":"${'x'.repeat(30)}"}`; // 40 bytes + newline
  const answer = (): void => {
    held.shift()!.writeHead(202, { 'content-type': 'application/json' }).end('{"received":1}');
  };
  try {
    assert.equal(uplink.send(frame(1)), true, 'goes out at once');
    assert.equal(uplink.send(frame(2)), true, 'queued behind it');
    assert.equal(uplink.send(frame(3)), false, '123 bytes queued or in flight: over the mark');
    await waitFor(() => held.length === 1, 'the first POST');
    answer();
    await waitFor(() => held.length === 1 && bodies.length === 2, 'the second POST with the two queued frames');
    assert.equal(drains, 0, '82 bytes still in flight: more than half the mark');
    answer();
    await waitFor(() => drains === 1, 'ondrain');
    assert.deepEqual(bodies, [`${frame(1)}\n`, `${frame(2)}\n${frame(3)}\n`]);
    assert.equal(uplink.idle, true);
  } finally {
    await uplink.close();
    for (const res of held) res.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await agent.close();
  }
});
