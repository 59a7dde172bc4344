/**
 * Negotiate (Kerberos) proxy authentication with real parts only: a MIT Kerberos realm
 * made by the test (krb5kdc on loopback, test/helpers/kerberos.ts), squid with
 * `negotiate_kerberos_auth -k <keytab>` and nothing else, a ticket from `kinit`, and the
 * real binary: no password anywhere on the client's side. The client needs the optional
 * native `kerberos` module; where it could not be built, the cases that need it are
 * skipped with the reason (CI installs libkrb5-dev, so it is built there).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mintToken } from '../../src/gateway/http/auth.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { KERBEROS_INSTALL_HINT, loadKerberos } from '../../src/net/proxy-auth/negotiate.js';
import { KRB5_TOOLS, startRealm, type Realm } from '../helpers/kerberos.js';
import { pacScript, servePac } from '../helpers/pac-server.js';
import { startSquid, stopAllSquids } from '../helpers/squid.js';
import { CHATTY_NAME, eventsNamed, exitCode, serverUp, startTunnel } from '../helpers/network-rig.js';
import { connectMcp, firstText, startGateway, stopAll, waitFor } from '../helpers/system.js';

const SECRET = 'kerberos-secret-0123456789abcdef';
const ALICE_PASSWORD = 'alice-kdc-password';
const kerberos = loadKerberos();
const missingTool = KRB5_TOOLS.find((t) => !existsSync(t));
const skip = missingTool
  ? `${missingTool} is missing (make system-deps installs krb5-kdc, krb5-admin-server, krb5-user)`
  : kerberos.module
    ? false
    : `the native "kerberos" module ${kerberos.error ?? 'is missing'}: ${KERBEROS_INSTALL_HINT}`;

describe('Negotiate/Kerberos proxy (real KDC, squid negotiate_kerberos_auth)', { skip }, () => {
  let realm: Realm;
  before(async () => {
    realm = await startRealm({ alice: ALICE_PASSWORD }, ['localhost']);
  });
  after(() => realm?.stop());
  afterEach(() => Promise.all([stopAll(), stopAllSquids()]));

  async function setup(): Promise<{ gwUrl: string; gwPort: number; token: string; proxy: string; squid: Awaited<ReturnType<typeof startSquid>> }> {
    const token = await mintToken({ username: 'kim', secret: SECRET });
    const gw = await startGateway(['--jwt-secret', SECRET]);
    const squid = await startSquid({ negotiate: { keytab: realm.proxyKeytab, krb5Config: realm.krb5Config } });
    // The SPN is HTTP/<host of the proxy URL>: the keytab has HTTP/localhost.
    return { gwUrl: gw.url, gwPort: gw.port, token, proxy: `http://localhost:${squid.port}`, squid };
  }

  test('ticket from kinit, no password anywhere: ws through a Negotiate-authenticated CONNECT, calls work', async () => {
    const { gwUrl, gwPort, token, proxy, squid } = await setup();
    const cache = realm.kinit('alice');
    const client = startTunnel(gwUrl, token, ['--proxy', proxy, '--log-level', 'DEBUG'], { KRB5_CONFIG: realm.krb5Config, KRB5CCNAME: cache });
    assert.equal((await serverUp(gwUrl, token, client)).transport, 'ws');
    const mcp = await connectMcp(gwUrl, CHATTY_NAME, token);
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'kerberos' } })), 'Echo: kerberos');
    await mcp.close();
    const auth = eventsNamed(client, 'proxy_auth');
    assert.equal(auth[0]?.scheme, 'Negotiate');
    assert.match(String(auth[0]?.msg), /with Negotiate as service HTTP@localhost/);
    assert.ok(!client.stderr().includes('YII'), 'no SPNEGO token (base64 "YII…") in the log');
    assert.ok(!client.stderr().includes(ALICE_PASSWORD));
    await client.stop();
    await waitFor(() => squid.accessLog().some((l) => l.includes(`CONNECT 127.0.0.1:${gwPort}`) && l.includes('alice@MCP.TEST')), 'a CONNECT by alice@MCP.TEST in access.log', 10_000);
  });

  test('only a PAC URL and a Kerberos ticket, no other configuration: the PAC file picks the Kerberos proxy, calls work', async () => {
    const { gwUrl, gwPort, token, squid } = await setup();
    const pac = await servePac(pacScript('127.0.0.1', `PROXY localhost:${squid.port}`));
    try {
      const client = startTunnel(gwUrl, token, [], { REVERSE_PROXY_PROXY_PAC: pac.url, KRB5_CONFIG: realm.krb5Config, KRB5CCNAME: realm.kinit('alice') });
      assert.equal((await serverUp(gwUrl, token, client)).transport, 'ws');
      const mcp = await connectMcp(gwUrl, CHATTY_NAME, token);
      assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'pac+kerberos' } })), 'Echo: pac+kerberos');
      await mcp.close();
      assert.equal(eventsNamed(client, 'pac_route')[0]?.msg, `PAC chose PROXY localhost:${squid.port} for 127.0.0.1:${gwPort}`);
      assert.equal(eventsNamed(client, 'proxy_auth')[0]?.scheme, 'Negotiate');
      await client.stop();
      await waitFor(() => squid.accessLog().some((l) => l.includes('alice@MCP.TEST')), 'alice in access.log', 10_000);
    } finally {
      await pac.close();
    }
  });

  test('empty ticket cache: exit 3, the message says Negotiate, names the SPN and says to run kinit', async () => {
    const { gwUrl, token, proxy } = await setup();
    const client = startTunnel(gwUrl, token, ['--proxy', proxy, '--max-retries', '2'], { KRB5_CONFIG: realm.krb5Config, KRB5CCNAME: realm.emptyCache() });
    assert.equal(await exitCode(client), ExitCode.AuthRejected, client.stderr());
    const err = client.stderr();
    assert.match(err, /requires authentication \(HTTP 407; it offers Negotiate\)/);
    assert.match(err, /no Kerberos ticket is usable for HTTP@localhost/);
    assert.match(err, /run kinit/);
    assert.deepEqual(eventsNamed(client, 'transport_fallback'), []);
  });
});
