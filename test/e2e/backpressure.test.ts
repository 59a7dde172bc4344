/**
 * Backpressure end to end with the real binaries (docs/delivery.md "Within which bounds"):
 * - a child that floods notifications while the gateway stops reading (SIGSTOP): the
 *   client's memory stays within its queue bound, the child is stopped by its own blocked
 *   writes, and once the gateway reads again every notification arrives, in order;
 * - a child that stops reading its stdin: the client does not buffer the gateway's
 *   requests without bound, and MCP clients get -32002 from the gateway instead of silence;
 *   with a gateway queue larger than the client's, what the client could not hold is
 *   fetched again (by resuming the session) once the child reads again.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoggingMessageNotificationSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { mintToken } from '../../src/gateway/http/auth.js';
import { MiB, RssPeak } from '../helpers/memory.js';
import { connectMcp, firstText, fixture, spawnBin, startGateway, stopAll, waitFor, waitForServer, type GatewayProc, type Proc } from '../helpers/system.js';

const SECRET = 'backpressure-secret-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'mrp-backpressure-'));

async function start(gatewayArgs: string[], clientArgs: string[], report?: string, transport = 'ws'): Promise<{ gw: GatewayProc; client: Proc; token: string }> {
  const token = await mintToken({ username: 'dana', secret: SECRET });
  const gw = await startGateway(['--jwt-secret', SECRET, ...gatewayArgs]);
  const server = `node ${fixture('flood-server.mjs')}${report ? ` --report ${report}` : ''}`;
  const client = spawnBin(['--local-stdio', server, '--gateway', gw.url, '--name', 'flood', '--transport', transport, ...clientArgs], {
    REVERSE_PROXY_TOKEN: token,
  });
  await waitForServer(gw.url, token, 'flood');
  return { gw, client, token };
}

describe('backpressure with real processes', () => {
  afterEach(async () => {
    await stopAll();
  });

  test('a flooding child and a gateway that stops reading: bounded client, blocked child, nothing lost', { timeout: 170_000 }, async () => {
    const QUEUE = 128 * MiB;
    const PAD = 16_000;
    const COUNT = 12_000; // ~190 MB of notifications: more than the queue and every socket buffer on the way
    const report = join(dir, 'written');
    // The gateway may hold all of it for its (reading) MCP client: its own bound is not under test here.
    const { gw, client, token } = await start(['--max-queue-bytes', '512MiB'], ['--max-queue-bytes', String(QUEUE), '--keepalive', '120'], report);
    const mcp = await connectMcp(gw.url, 'flood', token);
    const seen: number[] = [];
    mcp.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      seen.push((n.params.data as { n: number }).n);
    });
    const written = (): number => Number(readFileSync(report, 'utf8'));
    const rss = new RssPeak(client.proc.pid!);
    const baseline = rss.peak;

    const call = mcp.callTool({ name: 'flood', arguments: { count: COUNT, pad: PAD } }, undefined, { timeout: 160_000 });
    await waitFor(() => seen.length > 0, 'the flood to reach the MCP client');
    process.kill(gw.proc.pid!, 'SIGSTOP');
    let paused: number;
    try {
      // The tunnel backs up into the client's outbox; when it is full the client stops reading the child.
      await waitFor(() => rss.sample() && /"event":"queue_full"/.test(client.stderr()), 'the client to pause the child', 60_000);
      paused = written();
      // Watch for a while: the child stays blocked in write(), the client does not grow.
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 50));
        rss.sample();
      }
      const later = written();
      // Reports come every 64 messages, and the stdout pipe still takes a few after the pause.
      assert.ok(later - paused <= 128, `the child kept writing while paused (${paused} → ${later})`);
      const inFlight = (later - seen.length) * PAD;
      assert.ok(inFlight <= QUEUE + 64 * MiB, `${(inFlight / MiB).toFixed(0)} MiB written but not delivered: more than the queue and socket buffers`);
      const grown = rss.peak - baseline;
      assert.ok(grown < QUEUE * 2, `client RSS grew by ${(grown / MiB).toFixed(0)} MiB with a ${QUEUE / MiB} MiB queue`);
    } finally {
      process.kill(gw.proc.pid!, 'SIGCONT');
    }

    assert.equal(firstText(await call), `flooded ${COUNT}`);
    await waitFor(() => seen.length >= COUNT, 'every notification', 120_000);
    assert.equal(seen.length, COUNT);
    assert.ok(seen.every((n, i) => n === i + 1), 'notifications arrived in order, each once');
    await mcp.close();
    assert.equal((await client.stop()).code, 0);
  });

  for (const transport of ['ws', 'sse', 'poll']) {
    test(`a child that stops reading stdin (${transport}): the client stays bounded and MCP clients get -32002`, { timeout: 120_000 }, async () => {
      const GATEWAY_QUEUE = 4 * MiB;
      const MESSAGE = 256 * 1024;
      const CALLS = 256; // 64 MiB of requests
      const { gw, client, token } = await start(['--max-queue-bytes', String(GATEWAY_QUEUE)], [], undefined, transport);
      const mcp = await connectMcp(gw.url, 'flood', token);
      assert.equal(firstText(await mcp.callTool({ name: 'deafen', arguments: {} })), 'deaf');
      const rss = new RssPeak(client.proc.pid!);
      const baseline = rss.peak;

      const message = 'm'.repeat(MESSAGE);
      const saturated: number[] = [];
      const otherErrors: string[] = [];
      for (let i = 0; i < CALLS; i++) {
        mcp.callTool({ name: 'echo', arguments: { message } }, undefined, { timeout: 110_000 }).then(
          () => otherErrors.push(`call ${i} was answered by a deaf server`),
          (err: unknown) => {
            if (err instanceof McpError && err.code === -32002) saturated.push(i);
            else otherErrors.push(String(err));
          },
        );
      }
      // What fits in the gateway's queue waits there (the client does not acknowledge what it
      // cannot deliver); everything else is refused at once.
      const fits = GATEWAY_QUEUE / MESSAGE + 2;
      await waitFor(() => rss.sample() && saturated.length >= CALLS - fits, `-32002 for all but ${fits} calls`, 90_000);
      rss.sample();
      assert.deepEqual(otherErrors.filter((e) => !/closed/i.test(e)), []);
      const grown = rss.peak - baseline;
      assert.ok(grown < 64 * MiB, `client RSS grew by ${(grown / MiB).toFixed(0)} MiB for ${(CALLS * MESSAGE) / MiB} MiB of requests`);
      // Still saturated, and still saying so: refused for saturation, not lost.
      const again = await mcp.callTool({ name: 'echo', arguments: { message } }).catch((e: unknown) => e);
      assert.ok(again instanceof McpError && again.code === -32002, String(again));
      await mcp.close();
      await client.stop();
    });
  }

  test("a gateway queue larger than the client's: what the client cannot hold is fetched again later", { timeout: 120_000 }, async () => {
    const MESSAGE = 256 * 1024;
    const CALLS = 16; // 4 MiB: fits the gateway's queue, not the client's
    const { gw, client, token } = await start(['--max-queue-bytes', '8MiB'], ['--max-queue-bytes', '1MiB', '--reconnect-delay', '0.05']);
    const mcp = await connectMcp(gw.url, 'flood', token);
    const childPid = Number(firstText(await mcp.callTool({ name: 'pid', arguments: {} })));
    assert.equal(firstText(await mcp.callTool({ name: 'deafen', arguments: {} })), 'deaf');

    const calls = Array.from({ length: CALLS }, (_, i) => {
      const message = `${i}:${'m'.repeat(MESSAGE)}`;
      return mcp.callTool({ name: 'echo', arguments: { message } }, undefined, { timeout: 110_000 }).then((r) => firstText(r) === `Echo: ${message}`);
    });
    await waitFor(() => /"event":"held_overflow"/.test(client.stderr()), 'the client to drop what it cannot hold', 60_000);
    process.kill(childPid, 'SIGUSR1'); // the child reads again
    assert.deepEqual(await Promise.all(calls), Array(CALLS).fill(true), 'every call answered with its own echo');
    const resumes = client.stderr().split('\n').filter((l) => /"event":"connected"/.test(l) && /"resumed":true/.test(l));
    assert.ok(resumes.length >= 1, 'the session was resumed to fetch the dropped frames');
    await mcp.close();
    await client.stop();
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
