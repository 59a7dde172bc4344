/**
 * Who may do what, over every authenticated endpoint: the owner (token subject that
 * registered the server), another user, an admin, and no token at all. Plus the knobs
 * around it: --open-servers, --max-sessions-per-user, Origin validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeTunnelPeer, upgradeStatus, type Frame } from '../../helpers/gateway-fake-peer.js';
import { ECHO_SERVER, registeredPeer, T, withHarness, type Harness } from '../../helpers/gateway-harness.js';

const MCP_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'matrix', version: '1' } },
});

type Who = 'owner' | 'other' | 'admin' | 'none';

async function tokens(h: Harness): Promise<Record<Who, string | undefined>> {
  return { owner: await h.token('alice'), other: await h.token('bob'), admin: await h.token('root', true), none: undefined };
}

async function names(h: Harness, path: string, token: string | undefined, key: 'servers' | 'sessions'): Promise<number | string[]> {
  const res = await h.api(path, token ? { token } : {});
  if (res.status !== 200) return res.status;
  return ((await res.json()) as Record<string, Frame[]>)[key]!.map((s) => s.name as string);
}

test('ownership matrix: owner, other user, admin, no token over every endpoint', T, async () => {
  await withHarness(async (h) => {
    const t = await tokens(h);
    const { peer, ack } = await registeredPeer(h, 'alice');
    const sid = ack.sessionId as string;
    const who: Who[] = ['owner', 'other', 'admin', 'none'];
    const rpc = JSON.stringify({ jsonrpc: '2.0', id: 'm', method: 'tools/list' });
    const row = async (fn: (token: string | undefined) => Promise<unknown>) => Object.fromEntries(await Promise.all(who.map(async (w) => [w, await fn(t[w])])));
    const status = (path: string, init: RequestInit = {}) => (token: string | undefined) => h.api(path, { ...init, ...(token ? { token } : {}) }).then((r) => r.status);

    assert.deepEqual(await row((tk) => names(h, '/servers', tk, 'servers')), { owner: ['echo'], other: [], admin: ['echo'], none: 401 });
    assert.deepEqual(await row((tk) => names(h, '/reverse-proxy/sessions', tk, 'sessions')), { owner: ['echo'], other: [], admin: ['echo'], none: 401 });
    assert.deepEqual(await row(status(`/reverse-proxy/sessions/${sid}/request`, { method: 'POST', body: rpc })), { owner: 200, other: 403, admin: 200, none: 401 });
    assert.deepEqual(await row(status('/servers/echo/mcp', { method: 'POST', headers: MCP_HEADERS, body: INIT })), { owner: 200, other: 403, admin: 200, none: 401 });
    // Tunnel endpoints: any user may open a tunnel (ownership is decided at register), never without a token.
    assert.equal(await upgradeStatus(h.gw.url), 401);
    assert.equal(await upgradeStatus(h.gw.url, { Authorization: `Bearer ${t.other}` }), 101);
    for (const [method, path] of [['GET', '/reverse-proxy/sse'], ['GET', '/reverse-proxy/poll'], ['POST', '/reverse-proxy/links/x/messages'], ['GET', '/reverse-proxy/links/x/poll']]) {
      assert.equal(await status(path!, { method: method! })(undefined), 401, path);
    }

    // An MCP session id is bound to the subject that opened it.
    const opened = await h.api('/servers/echo/mcp', { method: 'POST', token: t.owner!, headers: MCP_HEADERS, body: INIT });
    const mcpSession = opened.headers.get('mcp-session-id')!;
    await opened.body?.cancel();
    const reuse = (token: string | undefined) =>
      h.api('/servers/echo/mcp', { method: 'POST', ...(token ? { token } : {}), headers: { ...MCP_HEADERS, 'mcp-session-id': mcpSession }, body: rpc }).then((r) => r.status);
    assert.deepEqual(await row(reuse), { owner: 200, other: 404, admin: 404, none: 401 });

    // DELETE last: the owner's and the admin's succeed.
    assert.deepEqual(
      await row(async (tk) => (tk === t.owner || tk === t.admin ? 'skipped' : status(`/reverse-proxy/sessions/${sid}`, { method: 'DELETE' })(tk))),
      { owner: 'skipped', other: 403, admin: 'skipped', none: 401 },
    );
    assert.equal(await status(`/reverse-proxy/sessions/${sid}`, { method: 'DELETE' })(t.owner), 200);
    await peer.whenClosed();
    const { peer: again, ack: ack2 } = await registeredPeer(h, 'alice');
    assert.equal(await status(`/reverse-proxy/sessions/${ack2.sessionId}`, { method: 'DELETE' })(t.admin), 200);
    await again.whenClosed();
  });
});

test('--open-servers: any authenticated user may use a server, but still not list or manage it', T, async () => {
  await withHarness(
    async (h) => {
      const t = await tokens(h);
      const { peer, ack } = await registeredPeer(h, 'alice');
      const bob = await h.mcpClient('echo', t.other!);
      assert.equal((await bob.listTools()).tools[0]!.name, 'echo');
      assert.equal((await h.api('/servers/echo/mcp', { method: 'POST', headers: MCP_HEADERS, body: INIT })).status, 401);
      assert.deepEqual(await names(h, '/servers', t.other, 'servers'), []);
      assert.equal((await h.api(`/reverse-proxy/sessions/${ack.sessionId}`, { method: 'DELETE', token: t.other! })).status, 403);
      await peer.close();
    },
    { openServers: true },
  );
});

test('--max-sessions-per-user refuses one more session with a clear error frame; replacing a name is not one more', T, async () => {
  await withHarness(
    async (h) => {
      const token = await h.token('alice');
      const peers: FakeTunnelPeer[] = [];
      for (const name of ['one', 'two']) {
        const p = await FakeTunnelPeer.connect(h.gw.url, token);
        assert.equal((await p.register({ ...ECHO_SERVER, name })).type, 'register_ack');
        peers.push(p);
      }
      const third = await FakeTunnelPeer.connect(h.gw.url, token);
      const refused = await third.register({ ...ECHO_SERVER, name: 'three' });
      assert.equal(refused.type, 'error');
      assert.equal(refused.code, 'too_many_sessions');
      assert.match(refused.message, /already has 2 tunnel session\(s\), the maximum \(--max-sessions-per-user 2\)/);
      await third.whenClosed();
      // Same name again: replaces "two" (the old one is told), still two sessions.
      const replacement = await FakeTunnelPeer.connect(h.gw.url, token);
      assert.equal((await replacement.register({ ...ECHO_SERVER, name: 'two' })).type, 'register_ack');
      assert.equal((await peers[1]!.next((f) => f.type === 'error')).code, 'session_replaced');
      // Another user has their own budget.
      const bob = await FakeTunnelPeer.connect(h.gw.url, await h.token('bob'));
      assert.equal((await bob.register({ ...ECHO_SERVER, name: 'bobs' })).type, 'register_ack');
      for (const p of [peers[0]!, replacement, bob]) await p.close();
    },
    { maxSessionsPerUser: 2 },
  );
});

test('Origin on the MCP endpoint: absent or loopback allowed on a loopback bind, listed allowed, others 403', T, async () => {
  const init = (h: Harness, token: string, origin?: string) =>
    h.api('/servers/echo/mcp', { method: 'POST', token, headers: { ...MCP_HEADERS, ...(origin ? { Origin: origin } : {}) }, body: INIT });
  await withHarness(
    async (h) => {
      const { peer, token } = await registeredPeer(h, 'alice');
      const statusOf = async (origin?: string) => {
        const res = await init(h, token, origin);
        const body = res.status === 403 ? ((await res.json()) as Frame) : (await res.body?.cancel(), undefined);
        return [res.status, body?.error?.message];
      };
      assert.deepEqual(await statusOf(), [200, undefined]);
      assert.deepEqual(await statusOf('http://localhost:6274'), [200, undefined]);
      assert.deepEqual(await statusOf('http://127.0.0.1:3000'), [200, undefined]);
      assert.deepEqual(await statusOf('https://app.example.com'), [200, undefined]);
      assert.deepEqual(await statusOf('http://evil.example'), [403, 'Forbidden: Origin http://evil.example is not allowed (see --allowed-origins)']);
      assert.equal((await statusOf('null'))[0], 403);
      await peer.close();
    },
    { allowedOrigins: ['https://app.example.com'] },
  );
});
