/**
 * One client process, several servers from one config file (`servers:`): each has its own
 * child and tunnel; one crashing does not take the others down; the process exits once all
 * have stopped, with the highest status.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '../../src/gateway/http/auth.js';
import { connectMcp, firstText, fixture, listServers, spawnBin, startGateway, stopAll, waitFor, waitForServer, type GatewayProc } from '../helpers/system.js';

const SECRET = 'ops-multi-secret-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'mrp-multi-'));

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('multi-server config: two servers in one process', () => {
  let gw: GatewayProc;
  let token: string;

  before(async () => {
    token = await mintToken({ username: 'alice', secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET]);
  });
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the crashing server stops; the other keeps serving MCP calls; SIGTERM exits 0', async () => {
    const cfg = configFile(
      'servers.yaml',
      [
        `gateway: ${gw.url}`,
        'keepalive: 5',
        'servers:',
        '  - name: steady',
        `    command: node ${fixture('echo-server.mjs')}`,
        '  - name: crashy',
        `    command: node ${fixture('crash-server.mjs')}`,
        '    reconnect_delay: 0.5',
        '',
      ].join('\n'),
    );
    // The token comes from the environment: a default for every entry.
    const client = spawnBin(['--config', cfg], { REVERSE_PROXY_TOKEN: token });
    await waitForServer(gw.url, token, 'steady');
    await waitForServer(gw.url, token, 'crashy');

    const crashy = await connectMcp(gw.url, 'crashy', token, 'crash-caller');
    await assert.rejects(crashy.callTool({ name: 'crash', arguments: {} }), 'the call the crash swallowed gets an error');
    await crashy.close().catch(() => undefined);
    await waitFor(() => /\[crashy\] local MCP server exited \(code 3\)/.test(client.stderr()), 'the crash to be reported');
    await waitFor(async () => !(await listServers(gw.url, token)).some((s) => s.name === 'crashy'), 'crashy to leave the catalog');

    const steady = await connectMcp(gw.url, 'steady', token);
    for (let i = 0; i < 5; i++) {
      assert.equal(firstText(await steady.callTool({ name: 'echo', arguments: { message: `still here ${i}` } })), `Echo: still here ${i}`);
    }
    await steady.close();
    assert.equal(client.proc.exitCode, null, 'the process keeps running for the other server');
    const { code } = await client.stop('SIGTERM');
    assert.equal(code, 0, 'stopped by a signal: status 0');
  });

  test('when every server has failed the process exits with the highest status', async () => {
    const cfg = configFile(
      'all-fail.json',
      JSON.stringify({
        gateway: gw.url,
        servers: [
          { name: 'gone', command: `node ${fixture('crash-server.mjs')} --exit-after-ms 200` },
          { name: 'rejected', command: `node ${fixture('echo-server.mjs')}`, token: 'not-a-valid-token' },
        ],
      }),
    );
    const client = spawnBin(['--config', cfg], { REVERSE_PROXY_TOKEN: token });
    const { code } = await client.exited;
    // 5 (local server exited) beats 3 (token rejected).
    assert.equal(code, 5, client.stderr());
    assert.match(client.stderr(), /\[rejected\] gateway rejected the token/);
    assert.match(client.stderr(), /\[gone\] local MCP server/);
    assert.ok(!client.stderr().includes('not-a-valid-token'), 'the token is never logged');
  });
});
