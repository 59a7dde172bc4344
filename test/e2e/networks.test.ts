/**
 * Restrictive networks, with real parts (docs/corporate-networks.md, "How these behaviours
 * are tested"): a real squid between the tunnel client and the gateway, configured per
 * scenario, or a real nginx in front of the gateway; the real binary on both ends; the MCP
 * SDK client calling `echo` through /servers/{name}/mcp. Each test starts its own squid,
 * nginx, gateway and client and stops them afterwards.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mintToken } from '../../src/gateway/http/auth.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { startNginx, stopAllNginx } from '../helpers/nginx.js';
import { restartSquid, startSquid, stopAllSquids, type Squid } from '../helpers/squid.js';
import { CHATTY_NAME, eventsNamed, exitCode, logDigest, serverUp, startTunnel } from '../helpers/network-rig.js';
import { connectMcp, firstText, startGateway, stopAll, waitFor, type GatewayProc, type Proc } from '../helpers/system.js';

const SECRET = 'networks-secret-0123456789abcdef';

async function gateway(): Promise<{ gw: GatewayProc; token: string }> {
  const token = await mintToken({ username: 'nina', secret: SECRET });
  return { gw: await startGateway(['--jwt-secret', SECRET]), token };
}

async function echo(mcp: Client, message: string, timeout = 60_000): Promise<void> {
  assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message } }, undefined, { timeout })), `Echo: ${message}`);
}

/** A handful of concurrent calls, each checked against its own message. */
async function echoBurst(gw: GatewayProc, token: string, tag: string): Promise<void> {
  const mcp = await connectMcp(gw.url, CHATTY_NAME, token);
  await Promise.all(Array.from({ length: 10 }, (_, i) => echo(mcp, `${tag}-${i}`)));
  await mcp.close();
}

const fallbacks = (p: Proc): string[] => eventsNamed(p, 'transport_fallback').map((e) => `${String(e.from)}→${String(e.to)}`);
const gwPath = (gw: GatewayProc, path: string): string => `http://127.0.0.1:${gw.port}${path}`;

