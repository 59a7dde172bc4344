/**
 * The gateway's `sse` and `poll` tunnel transports (protocol.md §4.1), driven by a
 * hand-made client (undici fetch + eventsource-parser) against a real gateway on
 * 127.0.0.1, with the real MCP SDK Client calling through /servers/{name}/mcp.
 * Units of the link itself (replay buffer, timers): http-link.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetch } from 'undici';
import { HttpTunnelPeer } from '../../../helpers/gateway-http-peer.js';
import { ECHO_SERVER, registeredPeer, T, waitForSession, withHarness, type Harness } from '../../../helpers/gateway-harness.js';
import type { Frame } from '../../../helpers/gateway-fake-peer.js';

async function ssePeer(h: Harness, user = 'alice'): Promise<{ peer: HttpTunnelPeer; ack: Frame; token: string }> {
  const token = await h.token(user);
  const peer = await HttpTunnelPeer.openSse(h.gw.url, token);
  const ack = await peer.register(ECHO_SERVER);
  assert.equal(ack.type, 'register_ack', JSON.stringify(ack));
  return { peer, ack, token };
}

test('sse: stream headers, padding and session event; an MCP call goes through the link', T, async () => {
  await withHarness(async (h) => {
    const { peer, ack, token } = await ssePeer(h);
    const o = peer.opening!;
    assert.equal(o.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(o.headers.get('cache-control'), 'no-cache, no-transform');
    assert.equal(o.headers.get('x-accel-buffering'), 'no');
    assert.equal(o.headers.get('x-mcp-reverse-proxy'), 'gateway');
    assert.ok(o.comments[0]!.length >= 2000, 'starts with a ~2 KiB padding comment');
    assert.match(peer.linkId, /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(peer.postUrl, `${h.gw.url}/reverse-proxy/links/${peer.linkId}/messages`);

    const client = await h.mcpClient('echo', token);
    const result = await client.callTool({ name: 'echo', arguments: { via: 'sse' } });
    assert.deepEqual(result.content, [{ type: 'text', text: JSON.stringify({ via: 'sse' }) }]);
    const s = await waitForSession(h, token, ack.sessionId, (x) => x.connected);
    assert.equal(s.transport, 'sse');
    peer.stop();
  });
});

test('sse: a batched POST of several lines; a malformed line gets an error frame, the others are processed', T, async () => {
  await withHarness(async (h) => {
    const { peer } = await ssePeer(h);
    const from = peer.frames.length;
    const hb = JSON.stringify({ type: 'heartbeat' });
    const res = await peer.post(['{not json', hb, '', '[]']);
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { received: 3 }, 'blank lines are not frames');
    let errors = 0;
    await peer.next((f) => f.type === 'error' && ++errors === 2, from);
    const answers = peer.frames.slice(from).filter((f) => f.type === 'error' || f.type === 'heartbeat');
    assert.deepEqual(answers.map((f) => f.type), ['error', 'heartbeat', 'error'], 'lines are processed in order');
    assert.match(answers[0]!.message, /not valid JSON/);
    assert.match(answers[2]!.message, /not a JSON object/);
    assert.equal(answers[0]!.code, 'bad_frame');
    peer.stop();
  });
});

test('sse: reopening the stream with Last-Event-ID continues without loss or duplicates', T, async () => {
  await withHarness(async (h) => {
    const { peer, token } = await ssePeer(h);
    const client = await h.mcpClient('echo', token);
    await client.callTool({ name: 'echo', arguments: { n: 1 } });
    peer.dropStream();
    // Sent while no stream is open: held in the link's replay buffer.
    const queued = client.callTool({ name: 'echo', arguments: { n: 2 } });
    queued.catch(() => {});
    const linkId = peer.linkId;
    await peer.reopen();
    assert.equal(peer.linkId, linkId, 'the session event names the same link');
    assert.deepEqual((await queued).content, [{ type: 'text', text: JSON.stringify({ n: 2 }) }]);
    await client.callTool({ name: 'echo', arguments: { n: 3 } });
    const ids = peer.eventIds;
    assert.deepEqual(ids, ids.map((_, i) => i + 1), 'every event id exactly once, in order');
    peer.stop();
  });
});

test('sse: 409 for a Last-Event-ID older than the 1 MiB replay buffer, 404 for an unknown link', T, async () => {
  await withHarness(async (h) => {
    const { peer, token } = await ssePeer(h);
    const client = await h.mcpClient('echo', token);
    const big = 'x'.repeat(400 * 1024);
    for (let i = 0; i < 3; i++) await client.callTool({ name: 'echo', arguments: { big } });
    await assert.rejects(peer.reopen(1), (err: { status?: number }) => err.status === 409);
    const unknown = await fetch(`${h.gw.url}/reverse-proxy/sse?link=nope`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('x-mcp-reverse-proxy'), 'gateway');
    peer.stop();
  });
});

test('links are bound to their subject: 403 for another user, 404 for unknown ids, 401 without a token', T, async () => {
  await withHarness(async (h) => {
    const { peer } = await ssePeer(h, 'alice');
    const bob = { Authorization: `Bearer ${await h.token('bob')}` };
    const post = await fetch(peer.postUrl, { method: 'POST', headers: bob, body: '{"type":"heartbeat"}\n' });
    assert.equal(post.status, 403);
    const reopen = await fetch(`${h.gw.url}/reverse-proxy/sse?link=${peer.linkId}`, { headers: bob });
    assert.equal(reopen.status, 403);
    const unknown = await fetch(`${h.gw.url}/reverse-proxy/links/nope/messages`, { method: 'POST', headers: bob, body: '\n' });
    assert.equal(unknown.status, 404);
    const unknownPoll = await fetch(`${h.gw.url}/reverse-proxy/links/nope/poll?after=0&wait=0`, { headers: bob });
    assert.equal(unknownPoll.status, 404);
    const anonymous = await fetch(`${h.gw.url}/reverse-proxy/sse`);
    assert.equal(anonymous.status, 401);
    peer.stop();
  });
});

test('POST over maxFrameBytes × batch factor gets 413', T, async () => {
  await withHarness(
    async (h) => {
      const { peer } = await ssePeer(h);
      const res = await fetch(peer.postUrl, { method: 'POST', headers: peer.auth, body: 'x'.repeat(64 * 1024 * 4 + 1) });
      assert.equal(res.status, 413);
      peer.stop();
    },
    { maxFrameBytes: 64 * 1024 },
  );
});

async function createPollLink(h: Harness, token: string): Promise<{ linkId: string; postUrl: string; pollUrl: string }> {
  const base = `${h.gw.url}/reverse-proxy/poll`;
  const res = await fetch(base, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { linkId: string; postUrl: string; pollUrl: string };
  return { linkId: body.linkId, postUrl: new URL(body.postUrl, base).href, pollUrl: new URL(body.pollUrl, base).href };
}

test('poll: long poll returns frames, the same `after` returns them again, `wait` expiry returns an empty list', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('alice');
    const auth = { Authorization: `Bearer ${token}` };
    const link = await createPollLink(h, token);
    const poll = async (q: string): Promise<{ next: number; frames: Frame[] }> => {
      const res = await fetch(`${link.pollUrl}?${q}`, { headers: auth });
      assert.equal(res.status, 200);
      return (await res.json()) as { next: number; frames: Frame[] };
    };
    // A long poll held open, answered when register_ack is sent.
    const pending = poll('after=0&wait=20');
    const reg = { type: 'register', server: ECHO_SERVER, transport: 'poll', reliability: 'seq-ack/1', keepalive: 30 };
    const posted = await fetch(link.postUrl, { method: 'POST', headers: auth, body: JSON.stringify(reg) + '\n' });
    assert.equal(posted.status, 202);
    const first = await pending;
    assert.equal(first.next, 1);
    assert.equal(first.frames[0]!.type, 'register_ack');
    assert.deepEqual(await poll('after=0&wait=0'), first, 'a lost answer is fetched again with the same after');
    assert.deepEqual(await poll('after=1&wait=0.05'), { next: 1, frames: [] }, 'wait expiry: empty list');
    const bad = await fetch(`${link.pollUrl}?after=x`, { headers: auth });
    assert.equal(bad.status, 400);
  });
});

test('poll: one pending poll per link; closing the link ends a held poll at once', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('alice');
    const auth = { Authorization: `Bearer ${token}` };
    const link = await createPollLink(h, token);
    const reg = { type: 'register', server: ECHO_SERVER, transport: 'poll', reliability: 'seq-ack/1', keepalive: 30 };
    await fetch(link.postUrl, { method: 'POST', headers: auth, body: JSON.stringify(reg) + '\n' });
    const ack = ((await (await fetch(`${link.pollUrl}?after=0&wait=5`, { headers: auth })).json()) as { frames: Frame[] }).frames[0]!;
    assert.equal(ack.type, 'register_ack');
    const held = (): Promise<{ next: number; frames: Frame[] }> =>
      fetch(`${link.pollUrl}?after=1&wait=20`, { headers: auth }).then((r) => r.json() as Promise<{ next: number; frames: Frame[] }>);
    const polls = [held(), held()];
    // Whichever reached the gateway first is answered at once, empty, when the other arrives.
    const first = await Promise.race(polls.map((p, i) => p.then((body) => ({ i, body }))));
    assert.deepEqual(first.body, { next: 1, frames: [] });
    // Deleting the session closes the link: the held poll answers with the session_deleted frame.
    await h.api(`/reverse-proxy/sessions/${ack.sessionId}`, { method: 'DELETE', token });
    const last = await polls[1 - first.i]!;
    assert.ok(last.frames.some((f) => f.type === 'error' && f.code === 'session_deleted'), JSON.stringify(last));
    const gone = await fetch(`${link.pollUrl}?after=${last.next}&wait=5`, { headers: auth });
    assert.equal(gone.status, 404, 'nothing left on a closed link');
  });
});

test('poll: an MCP call goes through a poll link; /servers shows the transport', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('alice');
    const peer = await HttpTunnelPeer.openPoll(h.gw.url, token);
    const ack = await peer.register(ECHO_SERVER);
    const client = await h.mcpClient('echo', token);
    const result = await client.callTool({ name: 'echo', arguments: { via: 'poll' } });
    assert.deepEqual(result.content, [{ type: 'text', text: JSON.stringify({ via: 'poll' }) }]);
    const s = await waitForSession(h, token, ack.sessionId, (x) => x.connected);
    assert.equal(s.transport, 'poll');
    peer.stop();
    await h.api(`/reverse-proxy/sessions/${ack.sessionId}`, { method: 'DELETE', token });
  });
});

test('poll: a refused register still delivers its error frame before the link goes', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('alice');
    const link = await createPollLink(h, token);
    const auth = { Authorization: `Bearer ${token}` };
    await fetch(link.postUrl, { method: 'POST', headers: auth, body: '{"type":"heartbeat"}\n' });
    const res = await fetch(`${link.pollUrl}?after=0&wait=5`, { headers: auth });
    const body = (await res.json()) as { frames: Frame[] };
    assert.equal(body.frames[0]!.type, 'error');
    assert.equal(body.frames[0]!.code, 'invalid_register');
    const posted = await fetch(link.postUrl, { method: 'POST', headers: auth, body: '{"type":"heartbeat"}\n' });
    assert.equal(posted.status, 404, 'a closed link takes no more POSTs');
  });
});

test('a session registered over ws resumes over sse, and back over poll, without losing a request', T, async () => {
  await withHarness(async (h) => {
    const { peer, ack, token } = await registeredPeer(h);
    const client = await h.mcpClient('echo', token);
    peer.handler = undefined;
    const inFlight = client.callTool({ name: 'echo', arguments: { n: 1 } });
    inFlight.catch(() => {});
    await peer.nthRequest(0);
    await peer.terminate();
    await waitForSession(h, token, ack.sessionId, (s) => !s.connected);
    const queued = client.callTool({ name: 'echo', arguments: { n: 2 } });
    queued.catch(() => {});

    const sse = await HttpTunnelPeer.openSse(h.gw.url, token);
    const resumed = await sse.register(ECHO_SERVER, { resume: { sessionId: ack.sessionId, ack: 0 } });
    assert.equal(resumed.resumed, true, JSON.stringify(resumed));
    assert.deepEqual((await inFlight).content, [{ type: 'text', text: JSON.stringify({ n: 1 }) }]);
    assert.deepEqual((await queued).content, [{ type: 'text', text: JSON.stringify({ n: 2 }) }]);
    assert.equal((await waitForSession(h, token, ack.sessionId, (s) => s.connected)).transport, 'sse');

    // Move again, to poll: the new link supersedes the sse one.
    sse.stop();
    const poll = await HttpTunnelPeer.openPoll(h.gw.url, token);
    const again = await poll.register(ECHO_SERVER, { resume: { sessionId: ack.sessionId, ack: sse.inboundAck } });
    assert.equal(again.resumed, true);
    assert.deepEqual((await client.callTool({ name: 'echo', arguments: { n: 3 } })).content, [{ type: 'text', text: JSON.stringify({ n: 3 }) }]);
    assert.equal((await waitForSession(h, token, ack.sessionId, (s) => s.transport === 'poll')).connected, true);
    poll.stop();
    await h.api(`/reverse-proxy/sessions/${ack.sessionId}`, { method: 'DELETE', token });
  });
});

test('sse: `: keepalive` comments every gateway keepalive', T, async () => {
  await withHarness(
    async (h) => {
      const token = await h.token('alice');
      const peer = await HttpTunnelPeer.openSse(h.gw.url, token);
      await peer.comment('keepalive');
      await peer.comment('keepalive');
      peer.stop();
    },
    { keepalive: 0.05 },
  );
});
