/**
 * A TLS-inspecting proxy with real parts: squid (Debian's squid-openssl) with `ssl_bump`
 * re-signing every CONNECT with a "corporate" CA made by the test, in front of an https
 * gateway with its own CA (squid trusts that one upstream). With the inspection CA
 * (`--ca-file` or NODE_EXTRA_CA_CERTS) the tunnel works over whatever the bump lets
 * through: squid drops WebSocket upgrades inside bumped TLS by default, so the client
 * falls back to SSE and says why; without the CA the error names the intercepting issuer
 * and --ca-file.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../../src/gateway/http/auth.js';
import { startSquid, stopAllSquids, type SquidScenario } from '../helpers/squid.js';
import { makeTlsMaterial, type TlsMaterial } from '../helpers/tls-material.js';
import { connectMcpTls, eventsNamed, exitCode, logDigest, startTunnel, waitForServerTls } from '../helpers/network-rig.js';
import { firstText, startGateway, stopAll, waitFor } from '../helpers/system.js';

const SECRET = 'tls-inspection-secret-0123456789ab';
const INSPECTION_CA = 'Corp TLS Inspection CA';

describe('TLS-inspecting proxy (squid ssl_bump with a corporate CA)', () => {
  let dir: string;
  let gwTls: TlsMaterial;
  let corp: TlsMaterial;
  let token: string;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-bump-'));
    mkdirSync(path.join(dir, 'gw'));
    mkdirSync(path.join(dir, 'corp'));
    gwTls = makeTlsMaterial(path.join(dir, 'gw'));
    corp = makeTlsMaterial(path.join(dir, 'corp'), INSPECTION_CA);
    // squid reads its CA key and the upstream CA as user proxy.
    chmodSync(dir, 0o755);
    for (const sub of ['gw', 'corp']) {
      chmodSync(path.join(dir, sub), 0o755);
      for (const f of readdirSync(path.join(dir, sub))) chmodSync(path.join(dir, sub, f), 0o644);
    }
    token = await mintToken({ username: 'ines', secret: SECRET });
  });
  afterEach(() => Promise.all([stopAll(), stopAllSquids()]));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const bump = (websocket = false): SquidScenario => ({ bump: { caCert: corp.caCert, caKey: corp.caKey, upstreamCa: gwTls.ca, websocket } });
  const gateway = (): ReturnType<typeof startGateway> => startGateway(['--jwt-secret', SECRET, '--tls-cert', gwTls.serverCert, '--tls-key', gwTls.serverKey]);

  async function echoWorks(gwUrl: string): Promise<void> {
    const mcp = await connectMcpTls(gwUrl, token, { ca: gwTls.ca });
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'inspected' } })), 'Echo: inspected');
    await mcp.close();
  }

  test('--ca-file with the inspection CA: upgrade dropped inside the bump → falls back to SSE and says why; calls work through squid', async () => {
    const gw = await gateway();
    const squid = await startSquid(bump());
    const client = startTunnel(gw.url, token, ['--proxy', squid.url, '--ca-file', corp.ca]);
    const entry = await waitForServerTls(gw.url, token, { ca: gwTls.ca }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logDigest(client)}`);
    });
    assert.equal(entry.transport, 'sse', logDigest(client));
    await echoWorks(gw.url);
    const fallback = eventsNamed(client, 'transport_fallback')[0];
    assert.equal(`${String(fallback?.from)}→${String(fallback?.to)}`, 'ws→sse');
    assert.match(String(fallback?.reason), /Upgrade/, 'the fallback says the upgrade was stripped');
    // Bumped requests appear in squid's log with their https:// URL: squid saw inside the TLS.
    await waitFor(() => squid.accessLog().some((l) => l.includes(`https://127.0.0.1:${gw.port}/reverse-proxy/`)), 'a bumped request in access.log', 10_000);
  });

  test('squid passing upgrades inside the bump: WebSocket works with NODE_EXTRA_CA_CERTS', async () => {
    const gw = await gateway();
    const squid = await startSquid(bump(true));
    const client = startTunnel(gw.url, token, ['--proxy', squid.url], { NODE_EXTRA_CA_CERTS: corp.ca });
    const entry = await waitForServerTls(gw.url, token, { ca: gwTls.ca }).catch((err: Error) => {
      throw new Error(`${err.message}\n${logDigest(client)}`);
    });
    assert.equal(entry.transport, 'ws', logDigest(client));
    await echoWorks(gw.url);
  });

  test('without the inspection CA: non-zero exit, the error names the intercepting issuer and --ca-file, no fallback', async () => {
    const gw = await gateway();
    const squid = await startSquid(bump());
    const client = startTunnel(gw.url, token, ['--proxy', squid.url, '--max-retries', '1']);
    const code = await exitCode(client);
    assert.notEqual(code, 0, client.stderr());
    const err = client.stderr();
    assert.ok(err.includes(`"${INSPECTION_CA}"`), `the issuer is named: ${err.slice(-600)}`);
    assert.match(err, /--ca-file/);
    assert.match(err, /inspects TLS/);
    assert.deepEqual(eventsNamed(client, 'transport_fallback'), [], 'a certificate problem is not a reason to try another transport');
  });
});
