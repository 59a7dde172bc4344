/**
 * TLS to the gateway with a private CA made by the suite (real openssl, real HTTPS
 * gateway, real binary): the client must refuse an untrusted certificate with an error
 * that says what to do (--ca-file), trust it with --ca-file, and present a client
 * certificate when the gateway requires one (--tls-client-ca).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../src/gateway/http/auth.js';
import { startSquid, stopAllSquids } from '../helpers/squid.js';
import { makeTlsMaterial, type TlsMaterial } from '../helpers/tls-material.js';
import { connectMcpTls, eventsNamed, exitCode, startTunnel, waitForServerTls, type TestTls } from '../helpers/network-rig.js';
import { firstText, startGateway, stopAll, waitFor } from '../helpers/system.js';

const waitForLog = (pred: () => boolean): Promise<boolean> => waitFor(pred, 'a line in squid access.log', 10_000);

const SECRET = 'networks-tls-secret-0123456789abcdef';

describe('TLS to the gateway with a private CA', () => {
  let dir: string;
  let tls: TlsMaterial;
  let token: string;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-tls-'));
    tls = makeTlsMaterial(dir);
    token = await mintToken({ username: 'tess', secret: SECRET });
  });
  afterEach(async () => {
    await stopAll();
    await stopAllSquids();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const serverArgs = (): string[] => ['--jwt-secret', SECRET, '--tls-cert', tls.serverCert, '--tls-key', tls.serverKey];

  async function echoWorks(gateway: string, testTls: TestTls): Promise<void> {
    const mcp = await connectMcpTls(gateway, token, testTls);
    const res = await mcp.callTool({ name: 'echo', arguments: { message: 'over tls' } });
    assert.equal(firstText(res), 'Echo: over tls');
    await mcp.close();
  }

  test('untrusted server certificate: clear error naming --ca-file, non-zero exit', async () => {
    const gw = await startGateway(serverArgs());
    assert.match(gw.url, /^https:/);
    const client = startTunnel(gw.url, token, ['--max-retries', '1']);
    const code = await exitCode(client);
    assert.notEqual(code, 0, client.stderr());
    assert.match(client.stderr(), /certificate/i);
    assert.match(client.stderr(), /--ca-file/);
    // A certificate problem is not "the network blocks WebSockets".
    assert.deepEqual(eventsNamed(client, 'transport_fallback'), []);
  });

  test('--ca-file: tunnel up over wss, MCP calls work', async () => {
    const gw = await startGateway(serverArgs());
    startTunnel(gw.url, token, ['--ca-file', tls.ca]);
    const entry = await waitForServerTls(gw.url, token, { ca: tls.ca });
    assert.equal(entry.transport, 'ws');
    await echoWorks(gw.url, { ca: tls.ca });
  });

  test('--tls-client-ca on the gateway: works with --cert/--key', async () => {
    const gw = await startGateway([...serverArgs(), '--tls-client-ca', tls.ca]);
    startTunnel(gw.url, token, ['--ca-file', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey]);
    const testTls = { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey };
    const entry = await waitForServerTls(gw.url, token, testTls);
    assert.equal(entry.transport, 'ws');
    await echoWorks(gw.url, testTls);
  });

  test('--tls-client-ca on the gateway: refused without a client certificate, error names --cert', async () => {
    const gw = await startGateway([...serverArgs(), '--tls-client-ca', tls.ca]);
    const client = startTunnel(gw.url, token, ['--ca-file', tls.ca, '--max-retries', '1']);
    const code = await exitCode(client);
    assert.notEqual(code, 0, client.stderr());
    assert.match(client.stderr(), /--cert/);
    assert.deepEqual(eventsNamed(client, 'transport_fallback'), []);
  });

  test('https gateway through an authenticating squid named in HTTPS_PROXY (CONNECT + TLS inside)', async () => {
    const gw = await startGateway(serverArgs());
    const squid = await startSquid({ auth: { user: 'pat', password: 'p@ss' } });
    const client = startTunnel(gw.url, token, ['--ca-file', tls.ca], { HTTPS_PROXY: `http://pat:p%40ss@127.0.0.1:${squid.port}` });
    const entry = await waitForServerTls(gw.url, token, { ca: tls.ca });
    assert.equal(entry.transport, 'ws');
    await echoWorks(gw.url, { ca: tls.ca });
    assert.ok(!client.stderr().includes('p@ss') && !client.stderr().includes('p%40ss'), 'the proxy password is never printed');
    await client.stop();
    assert.ok(
      await waitForLog(() => squid.accessLog().some((l) => l.includes(`CONNECT 127.0.0.1:${gw.port} pat `))),
      'the tunnel went through squid as user pat',
    );
  });
});
