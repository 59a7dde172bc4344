/**
 * One token cannot fill the gateway with tunnel links: --max-pending-links-per-user bounds
 * the links that have not registered yet, --max-links-per-user all of a subject's links
 * (HTTP links count while they linger after closing). Over either: 429 with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FakeTunnelPeer, upgradeStatus } from '../../../helpers/gateway-fake-peer.js';
import { ECHO_SERVER, T, withHarness, type Harness } from '../../../helpers/gateway-harness.js';

/** A refused upgrade's status and JSON body. */
function refusedUpgrade(h: Harness, token: string): Promise<{ status: number; body: any }> {
  const ws = new WebSocket(`${h.gw.url.replace(/^http/, 'ws')}/reverse-proxy/ws`, { headers: { Authorization: `Bearer ${token}` } });
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
}

/**
 * Connect once the gateway has seen an earlier link go: the peer's close event can come
 * before the gateway's socket close, which is what frees the place. Bounded retries.
 */
async function connectOnceFreed(h: Harness, token: string): Promise<FakeTunnelPeer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await FakeTunnelPeer.connect(h.gw.url, token);
    } catch (err) {
      if (attempt >= 100 || !/HTTP 429/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

test('--max-pending-links-per-user: unregistered links over the cap get 429 on ws, sse and poll; others are not affected', T, async () => {
  await withHarness(
    async (h) => {
      const token = await h.token('mallory');
      const pending = [await FakeTunnelPeer.connect(h.gw.url, token), await FakeTunnelPeer.connect(h.gw.url, token)];
      const ws = await refusedUpgrade(h, token);
      assert.equal(ws.status, 429);
      assert.match(ws.body.error, /user mallory already has 2 tunnel link\(s\) that have not registered yet, the maximum \(--max-pending-links-per-user 2\)/);
      for (const path of ['/reverse-proxy/poll', '/reverse-proxy/sse']) {
        const res = await h.api(path, { token });
        assert.equal(res.status, 429, path);
        assert.match(((await res.json()) as { error: string }).error, /--max-pending-links-per-user 2/);
      }
      assert.equal(await upgradeStatus(h.gw.url, { Authorization: `Bearer ${await h.token('alice')}` }), 101, 'another user still gets in');

      // A registered link is no longer pending; a closed one frees its place.
      assert.equal((await pending[0]!.register(ECHO_SERVER)).type, 'register_ack');
      const third = await FakeTunnelPeer.connect(h.gw.url, token);
      await pending[1]!.close();
      const fourth = await connectOnceFreed(h, token);
      for (const p of [pending[0]!, third, fourth]) await p.close();
    },
    { maxPendingLinksPerUser: 2 },
  );
});

test('--max-links-per-user counts registered links and lingering HTTP links too', T, async () => {
  await withHarness(
    async (h) => {
      const token = await h.token('mallory');
      const a = await FakeTunnelPeer.connect(h.gw.url, token);
      assert.equal((await a.register({ ...ECHO_SERVER, name: 'a' })).type, 'register_ack');
      // A poll link refused at register closes, but lingers (30 s) holding its last frames: it still counts.
      const poll = (await (await h.api('/reverse-proxy/poll', { token })).json()) as { postUrl: string };
      const posted = await h.api(`/reverse-proxy/${poll.postUrl}`, { method: 'POST', token, headers: { 'Content-Type': 'application/x-ndjson' }, body: '{"type":"heartbeat"}\n' });
      assert.equal(posted.status, 202);
      const b = await FakeTunnelPeer.connect(h.gw.url, token);
      const refused = await refusedUpgrade(h, token);
      assert.equal(refused.status, 429);
      assert.match(refused.body.error, /user mallory already holds 3 tunnel link\(s\), the maximum \(--max-links-per-user 3\)/);
      const sse = await h.api('/reverse-proxy/sse', { token });
      assert.equal(sse.status, 429);
      await b.close();
      const c = await connectOnceFreed(h, token);
      await Promise.all([a.close(), c.close()]);
    },
    { maxLinksPerUser: 3 },
  );
});
