/**
 * The CONNECT handshake of src/net/proxy-tunnel.ts against a scripted proxy on loopback:
 * the network shapes a real squid does not produce on demand (a 407 whose body arrives in
 * a later TCP segment, a proxy that closes after each 407) decide whether the NTLM
 * handshake stays on one connection. The real squid runs are in test/e2e.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ProxyAuthenticator } from '../../src/net/proxy-auth/authenticator.js';
import { parseProxy } from '../../src/net/proxy.js';
import { openTunnel, ProxyUnreachableError, TunnelRefusedError } from '../../src/net/proxy-tunnel.js';
import { freePort } from '../helpers/daemon.js';

const SQUID_TYPE2 = 'TlRMTVNTUAACAAAACQAJAK6qqqoGgggA523k55E2REAAAAAAAAA6AFdPUktHUk9VUA==';
const servers: net.Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

type Answer = { status: number; headers?: Record<string, string>; body?: string; close?: boolean };

/** A proxy that answers each CONNECT head with `answer(head, n)`; after a 200 it echoes. */
async function scriptedProxy(answer: (head: string, n: number) => Answer): Promise<{ url: string; connections: () => number; heads: string[] }> {
  let connections = 0;
  const heads: string[] = [];
  const server = net.createServer((c) => {
    connections++;
    let buf = '';
    let tunnel = false;
    c.on('error', () => undefined);
    c.on('data', (d) => {
      if (tunnel) return void c.write(d);
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      heads.push(head);
      const a = answer(head, heads.length);
      const body = a.body ?? '';
      const lines = [`HTTP/1.1 ${a.status} X`, ...Object.entries(a.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
      if (a.status === 200) {
        tunnel = true;
        c.write(`${lines.join('\r\n')}\r\n\r\n`);
        return;
      }
      lines.push(`Content-Length: ${body.length}`, `Connection: ${a.close ? 'close' : 'keep-alive'}`);
      c.write(`${lines.join('\r\n')}\r\n\r\n`);
      // The body in a later segment: the client must wait for it before its next request.
      setTimeout(() => (a.close ? c.end(body) : c.write(body)), 30);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections, heads };
}

function tunnel(url: string, auth = new ProxyAuthenticator(parseProxy(url, '--proxy'))): Promise<net.Socket> {
  return openTunnel({ proxy: new URL(url.replace(/\/\/[^@]*@/, '//')), target: '127.0.0.1:9999', auth, timeoutMs: 10_000 });
}

async function echoes(s: net.Socket): Promise<void> {
  s.write('ping');
  const [d] = (await Promise.race([
    new Promise((r) => s.once('data', (x) => r([x]))),
    new Promise((_, j) => setTimeout(() => j(new Error('no echo')), 5_000)),
  ])) as [Buffer];
  assert.equal(d.toString(), 'ping');
  s.destroy();
}

describe('CONNECT tunnel with authentication on one kept-alive connection', () => {
  test('NTLM: 407 (no auth) → type 1 → 407 (type 2) → type 3 → 200, all on one connection, slow 407 bodies drained', async () => {
    const proxy = await scriptedProxy((head, n) => {
      if (n === 1) return { status: 407, headers: { 'Proxy-Authenticate': 'NTLM' }, body: 'x'.repeat(3000) };
      if (n === 2) return { status: 407, headers: { 'Proxy-Authenticate': `NTLM ${SQUID_TYPE2}` }, body: 'y'.repeat(500) };
      return /Proxy-Authorization: NTLM TlRMTVNTUAADAAAA/i.test(head) ? { status: 200 } : { status: 407, headers: { 'Proxy-Authenticate': 'NTLM' } };
    });
    const url = proxy.url.replace('//', '//CORP%5Ccarol:pw@');
    await echoes(await tunnel(url));
    assert.equal(proxy.connections(), 1);
    assert.match(proxy.heads[1]!, /Proxy-Authorization: NTLM TlRMTVNTUAABAAAA/i);
    assert.match(proxy.heads[0]!, /^CONNECT 127\.0\.0\.1:9999 HTTP\/1\.1/);
    assert.doesNotMatch(proxy.heads[0]!, /Proxy-Authorization/i, 'the first request carries no credentials');
  });

  test('a proxy that closes after each 407: Basic goes on a new connection', async () => {
    const proxy = await scriptedProxy((head) =>
      /Proxy-Authorization: Basic/i.test(head) ? { status: 200 } : { status: 407, headers: { 'Proxy-Authenticate': 'Basic realm="x"' }, body: 'denied', close: true },
    );
    await echoes(await tunnel(proxy.url.replace('//', '//pat:pw@')));
    assert.equal(proxy.connections(), 2);
  });

  test('a refusal other than 407 keeps its status (the negotiator falls back on it)', async () => {
    const proxy = await scriptedProxy(() => ({ status: 403, body: 'CONNECT only to 443' }));
    await assert.rejects(tunnel(proxy.url), (e: unknown) => e instanceof TunnelRefusedError && e.status === 403);
  });

  test('nothing listening: ProxyUnreachableError (a PAC list moves on)', async () => {
    await assert.rejects(tunnel(`http://127.0.0.1:${await freePort()}`), (e: unknown) => e instanceof ProxyUnreachableError && /ECONNREFUSED/.test(e.message));
  });
});
