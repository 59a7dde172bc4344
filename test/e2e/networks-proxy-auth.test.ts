/**
 * Connection-oriented proxy authentication with real parts (docs/corporate-networks.md,
 * "Proxy authentication"): squid with NTLM only (`ntlm_fake_auth`, which runs the real
 * type 1/2/3 handshake), the real binary on both ends, the MCP SDK client calling `echo`.
 * The Kerberos (Negotiate) case is in networks-kerberos.test.ts.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mintToken } from '../../src/gateway/http/auth.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { startSquid, stopAllSquids } from '../helpers/squid.js';
import { CHATTY_NAME, eventsNamed, exitCode, serverUp, startTunnel } from '../helpers/network-rig.js';
import { connectMcp, firstText, startGateway, stopAll, waitFor, type GatewayProc, type Proc } from '../helpers/system.js';

const SECRET = 'proxy-auth-secret-0123456789abcdef';
const PASSWORD = 'Ntlm-s3cret!';

async function gateway(): Promise<{ gw: GatewayProc; token: string }> {
  const token = await mintToken({ username: 'nina', secret: SECRET });
  return { gw: await startGateway(['--jwt-secret', SECRET]), token };
}

async function echoBurst(gw: GatewayProc, token: string, tag: string): Promise<void> {
  const mcp: Client = await connectMcp(gw.url, CHATTY_NAME, token);
  await Promise.all(
    Array.from({ length: 5 }, async (_, i) => {
      const res = await mcp.callTool({ name: 'echo', arguments: { message: `${tag}-${i}` } });
      assert.equal(firstText(res), `Echo: ${tag}-${i}`);
    }),
  );
  await mcp.close();
}

function noSecret(p: Proc, secrets: string[]): void {
  for (const s of secrets) assert.ok(!p.stderr().includes(s) && !p.stdout().includes(s), `"${s}" must not appear in the client's output`);
}

describe('NTLM proxy (real squid, ntlm_fake_auth)', () => {
  afterEach(() => Promise.all([stopAll(), stopAllSquids()]));

  test('DOMAIN\\user:password in the proxy URL: ws through an NTLM-authenticated CONNECT, calls work, nothing secret logged at DEBUG', async () => {
    const { gw, token } = await gateway();
    const squid = await startSquid({ ntlm: true });
    const proxy = `http://CORP%5Ccarol:${encodeURIComponent(PASSWORD)}@127.0.0.1:${squid.port}`;
    const client = startTunnel(gw.url, token, ['--proxy', proxy, '--log-level', 'DEBUG']);
    assert.equal((await serverUp(gw.url, token, client)).transport, 'ws');
    await echoBurst(gw, token, 'ntlm');
    const auth = eventsNamed(client, 'proxy_auth');
    assert.equal(auth.length, 1, 'the scheme is logged once');
    assert.equal(auth[0]!.scheme, 'NTLM');
    assert.match(String(auth[0]!.msg), /with NTLM as CORP\\carol/);
    assert.deepEqual(eventsNamed(client, 'transport_fallback'), []);
    noSecret(client, [PASSWORD, encodeURIComponent(PASSWORD), 'TlRMTVNTUA']);
    await client.stop();
    // squid logs the tunnel (with the NTLM user) when it ends.
    await waitFor(() => squid.accessLog().some((l) => l.includes(`CONNECT 127.0.0.1:${gw.port}`) && /carol/i.test(l)), 'an NTLM-authenticated CONNECT in access.log', 10_000);
  });

  test('credentials from REVERSE_PROXY_PROXY_USER / REVERSE_PROXY_PROXY_PASSWORD with the proxy in HTTP_PROXY', async () => {
    const { gw, token } = await gateway();
    const squid = await startSquid({ ntlm: true });
    const client = startTunnel(gw.url, token, [], {
      HTTP_PROXY: squid.url,
      REVERSE_PROXY_PROXY_USER: 'CORP\\dave',
      REVERSE_PROXY_PROXY_PASSWORD: PASSWORD,
    });
    assert.equal((await serverUp(gw.url, token, client)).transport, 'ws');
    await echoBurst(gw, token, 'ntlm-env');
    assert.equal(eventsNamed(client, 'proxy_auth')[0]?.scheme, 'NTLM');
    noSecret(client, [PASSWORD]);
  });

  test('http:// gateway, CONNECT refused after NTLM: exit 3 saying NTLM works through CONNECT only (use an https:// gateway)', async () => {
    const { gw, token } = await gateway();
    const squid = await startSquid({ ntlm: true, connect: false });
    const client = startTunnel(gw.url, token, ['--proxy', `http://CORP%5Ccarol:${encodeURIComponent(PASSWORD)}@127.0.0.1:${squid.port}`, '--max-retries', '2']);
    assert.equal(await exitCode(client), ExitCode.AuthRejected, client.stderr());
    assert.match(client.stderr(), /authenticates with NTLM, which this client supports through CONNECT tunnels only: use an https:\/\/ gateway/);
    assert.deepEqual(eventsNamed(client, 'transport_selected'), []);
    noSecret(client, [PASSWORD, encodeURIComponent(PASSWORD)]);
  });

  test('no credentials: exit 3, one message naming NTLM and where credentials go, no transport fallback', async () => {
    const { gw, token } = await gateway();
    const squid = await startSquid({ ntlm: true });
    const client = startTunnel(gw.url, token, ['--proxy', squid.url, '--max-retries', '2']);
    assert.equal(await exitCode(client), ExitCode.AuthRejected, client.stderr());
    const err = client.stderr();
    assert.match(err, /requires authentication \(HTTP 407; it offers NTLM\)/);
    assert.match(err, /no credentials are set/);
    assert.match(err, /DOMAIN%5Cuser/);
    assert.ok(err.includes(`127.0.0.1:${squid.port}`), 'the message names the proxy');
    assert.deepEqual(eventsNamed(client, 'transport_fallback'), [], 'a 407 is not a reason to try another transport');
    assert.deepEqual(eventsNamed(client, 'transport_selected'), []);
  });
});
