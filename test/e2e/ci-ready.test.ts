/**
 * What a CI job does (docs/ci.md), with the real binary as gateway and client: the token
 * from a file (not argv, not the environment), the client in the background, wait for the
 * ready file, point an MCP client at the endpoint it names, stop the client, the file is
 * gone. The local server reports its environment, so the test sees that the token never
 * reached it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '../../src/gateway/http/auth.js';
import { connectMcp, firstText, fixture, listServers, spawnBin, startGateway, stopAll, waitFor, type GatewayProc } from '../helpers/system.js';

const SECRET = 'e2e-ci-secret-0123456789abcdef';

interface ReadyContent {
  pid: number;
  servers: Array<{ name: string; endpoint: string; sessionId: string; transport: string }>;
}

describe('CI: --token-file and --ready-file', () => {
  let gw: GatewayProc;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), 'ci-ready-'));

  before(async () => {
    token = await mintToken({ username: 'ci', secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET]);
  });
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the ready file names a working endpoint; the token stays out of argv, logs and the child; the file goes on exit', async () => {
    const tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, `${token}\n`, { mode: 0o600 });
    const readyPath = join(dir, 'tunnel.json');
    writeFileSync(readyPath, '{"pid":1,"servers":[]}', 'utf8'); // left by an earlier run
    const client = spawnBin([
      '--local-stdio',
      `node ${fixture('env-server.mjs')}`,
      '--gateway',
      gw.url,
      '--name',
      'ci-env',
      '--token-file',
      tokenPath,
      '--ready-file',
      readyPath,
    ]);

    const ready = await waitFor(() => {
      if (client.proc.exitCode !== null) throw new Error(`client exited: ${client.stderr()}`);
      if (!existsSync(readyPath)) return undefined;
      const content = JSON.parse(readFileSync(readyPath, 'utf8')) as ReadyContent;
      return content.pid === client.proc.pid ? content : undefined;
    }, 'the ready file of this run');
    assert.equal(ready.servers.length, 1);
    const entry = ready.servers[0]!;
    assert.equal(entry.name, 'ci-env');
    assert.equal(entry.endpoint, `${gw.url}/servers/ci-env/mcp`);
    const listed = (await listServers(gw.url, token)).find((s) => s.name === 'ci-env');
    assert.equal(entry.sessionId, listed?.sessionId);
    assert.equal(entry.transport, listed?.transport);

    // The endpoint URL from the file works for an MCP client.
    assert.ok(entry.endpoint.startsWith(gw.url));
    const mcp = await connectMcp(gw.url, entry.name, token);
    const env = JSON.parse(firstText(await mcp.callTool({ name: 'get_env', arguments: {} }))) as Record<string, string>;
    await mcp.close();
    assert.ok(!Object.values(env).some((v) => v.includes(token)), 'the token reached the local server');
    assert.ok(!Object.keys(env).some((k) => /^REVERSE_PROXY_/i.test(k)));

    // INFO lines: the endpoint, once; never the token.
    const log = client.stderr();
    assert.equal(log.split(`MCP endpoint: ${entry.endpoint}`).length - 1, 1);
    assert.match(log, /"event":"proxy_source"/);
    assert.ok(!log.includes(token), 'token in the log');
    assert.ok(!readFileSync(readyPath, 'utf8').includes(token), 'token in the ready file');

    const exit = await client.stop('SIGTERM');
    assert.equal(exit.code, 0);
    assert.equal(existsSync(readyPath), false, 'ready file removed on exit');
  });

  test('a bad token file stops the client at start with exit status 2 and no ready file', async () => {
    const readyPath = join(dir, 'never.json');
    const client = spawnBin(['--local-stdio', `node ${fixture('env-server.mjs')}`, '--gateway', gw.url, '--token-file', join(dir, 'missing'), '--ready-file', readyPath]);
    const exit = await client.exited;
    assert.equal(exit.code, 2);
    assert.match(client.stderr(), /cannot read token file .*missing \(from --token-file\): ENOENT/);
    assert.equal(existsSync(readyPath), false);
  });
});
