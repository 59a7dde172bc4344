/**
 * PAC files with real parts: the test serves proxy.pac over HTTP on loopback; the PAC
 * file sends the gateway first to a proxy that does not answer (a closed port), then to
 * a real squid. The tunnel must come up through the live squid (its access.log shows the
 * CONNECT), say once which route the PAC file chose, and carry MCP calls.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../src/gateway/http/auth.js';
import { freePort } from '../helpers/daemon.js';
import { pacScript, servePac, type PacServer } from '../helpers/pac-server.js';
import { startSquid, stopAllSquids } from '../helpers/squid.js';
import { CHATTY_NAME, eventsNamed, serverUp, startTunnel } from '../helpers/network-rig.js';
import { connectMcp, firstText, startGateway, stopAll, waitFor } from '../helpers/system.js';

const SECRET = 'pac-secret-0123456789abcdef-0123';

describe('PAC file (served over HTTP, real squid)', () => {
  const pacs: PacServer[] = [];
  afterEach(async () => {
    await Promise.all([stopAll(), stopAllSquids(), ...pacs.splice(0).map((p) => p.close())]);
  });

  test('"PROXY dead; PROXY squid; DIRECT": fails over to the live squid, logs the choice once, calls work', async () => {
    const token = await mintToken({ username: 'pat', secret: SECRET });
    const gw = await startGateway(['--jwt-secret', SECRET]);
    const squid = await startSquid({ connect: true });
    const dead = await freePort();
    const pac = await servePac(pacScript('127.0.0.1', `PROXY 127.0.0.1:${dead}; PROXY 127.0.0.1:${squid.port}; DIRECT`));
    pacs.push(pac);
    const client = startTunnel(gw.url, token, [], { REVERSE_PROXY_PROXY_PAC: pac.url });
    assert.equal((await serverUp(gw.url, token, client)).transport, 'ws');
    const mcp = await connectMcp(gw.url, CHATTY_NAME, token);
    for (const m of ['one', 'two']) assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: m } })), `Echo: ${m}`);
    await mcp.close();

    const failover = eventsNamed(client, 'pac_failover');
    assert.ok(failover.length >= 1, 'the dead proxy was tried and left');
    assert.match(String(failover[0]!.msg), new RegExp(`127\\.0\\.0\\.1:${dead} is unreachable.*next entry, PROXY 127\\.0\\.0\\.1:${squid.port}`));
    const chosen = eventsNamed(client, 'pac_route');
    assert.equal(chosen.length, 1, 'the route is logged once');
    assert.equal(chosen[0]!.msg, `PAC chose PROXY 127.0.0.1:${squid.port} for 127.0.0.1:${gw.port}`);
    assert.equal(pac.fetches(), 1, 'the PAC file is cached');
    await client.stop();
    await waitFor(() => squid.accessLog().some((l) => l.includes(`CONNECT 127.0.0.1:${gw.port}`)), 'the CONNECT in squid access.log', 10_000);
  });

  test('--proxy wins over --proxy-pac (and the PAC file is not even fetched)', async () => {
    const token = await mintToken({ username: 'pat', secret: SECRET });
    const gw = await startGateway(['--jwt-secret', SECRET]);
    const squid = await startSquid({ connect: true });
    const pac = await servePac(pacScript('127.0.0.1', `PROXY 127.0.0.1:${await freePort()}`));
    pacs.push(pac);
    const client = startTunnel(gw.url, token, ['--proxy', squid.url, '--proxy-pac', pac.url]);
    assert.equal((await serverUp(gw.url, token, client)).transport, 'ws');
    assert.equal(pac.fetches(), 0);
    assert.deepEqual(eventsNamed(client, 'pac_route'), []);
  });
});
