/**
 * Fuzz-style robustness: malformed envelopes, non-JSON, huge frames, wrong types, unknown
 * sessions and links, bad JSON-RPC — at the WebSocket tunnel, the admin API, the MCP
 * endpoint and the HTTP link routes. Each gets a clear 4xx / error frame / close code, and
 * at the end a healthy session on the same gateway still serves an MCP call.
 * Inputs come from a seeded PRNG (FUZZ_SEED to reproduce a run); counts are bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { FakeTunnelPeer, type Frame } from '../helpers/gateway-fake-peer.js';
import { ECHO_SERVER, registeredPeer, withHarness, type Harness } from '../helpers/gateway-harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const MAX_FRAME = 64 * 1024;
const ROUNDS = 40;

/** mulberry32: small, seedable, good enough to pick test inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Junk {
  constructor(private readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  value(depth = 0): unknown {
    const kinds = depth > 2 ? 4 : 7;
    switch (this.int(kinds)) {
      case 0: return null;
      case 1: return this.pick([0, -1, 1.5, 2 ** 53, -0, 1e308]);
      case 2: return this.pick(['', 'x', '2.0', 'request', '\u0000', '😀', 'a'.repeat(50)]);
      case 3: return this.r() < 0.5;
      case 4: return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.pick(['type', 'seq', 'ack', 'payload', 'id', 'method', 'jsonrpc', 'params', 'k']), this.value(depth + 1)]));
    }
  }
  /** Not JSON at all. */
  text(): string {
    return this.pick(['', '{', '}{', 'null null', '{"type":', 'GET / HTTP/1.1', '\u0000\u0001', '[1,2', "{'a':1}", 'NaN']) + String(this.int(1000));
  }
  envelope(): Record<string, unknown> {
    const env: Record<string, unknown> = { type: this.pick(['request', 'response', 'notification', 'heartbeat', 'ack', 'register', 'unregister', 'error', 'bogus', 7, null]) };
    if (this.r() < 0.6) env.seq = this.pick([1, 0, -1, 'x', 2 ** 40, 1.5, this.int(100)]);
    if (this.r() < 0.6) env.ack = this.pick([0, -3, 'y', 2 ** 40, this.int(100)]);
    if (this.r() < 0.7) env.payload = this.r() < 0.5 ? this.rpc() : this.value();
    if (this.r() < 0.2) env.server = this.value();
    return env;
  }
  rpc(): Record<string, unknown> {
    const m: Record<string, unknown> = { jsonrpc: this.pick(['2.0', '1.0', 2, undefined]) };
    if (this.r() < 0.7) m.id = this.pick([1, 'a', null, { x: 1 }, [1], 1.5, true]);
    if (this.r() < 0.8) m.method = this.pick(['tools/list', 'tools/call', '', 42, null, 'initialize', 'resources/subscribe', 'logging/setLevel', 'x'.repeat(300)]);
    if (this.r() < 0.5) m.params = this.value();
    if (this.r() < 0.2) m.result = this.value();
    if (this.r() < 0.2) m.error = this.value();
    return m;
  }
  /** Any body: non-JSON, random JSON, envelope-shaped, JSON-RPC-shaped. */
  body(): string {
    switch (this.int(4)) {
      case 0: return this.text();
      case 1: return JSON.stringify(this.value()) ?? 'undefined';
      case 2: return JSON.stringify(this.envelope());
      default: return JSON.stringify(this.rpc());
    }
  }
}

const HUGE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { blob: 'x'.repeat(MAX_FRAME + 10) } });

/** A 4xx with a JSON body that says something. */
async function clearRefusal(res: Response, what: string): Promise<number> {
  assert.ok(res.status >= 400 && res.status < 500, `${what}: status ${res.status}`);
  const text = await res.text();
  const body = JSON.parse(text) as Frame;
  const message = typeof body.error === 'string' ? body.error : body.error?.message;
  assert.equal(typeof message, 'string', `${what}: error message in ${text}`);
  assert.ok(message.length > 0);
  return res.status;
}