describe('restrictive networks (real squid / nginx)', () => {
  // squid takes ~2 s to exit: stop everything at once.
  afterEach(() => Promise.all([stopAll(), stopAllSquids(), stopAllNginx()]));

  test('squid allowing CONNECT: WebSocket through the tunnel', async () => {
    const { gw, token } = await gateway();
    const squid = await startSquid({ connect: true });
    const client = startTunnel(gw.url, token, ['--proxy', squid.url]);
    const entry = await serverUp(gw.url, token, client);
    assert.equal(entry.transport, 'ws');
    await echoBurst(gw, token, 'connect');
    assert.deepEqual(fallbacks(client), []);
    await client.stop();
    // squid logs a tunnel when it ends: the WebSocket really went through the proxy.
    await waitFor(() => squid.accessLog().some((l) => l.includes(`CONNECT 127.0.0.1:${gw.port}`)), 'the CONNECT in squid access.log', 10_000);
  });

  test('CONNECT refused, plain forwarding strips Upgrade: falls back to SSE', async () => {
    const { gw, token } = await gateway();
    const squid = await startSquid({ connect: false });
    const client = startTunnel(gw.url, token, ['--proxy', squid.url]);
    const entry = await serverUp(gw.url, token, client);
    assert.equal(entry.transport, 'sse', logDigest(client));
    await echoBurst(gw, token, 'forward');
    assert.deepEqual(fallbacks(client), ['ws→sse']);
    const reason = String(eventsNamed(client, 'transport_fallback')[0]?.reason);
    assert.match(reason, /426|Upgrade/, 'the fallback names why the WebSocket failed');
    const log = squid.accessLog();
    assert.ok(log.some((l) => /TCP_DENIED\/403 \d+ CONNECT /.test(l)), 'squid refused the CONNECT');
    assert.ok(log.some((l) => l.includes(`POST ${gwPath(gw, '/reverse-proxy/')}`)), 'the POSTs went through squid');
  });

  test('CONNECT refused and Upgrade: websocket requests denied (403): falls back to SSE', async () => {
    const { gw, token } = await gateway();
    const squid = await startSquid({ connect: false, denyUpgrade: true });
    const client = startTunnel(gw.url, token, ['--proxy', squid.url]);
    const entry = await serverUp(gw.url, token, client);
    assert.equal(entry.transport, 'sse', logDigest(client));
    await echoBurst(gw, token, 'deny-ws');
    assert.deepEqual(fallbacks(client), ['ws→sse']);
    assert.match(String(eventsNamed(client, 'transport_fallback')[0]?.reason), /403/);
    assert.ok(squid.accessLog().some((l) => l.includes(`TCP_DENIED/403`) && l.includes(gwPath(gw, '/reverse-proxy/ws'))), 'squid denied the forwarded upgrade');
  });

  describe('proxy basic auth', () => {
    const auth = { user: 'pat', password: 'p@ss' };
    const secrets = ['p@ss', 'p%40ss'];
    const noSecrets = (p: Proc, extra: string[] = []): void => {
      for (const s of [...secrets, ...extra]) {
        assert.ok(!p.stderr().includes(s) && !p.stdout().includes(s), `"${s}" must not appear in the client's output`);
      }
    };

    test('right credentials in --proxy', async () => {
      const { gw, token } = await gateway();
      const squid = await startSquid({ auth });
      const client = startTunnel(gw.url, token, ['--proxy', `http://pat:p%40ss@127.0.0.1:${squid.port}`]);
      assert.equal((await serverUp(gw.url, token, client)).transport, 'ws');
      await echoBurst(gw, token, 'auth-flag');
      noSecrets(client);
    });

    test('right credentials in HTTP_PROXY', async () => {
      const { gw, token } = await gateway();
      const squid = await startSquid({ auth });
      const client = startTunnel(gw.url, token, [], { HTTP_PROXY: `http://pat:p%40ss@127.0.0.1:${squid.port}` });
      assert.equal((await serverUp(gw.url, token, client)).transport, 'ws');
      await echoBurst(gw, token, 'auth-env');
      noSecrets(client);
      await client.stop();
      await waitFor(() => squid.accessLog().some((l) => / CONNECT 127\.0\.0\.1:\d+ pat /.test(l)), 'an authenticated CONNECT in access.log', 10_000);
    });

    test('wrong password: exit 3 with a 407 message naming the redacted proxy, no fallback', async () => {
      const { gw, token } = await gateway();
      const squid = await startSquid({ auth });
      const client = startTunnel(gw.url, token, ['--proxy', `http://pat:wr%40ng@127.0.0.1:${squid.port}`, '--max-retries', '2']);
      assert.equal(await exitCode(client), ExitCode.AuthRejected, client.stderr());
      assert.match(client.stderr(), /407/);
      assert.ok(client.stderr().includes(`127.0.0.1:${squid.port}`), 'the message names the proxy');
      assert.deepEqual(fallbacks(client), [], 'a 407 is not a reason to try another transport');
      assert.deepEqual(eventsNamed(client, 'transport_selected'), []);
      noSecrets(client, ['wr@ng', 'wr%40ng']);
    });
  });

  test('nginx front that buffers SSE (gzip, X-Accel-Buffering ignored) and drops Upgrade: long-polling', async () => {
    const { gw, token } = await gateway();
    const nginx = await startNginx(gw.port, 'buffer-sse');
    const client = startTunnel(nginx.url, token);
    const entry = await serverUp(gw.url, token, client);
    assert.equal(entry.transport, 'poll', logDigest(client));
    await echoBurst(gw, token, 'buffered');
    assert.deepEqual(fallbacks(client), ['ws→sse', 'sse→poll']);
  });

  describe('idle killer (squid read_timeout 2 s) with --keepalive 1', () => {
    /**
     * The killer is real: an idle CONNECT tunnel (ws case), or a forwarded request to a
     * server that never answers (sse case), is ended by squid on its own.
     */
    async function squidEndsIdle(squid: Squid, gwPort: number, kind: 'tunnel' | 'forward'): Promise<void> {
      const silent = net.createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const silentPort = (silent.address() as net.AddressInfo).port;
      const s = net.connect({ port: squid.port, host: '127.0.0.1' });
      s.write(
        kind === 'tunnel'
          ? `CONNECT 127.0.0.1:${gwPort} HTTP/1.1\r\nHost: 127.0.0.1:${gwPort}\r\n\r\n`
          : `GET http://127.0.0.1:${silentPort}/ HTTP/1.1\r\nHost: 127.0.0.1:${silentPort}\r\n\r\n`,
      );
      let got = '';
      s.setEncoding('utf8').on('data', (d: string) => (got += d));
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`squid left an idle ${kind} open for 15 s`)), 15_000);
          const done = (): void => (clearTimeout(t), resolve());
          s.once('close', done);
          // A forwarded request is ended with an error response (504) rather than a close.
          if (kind === 'forward') s.on('data', () => /^HTTP\/1\.1 5\d\d/.test(got) && done());
        });
      } finally {
        s.destroy();
        silent.close();
      }
    }

    for (const transport of ['ws', 'sse'] as const) {
      test(`${transport}: keepalive traffic keeps the path open, no reconnect`, async () => {
        const { gw, token } = await gateway();
        const squid = await startSquid({ connect: transport === 'ws', readTimeoutSeconds: 2 });
        const client = startTunnel(gw.url, token, ['--proxy', squid.url, '--keepalive', '1']);
        assert.equal((await serverUp(gw.url, token, client)).transport, transport);
        const mcp = await connectMcp(gw.url, CHATTY_NAME, token);
        await echo(mcp, 'before idle');
        // The scenario *is* time without MCP traffic: > 3 × read_timeout, while a control
        // tunnel proves that squid does kill idle connections.
        await Promise.all([squidEndsIdle(squid, gw.port, transport === 'ws' ? 'tunnel' : 'forward'), new Promise((r) => setTimeout(r, 7_000))]);
        await echo(mcp, 'after idle');
        const connected = eventsNamed(client, 'connected');
        assert.equal(connected.length, 1, `one registration, no resume: ${JSON.stringify(connected)}`);
        assert.deepEqual(eventsNamed(client, 'disconnected'), []);
        await mcp.close();
      });
    }
  });

  test('mid-session switch: CONNECT denied → resumes on SSE, nothing lost; allowed again → re-probe moves back to ws', async () => {
    const { gw, token } = await gateway();
    let squid = await startSquid({ connect: true });
    const client = startTunnel(gw.url, token, ['--proxy', squid.url, '--reprobe-interval', '1', '--keepalive', '2']);
    assert.equal((await serverUp(gw.url, token, client)).transport, 'ws');
    const clients = await Promise.all([0, 1, 2].map(() => connectMcp(gw.url, CHATTY_NAME, token)));
    const protocolErrors: string[] = [];
    for (const c of clients) c.onerror = (e) => protocolErrors.push(String(e));

    let answered = 0;
    let stop = false;
    let stage = 'ws';
    let loadError: Error | undefined;
    const load = Promise.all(
      clients.map(async (mcp, c) => {
        for (let k = 0; k < 5000 && !stop; k++) {
          await echo(mcp, `c${c}-k${k}`, 30_000);
          answered++;
        }
      }),
    ).catch((err: Error) => {
      // Kept, not left unhandled while the stages below are still waiting.
      loadError ??= new Error(`${err.message} (stage: ${stage}, after ${answered} answers); client log:\n${logDigest(client, 60)}`);
    });
    const progress = async (n: number, what: string): Promise<void> => {
      const target = answered + n;
      await waitFor(() => {
        if (loadError) throw loadError;
        if (client.proc.exitCode !== null) throw new Error(`the client exited (${client.proc.exitCode}) waiting for ${what}`);
        return answered >= target;
      }, what, 30_000);
    };
    try {
      await progress(30, 'calls over ws');
      stage = 'CONNECT denied';
      squid = await restartSquid(squid, { connect: false });
      await serverUp(gw.url, token, client, (s) => s.transport === 'sse');
      await progress(30, 'calls over sse');
      stage = 'CONNECT allowed again';
      squid = await restartSquid(squid, { connect: true });
      await serverUp(gw.url, token, client, (s) => s.transport === 'ws');
      await progress(30, 'calls after moving back to ws');
    } finally {
      stop = true;
      await load;
    }
    if (loadError) throw loadError;
    assert.deepEqual(protocolErrors, [], 'no unknown or duplicate responses');
    const kinds = eventsNamed(client, 'connected').map((e) => `${String(e.transport)}${e.resumed === true ? '+resumed' : ''}`);
    assert.equal(kinds[0], 'ws');
    assert.ok(kinds.includes('sse+resumed'), `resumed on sse: ${kinds.join(', ')}`);
    assert.equal(kinds.at(-1), 'ws+resumed', `back on ws, same session: ${kinds.join(', ')}`);
    assert.equal(eventsNamed(client, 'transport_upgrade').length >= 1, true, 'the re-probe logged the move up');
    await Promise.all(clients.map((c) => c.close()));
  });

  for (const pinned of ['sse', 'poll'] as const) {
    test(`--transport ${pinned} pinned: works, and nothing ever asks for /reverse-proxy/ws`, async () => {
      const { gw, token } = await gateway();
      const nginx = await startNginx(gw.port, 'pass');
      const client = startTunnel(nginx.url, token, ['--transport', pinned]);
      assert.equal((await serverUp(gw.url, token, client)).transport, pinned);
      await echoBurst(gw, token, pinned);
      await client.stop();
      // nginx logs a request when it ends: after the client is gone, every request it
      // made is in the log.
      const marker = pinned === 'sse' ? '/reverse-proxy/sse' : '/poll';
      await waitFor(() => nginx.accessLog().some((l) => l.includes(marker)), `${marker} in nginx access.log`, 10_000);
      const log = nginx.accessLog();
      assert.deepEqual(log.filter((l) => l.includes('/reverse-proxy/ws')), [], 'no WebSocket attempt');
      assert.deepEqual(log.filter((l) => l.includes('upgrade=websocket')), [], 'no Upgrade header at all');
    });
  }

  test('wrong token with WebSockets blocked by the proxy: auth failure (exit 3), not a fallback loop', async () => {
    const { gw } = await gateway();
    const badToken = await mintToken({ username: 'mallory', secret: 'not-the-gateway-secret-0123456789' });
    const squid = await startSquid({ connect: false });
    const client = startTunnel(gw.url, badToken, ['--proxy', squid.url, '--max-retries', '2']);
    assert.equal(await exitCode(client), ExitCode.AuthRejected, client.stderr());
    assert.match(client.stderr(), /rejected the token/);
    assert.ok(!client.stderr().includes(badToken), 'the token is never logged');
    assert.deepEqual(eventsNamed(client, 'transport_selected'), []);
    assert.ok(fallbacks(client).length <= 1, `at most one step down before the gateway's 401: ${fallbacks(client).join(', ')}`);
  });
});
