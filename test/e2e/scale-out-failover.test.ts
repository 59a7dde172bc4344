/**
 * Failover (docs/scale-out.md, "Failover"): kill -9 the replica that holds a tunnel while
 * MCP clients call through the balancer. The tunnel client resumes its session on another
 * replica; every call in flight gets its own answer or an error (never a hang, never
 * another call's answer); later calls work; no call reaches the server twice.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectMcp, firstText, fixture, stopAll } from '../helpers/system.js';
import { startScaleOut, stopScaleOut, tunnelThrough, waitConnected, type ScaleOutRig } from '../helpers/scale-out.js';

/** Bounded: a call that neither answers nor fails within this is a hang. */
const CALL_BOUND_MS = 40_000;

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`HANG: ${what}`)), CALL_BOUND_MS).unref())]);
}

describe('scale-out failover', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await stopScaleOut();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  after(stopAll);

  for (const transport of ['ws', 'sse', 'poll'] as const) {
    test(`kill -9 the replica holding a ${transport} tunnel under load: the session resumes elsewhere, calls answered or failed (never hung), nothing run twice`, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-ledger-'));
      dirs.push(dir);
      const ledger = path.join(dir, 'ledger.txt');
      writeFileSync(ledger, '');
      const rig: ScaleOutRig = await startScaleOut(3, ['--resume-window', '60']);
      const client = tunnelThrough(rig, `node ${fixture('ledger-server.mjs')} --ledger ${ledger}`, 'ledger', transport, ['--keepalive', '2']);
      const [before] = await waitConnected(rig, ['ledger']);
      const victim = rig.replicas.find((r) => r.id === before!.replica)!;
      assert.ok(victim, `the owner ${before!.replica} is one of ours`);

      const mcps: Client[] = await Promise.all([0, 1, 2, 3].map((i) => connectMcp(rig.lb.url, 'ledger', rig.token, `fo${i}`)));
      const pid0 = firstText(await mcps[0]!.callTool({ name: 'pid', arguments: {} }));
      let killed = false;
      const outcomes = { answered: 0, failed: 0 };
      const work = Promise.all(
        mcps.map(async (_m, i) => {
          for (let k = 0; k < 60; k++) {
            const message = `c${i}-k${k}`;
            if (k === 15 && i === 0) {
              victim.proc.kill('SIGKILL');
              killed = true;
            }
            try {
              const res = await bounded(mcps[i]!.callTool({ name: 'record', arguments: { message } }, undefined, { timeout: CALL_BOUND_MS }), message);
              assert.equal(firstText(res), `Recorded: ${message}`, 'a call got its own answer, never another one');
              outcomes.answered++;
            } catch (err) {
              assert.doesNotMatch(String(err), /HANG/);
              outcomes.failed++;
            }
          }
        }),
      );
      await work;
      assert.ok(killed);
      // The tunnel resumed its session (same id) on a live replica, the child never restarted.
      const [afterKill] = await waitConnected(rig, ['ledger'], (e) => e.replica !== victim.id);
      assert.equal(afterKill!.sessionId, before!.sessionId, 'the session was resumed, not registered anew');
      assert.match(client.stderr(), /"resumed":true/);
      // The same MCP sessions go on (taken up from Redis by the new owner), and new ones open.
      for (const [i, m] of mcps.entries()) {
        for (let k = 0; k < 5; k++) assert.equal(firstText(await m.callTool({ name: 'record', arguments: { message: `after-c${i}-${k}` } })), `Recorded: after-c${i}-${k}`);
      }
      const again = await connectMcp(rig.lb.url, 'ledger', rig.token, 'after');
      assert.equal(firstText(await again.callTool({ name: 'pid', arguments: {} })), pid0);
      // Nothing reached the server twice.
      const lines = readFileSync(ledger, 'utf8').split('\n').filter(Boolean);
      const seen = new Set<string>();
      const twice = lines.filter((l) => (seen.has(l) ? true : (seen.add(l), false)));
      assert.deepEqual(twice, []);
      assert.ok(outcomes.answered >= 200, `most calls answered (${JSON.stringify(outcomes)})`);
      await again.close();
    });
  }

  test('a rolling upgrade: SIGTERM the replica holding the tunnel; it hands the session on and the client resumes it on another replica', async () => {
    const rig = await startScaleOut(2, ['--resume-window', '60']);
    const client = tunnelThrough(rig, `node ${fixture('ledger-server.mjs')}`, 'rolling', 'ws', ['--keepalive', '2']);
    const [before] = await waitConnected(rig, ['rolling']);
    const leaving = rig.replicas.find((r) => r.id === before!.replica)!;
    const mcp = await connectMcp(rig.lb.url, 'rolling', rig.token, 'rolling-client');
    const pid0 = firstText(await mcp.callTool({ name: 'pid', arguments: {} }));
    const stopped = await leaving.stop('SIGTERM');
    assert.equal(stopped.code, 0, 'the replica shut down cleanly');
    const [afterStop] = await waitConnected(rig, ['rolling'], (e) => e.replica !== leaving.id);
    assert.equal(afterStop!.sessionId, before!.sessionId, 'the same session, resumed');
    assert.equal(client.stderr().match(/"resumed":false/g)?.length, 1, 'registered once, never started over');
    // The same MCP session goes on, against the same child.
    assert.equal(firstText(await mcp.callTool({ name: 'pid', arguments: {} })), pid0);
    assert.equal(firstText(await mcp.callTool({ name: 'record', arguments: { message: 'after' } })), 'Recorded: after');
    await mcp.close();
  });
});
