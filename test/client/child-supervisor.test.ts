/** ChildSupervisor with real child processes (fixtures/crash-server.mjs, echo-server.mjs). */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from 'shell-quote';
import { ChildSupervisor } from '../../src/client/child-supervisor.js';
import type { RestartPolicy } from '../../src/client/restart-policy.js';
import { LocalServerError } from '../../src/errors.js';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.js';
import { silentLogger } from '../../src/observability/logger.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const fixture = (name: string, ...args: string[]) => quote([process.execPath, join(FIXTURES, name), ...args]);
const supervisors: ChildSupervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
});

function supervisor(command: string, policy: Partial<RestartPolicy> = {}): ChildSupervisor {
  const s = new ChildSupervisor({
    server: { command, maxLineBytes: 1024 * 1024, initTimeoutMs: 20_000, stopGraceMs: 200 },
    policy: { mode: 'on-failure', maxRestarts: 3, windowMs: 60_000, baseDelayMs: 10, capMs: 100, ...policy },
    logger: silentLogger,
  });
  supervisors.push(s);
  return s;
}

const crashCall: JsonRpcMessage = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'crash' } };

describe('ChildSupervisor', () => {
  it('on-failure: a crashed child is replaced by a fresh, initialized one', async () => {
    const s = supervisor(fixture('crash-server.mjs'));
    const init = await s.start();
    assert.equal(init.serverInfo.name, 'crash-server');
    const firstPid = s.pid;
    const down = once(s, 'down');
    const up = once(s, 'up');
    assert.equal(s.send(crashCall), true);
    const [d] = (await down) as [{ exit: { code: number }; reason: string; attempt: number }];
    assert.equal(d.exit.code, 3);
    assert.equal(d.attempt, 1);
    assert.match(d.reason, /exited \(code 3\)/);
    assert.equal(s.available, false);
    assert.equal(s.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), false, 'nothing is sent to a dead child');
    const [u] = (await up) as [{ restarts: number }];
    assert.equal(u.restarts, 1);
    assert.equal(s.available, true);
    assert.notEqual(s.pid, firstPid);

    const answer = new Promise<JsonRpcMessage>((resolve) => s.once('message', resolve));
    s.send({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    assert.deepEqual((await answer as { id: number }).id, 3, 'the new child answers');
  });

  it('never: the exit fails the supervisor with the exit status', async () => {
    const s = supervisor(fixture('crash-server.mjs'), { mode: 'never' });
    await s.start();
    s.send(crashCall);
    await assert.rejects(s.failed, (err: unknown) => err instanceof LocalServerError && err.code === 'ERR_LOCAL_SERVER_EXIT' && /code 3\)$/.test(err.message));
    assert.equal(s.state, 'failed');
  });

  it('on-failure: death by a signal counts as a failure and is restarted', async () => {
    const s = supervisor(fixture('crash-server.mjs'), { mode: 'on-failure' });
    await s.start();
    const exit = once(s, 'child-exit');
    const up = once(s, 'up');
    process.kill(s.pid!, 'SIGTERM');
    const [info] = (await exit) as [{ signal: string | null }];
    assert.equal(info.signal, 'SIGTERM');
    await up;
    assert.equal(s.restarts, 1);
  });

  it('the budget ends the restarts', async () => {
    const s = supervisor(fixture('crash-server.mjs'), { mode: 'always', maxRestarts: 2 });
    await s.start();
    for (let i = 0; i < 2; i++) {
      const up = once(s, 'up');
      s.send(crashCall);
      await up;
    }
    s.send(crashCall);
    await assert.rejects(s.failed, /restart budget used up \(2 restarts within 60 s\)/);
    assert.equal(s.restarts, 2);
  });

  it('stop() during the restart delay ends it without a new child', async () => {
    const s = supervisor(fixture('crash-server.mjs'), { baseDelayMs: 60_000, capMs: 60_000 });
    await s.start();
    const down = once(s, 'down');
    s.send(crashCall);
    await down;
    await s.stop();
    assert.equal(s.state, 'stopped');
    assert.equal(s.restarts, 0);
  });
});
