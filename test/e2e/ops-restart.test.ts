/**
 * --restart: the local server crashes, the client restarts it without leaving the tunnel
 * session, and the gateway answers calls with JSON-RPC errors while it is down (never
 * silence). The crash fixture's --hold-while file keeps the restarted server from answering
 * initialize for as long as the test needs, so "while down" is a state, not a time window.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectMcp, EVERYTHING, firstText, fixture, listServers, restartGateway, spawnBin, startGateway, stopAll, waitFor, waitForServer, type GatewayProc, type Proc } from '../helpers/system.js';

type Entry = { name: string; sessionId: string; available?: boolean };

function rpcCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

describe('--restart on-failure with a crashing local server', () => {
  let gw: GatewayProc;
  let client: Proc;
  const dir = mkdtempSync(join(tmpdir(), 'mrp-restart-'));
  const hold = join(dir, 'hold');

  before(async () => {
    gw = await startGateway(['--no-auth']);
    client = spawnBin([
      '--local-stdio', `node ${fixture('crash-server.mjs')} --hold-while ${hold}`,
      '--gateway', gw.url, '--name', 'crashy', '--restart', 'on-failure', '--log-level', 'DEBUG',
    ]);
    await waitForServer(gw.url, undefined, 'crashy');
  });
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('crash → error for the owed call, -32001 while down, calls work after the restart, same session', async () => {
    const before = (await listServers(gw.url)).find((s) => s.name === 'crashy')!;
    const mcp = await connectMcp(gw.url, 'crashy');
    assert.deepEqual((await mcp.listTools()).tools.map((t) => t.name), ['crash']);

    writeFileSync(hold, ''); // the restarted child will not answer initialize until this goes
    await assert.rejects(mcp.callTool({ name: 'crash', arguments: {} }), (err: unknown) => {
      assert.equal(rpcCode(err), -32001, String(err));
      assert.match(String(err), /local server restarting/);
      return true;
    });

    const down = await waitFor(
      async () => ((await listServers(gw.url)) as Entry[]).find((s) => s.name === 'crashy' && s.available === false),
      'the gateway to report crashy unavailable',
    );
    assert.equal(down.sessionId, before.sessionId, 'the tunnel session stays while the child restarts');
    await assert.rejects(mcp.listTools(), (err: unknown) => {
      assert.equal(rpcCode(err), -32001, String(err));
      assert.match(String(err), /local server restarting/);
      return true;
    });

    rmSync(hold);
    const up = await waitForServer(gw.url, undefined, 'crashy', (s) => (s as Entry).available === true);
    assert.equal(up.sessionId, before.sessionId, 'no reconnect: same tunnel session');
    assert.deepEqual((await mcp.listTools()).tools.map((t) => t.name), ['crash'], 'the restarted server answers');
    // A brand-new MCP client initializes against the restarted server, too.
    const fresh = await connectMcp(gw.url, 'crashy', undefined, 'fresh');
    assert.equal(fresh.getServerVersion()?.name, 'crash-server');
    await Promise.all([mcp.close(), fresh.close()]);
    assert.match(client.stderr(), /child_restarted/);
    assert.equal(client.proc.exitCode, null, 'the client is still running');
  });

  test('server-everything killed: restarted, connected MCP clients hear tools/list_changed and call again', async () => {
    const c = spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', 'everything', '--restart', 'on-failure']);
    const before = await waitForServer(gw.url, undefined, 'everything');
    const mcp = await connectMcp(gw.url, 'everything');
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'one' } })), 'Echo: one');
    let changed = 0;
    mcp.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    const child = Number(execFileSync('pgrep', ['-P', String(c.proc.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    assert.ok(child > 0, 'the local server is a child of the client');
    process.kill(child, 'SIGKILL');
    await waitFor(() => changed > 0, 'notifications/tools/list_changed after the restart');
    const after = await waitForServer(gw.url, undefined, 'everything', (s) => (s as Entry).available === true);
    assert.equal(after.sessionId, before.sessionId);
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'two' } })), 'Echo: two');
    await mcp.close();
    assert.equal(c.proc.exitCode, null);
  });

  test('a reconnect while the child is down: the new gateway session hears server_status again', async () => {
    const gw2 = await startGateway(['--no-auth']);
    const hold2 = join(dir, 'hold2');
    const c = spawnBin([
      '--local-stdio', `node ${fixture('crash-server.mjs')} --hold-while ${hold2}`,
      '--gateway', gw2.url, '--name', 'reconnecting', '--restart', 'on-failure', '--reconnect-delay', '0.1',
    ]);
    await waitForServer(gw2.url, undefined, 'reconnecting');
    writeFileSync(hold2, '');
    const mcp = await connectMcp(gw2.url, 'reconnecting');
    await assert.rejects(mcp.callTool({ name: 'crash', arguments: {} }));
    await waitFor(async () => ((await listServers(gw2.url)) as Entry[]).some((s) => s.name === 'reconnecting' && s.available === false), 'down on the first gateway');
    // The gateway dies; a new one on the same port knows nothing: the client registers a fresh
    // session (whose register says "available") and must then say the child is down.
    await mcp.close().catch(() => undefined);
    await gw2.stop('SIGKILL');
    const gw3 = await restartGateway(gw2.port, ['--no-auth']);
    const fresh = await waitFor(
      async () => ((await listServers(gw3.url)) as Entry[]).find((s) => s.name === 'reconnecting' && s.available === false),
      'the new gateway to report the server unavailable',
    );
    const mcp3 = await connectMcp(gw3.url, 'reconnecting', undefined, 'after-reconnect');
    await assert.rejects(mcp3.listTools(), /local server restarting/);
    rmSync(hold2);
    const up = await waitForServer(gw3.url, undefined, 'reconnecting', (s) => (s as Entry).available === true);
    assert.equal(up.sessionId, fresh.sessionId, 'same (fresh) session, no further reconnect');
    assert.deepEqual((await mcp3.listTools()).tools.map((t) => t.name), ['crash']);
    await mcp3.close();
    assert.equal(c.proc.exitCode, null);
  });

  test('the restart budget ends it: after --restart-max restarts the client exits with status 5', async () => {
    const c = spawnBin([
      '--local-stdio', `node ${fixture('crash-server.mjs')}`,
      '--gateway', gw.url, '--name', 'budget', '--restart', 'always', '--restart-max', '2', '--restart-window', '600',
    ]);
    await waitForServer(gw.url, undefined, 'budget');
    // Each tools/call kills the current child; the third crash exceeds the budget of 2. A call
    // may also land while the gateway still thinks the server is up and get -32001 instead of
    // crashing it, hence "until it exits" (bounded) rather than exactly three calls.
    for (let i = 0; i < 12; i++) {
      const state = await waitFor(
        async () =>
          c.proc.exitCode !== null
            ? 'exited'
            : ((await listServers(gw.url)) as Entry[]).some((s) => s.name === 'budget' && s.available === true)
              ? 'up'
              : undefined,
        'budget to be available or to exit',
      );
      if (state === 'exited') break;
      const mcp = await connectMcp(gw.url, 'budget', undefined, `b${i}`).catch(() => undefined);
      await mcp?.callTool({ name: 'crash', arguments: {} }).then(
        () => assert.fail('crash must not answer'),
        () => undefined,
      );
      await mcp?.close();
    }
    const { code } = await c.exited;
    assert.equal(code, 5, c.stderr());
    assert.match(c.stderr(), /restart budget used up \(2 restarts within 600 s\)/);
  });
});