function rawWs(h: Harness, token: string): Promise<{ ws: WebSocket; frames: Frame[]; closed: Promise<number> }> {
  const ws = new WebSocket(h.gw.url.replace(/^http/, 'ws') + '/reverse-proxy/ws', { headers: { Authorization: `Bearer ${token}` } });
  const frames: Frame[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Frame));
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames, closed }));
    ws.once('unexpected-response', (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

test(`fuzz every endpoint; a healthy session keeps serving (seed ${SEED})`, { timeout: 60_000 }, async () => {
  await withHarness(
    async (h) => {
      const r = new Junk(prng(SEED));
      const { peer: healthy, ack, token } = await registeredPeer(h, 'alice');
      const client = await h.mcpClient('echo', token);
      const mallory = await h.token('mallory');

      // 1. WebSocket tunnel, junk as the first frame: error frame invalid_register, then close.
      for (let i = 0; i < 12; i++) {
        const { ws, frames, closed } = await rawWs(h, mallory);
        const first = i % 3 === 0 ? r.text() : JSON.stringify(i % 3 === 1 ? r.envelope() : { type: 'register', server: r.value() });
        ws.send(first);
        await closed;
        assert.equal(frames[0]?.type, 'error', `first frame ${first.slice(0, 80)}`);
        assert.ok(['invalid_register'].includes(frames[0]!.code), JSON.stringify(frames[0]));
      }
      // Huge first frame: WebSocket close 1009 (message too big).
      {
        const { ws, closed } = await rawWs(h, mallory);
        ws.send(HUGE);
        assert.equal(await closed, 1009);
      }

      // 2. A registered session fed junk: non-JSON and bad envelopes get bad_frame errors; the link survives.
      const fuzzPeer = await FakeTunnelPeer.connect(h.gw.url, mallory);
      assert.equal((await fuzzPeer.register({ ...ECHO_SERVER, name: 'fuzz' })).type, 'register_ack');
      let expectErrors = 0;
      for (let i = 0; i < ROUNDS; i++) {
        // `unregister` legitimately ends the session, and `heartbeat` is our barrier below.
        const env = r.envelope();
        if (env.type === 'unregister' || env.type === 'heartbeat') env.type = 'bogus';
        const junk = i % 2 === 0 ? r.text() : JSON.stringify(env);
        let valid = true;
        try {
          const v = JSON.parse(junk) as Frame;
          valid = typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v.type === 'string' && v.type !== '';
        } catch {
          valid = false;
        }
        if (!valid) expectErrors++;
        fuzzPeer.sendRaw(junk);
      }
      fuzzPeer.sendRaw({ type: 'heartbeat' }); // barrier: answered after everything above
      await fuzzPeer.next((f) => f.type === 'heartbeat');
      const badFrames = fuzzPeer.frames.filter((f) => f.type === 'error' && f.code === 'bad_frame').length;
      assert.ok(badFrames >= expectErrors, `${badFrames} bad_frame errors for ${expectErrors} unparseable frames`);

      // 3. Admin API: unknown sessions, junk bodies, huge bodies.
      await clearRefusal(await h.api('/reverse-proxy/sessions/no-such-session/request', { method: 'POST', token, body: '{}' }), 'unknown session');
      await clearRefusal(await h.api('/reverse-proxy/sessions/%zz', { method: 'DELETE', token }), 'bad percent-encoding');
      assert.equal(await clearRefusal(await h.api(`/reverse-proxy/sessions/${ack.sessionId}/request`, { method: 'POST', token, body: HUGE }), 'huge'), 413);
      for (let i = 0; i < ROUNDS; i++) {
        const body = r.body();
        const res = await h.api(`/reverse-proxy/sessions/${ack.sessionId}/request`, { method: 'POST', token, body });
        // Some junk is a valid JSON-RPC request: the fake server answers it. Everything else is a clear 4xx.
        if (res.status === 200 || res.status === 202) await res.body?.cancel();
        else await clearRefusal(res, `admin request ${body.slice(0, 80)}`);
      }

      // 4. MCP endpoint: without a session, with an unknown one, with a real one; junk and huge bodies.
      const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
      assert.equal(await clearRefusal(await h.api('/servers/echo/mcp', { method: 'POST', token, headers, body: HUGE }), 'huge mcp'), 413);
      await clearRefusal(await h.api('/servers/no-such-server/mcp', { method: 'POST', token, headers, body: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}' }), 'unknown server');
      const opened = await h.api('/servers/echo/mcp', {
        method: 'POST',
        token,
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'f', version: '1' } } }),
      });
      const mcpSession = opened.headers.get('mcp-session-id')!;
      await opened.body?.cancel();
      for (let i = 0; i < ROUNDS; i++) {
        const body = r.body();
        const sid = r.pick([undefined, 'made-up-session', mcpSession]);
        const res = await h.api('/servers/echo/mcp', { method: 'POST', token, headers: { ...headers, ...(sid ? { 'mcp-session-id': sid } : {}) }, body });
        if (res.status < 300) await res.body?.cancel();
        else await clearRefusal(res, `mcp ${sid ? 'with' : 'without'} session: ${body.slice(0, 80)}`);
      }

      // 5. HTTP tunnel link routes: unknown links, junk.
      for (let i = 0; i < 10; i++) {
        const link = encodeURIComponent(String(r.value()));
        await clearRefusal(await h.api(`/reverse-proxy/links/${link}/messages`, { method: 'POST', token: mallory, body: r.body() }), 'unknown link messages');
        await clearRefusal(await h.api(`/reverse-proxy/links/${link}/poll`, { token: mallory }), 'unknown link poll');
      }

      // The healthy session never noticed.
      const result = await client.callTool({ name: 'echo', arguments: { still: 'alive' } });
      assert.deepEqual(result.content, [{ type: 'text', text: '{"still":"alive"}' }]);
      assert.equal(healthy.closed, false);
      await fuzzPeer.close();
      await healthy.close();
    },
    { maxFrameBytes: MAX_FRAME },
  );
});
