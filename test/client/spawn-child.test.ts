/**
 * The spawn path (cross-spawn, as the MCP SDK's stdio client) and the shutdown ladder per
 * OS. What runs here is Linux: cross-spawn's Windows branch (PATHEXT lookup, `.cmd` shims
 * through cmd.exe with escaping) is cross-spawn's own and is not exercised on this machine;
 * the Windows ladder is, with an injected platform and a stand-in `taskkill` on PATH.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from 'shell-quote';
import { LocalServer } from '../../src/client/local-server.js';
import { killTree, runStopStep, spawnChild, stopSteps, type ExecFile } from '../../src/client/spawn-child.js';
import { captureLogs } from './log-capture.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function output(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; code: number | null }> {
  const child = spawnChild(file, args, { env });
  child.stdin!.end();
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { stdout, code };
}

describe('spawnChild', () => {
  it('passes every argument through unchanged: no shell, no expansion, no word splitting', async () => {
    const args = ['a b', '"quoted"', "it's", '$HOME', '%PATH%', '`id`', 'x;y|z&w', '*', '', 'ünï'];
    const { stdout, code } = await output(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args]);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), args);
  });

  it('finds a bare command name along the PATH of the environment it is given', async () => {
    const env = { ...process.env, PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter) };
    const { stdout } = await output('node', ['-e', 'process.stdout.write(String(process.pid > 0))'], env);
    assert.equal(stdout, 'true');
  });

  it('reports a missing command as an ENOENT error event', async () => {
    const child = spawnChild('mcp-reverse-proxy-no-such-command', [], { env: process.env });
    const [err] = (await once(child, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ENOENT');
  });
});

describe('shutdown ladder', () => {
  it('POSIX: stdin EOF, SIGTERM, SIGKILL; Windows: stdin EOF, taskkill of the tree, TerminateProcess', () => {
    assert.deepEqual(stopSteps('linux'), ['end-stdin', 'sigterm', 'sigkill']);
    assert.deepEqual(stopSteps('darwin'), ['end-stdin', 'sigterm', 'sigkill']);
    assert.deepEqual(stopSteps('win32'), ['end-stdin', 'kill-tree', 'sigkill']);
    assert.ok(!stopSteps('win32').includes('sigterm'), 'no SIGTERM step on Windows');
  });

  it('killTree runs taskkill /T /F /PID <pid> without a shell, bounded in time', async () => {
    const calls: Array<{ file: string; args: string[]; options: Record<string, unknown> }> = [];
    const exec: ExecFile = (file, args, options, callback) => {
      calls.push({ file, args, options });
      callback(null);
    };
    assert.equal(await killTree(4242, exec), null);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.file, 'taskkill');
    assert.deepEqual(calls[0]!.args, ['/T', '/F', '/PID', '4242']);
    assert.equal(calls[0]!.options.shell, undefined);
    assert.ok(typeof calls[0]!.options.timeout === 'number' && calls[0]!.options.timeout > 0);
  });

  it('a failing taskkill is reported, not thrown (the next step covers it)', async () => {
    const exec: ExecFile = (_f, _a, _o, callback) => callback(new Error('The process "4242" not found.'));
    const errors: Error[] = [];
    const fakeChild = { pid: 4242 } as Parameters<typeof runStopStep>[1];
    await runStopStep('kill-tree', fakeChild, { exec, onerror: (e) => errors.push(e) });
    assert.match(errors[0]?.message ?? '', /not found/);
  });

  it('LocalServer on win32 ends a child that ignores stdin EOF with taskkill, never SIGTERM', async () => {
    // A stand-in taskkill on PATH: records its arguments and kills the PID it is given.
    const dir = mkdtempSync(join(tmpdir(), 'taskkill-'));
    const record = join(dir, 'args');
    writeFileSync(join(dir, 'taskkill'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nkill -KILL "$4"\n`);
    chmodSync(join(dir, 'taskkill'), 0o755);
    const oldPath = process.env.PATH;
    process.env.PATH = `${dir}${delimiter}${oldPath ?? ''}`;
    cleanups.push(() => {
      process.env.PATH = oldPath;
      rmSync(dir, { recursive: true, force: true });
    });

    const logs = captureLogs();
    // silent-server ignores stdin EOF but not SIGTERM: a SIGTERM would show as the exit signal.
    const server = new LocalServer({
      command: quote([process.execPath, join(FIXTURES, 'silent-server.mjs')]),
      maxLineBytes: 1024 * 1024,
      initTimeoutMs: 20_000,
      logger: logs.logger,
      stopGraceMs: 200,
      platform: 'win32',
    });
    cleanups.push(() => server.stop());
    const starting = server.start();
    starting.catch(() => undefined);
    const pid = server.pid!;
    await server.stop();
    await assert.rejects(starting, /stopped before initialize completed/);
    assert.deepEqual(readFileSync(record, 'utf8').trim().split('\n'), ['/T', '/F', '/PID', String(pid)]);
    assert.deepEqual(server.exitStatus, { code: null, signal: 'SIGKILL' });
    assert.ok(logs.records.some((r) => r.msg.includes('ignored stdin EOF; sending taskkill /T /F (the process tree)')));
    assert.ok(!logs.records.some((r) => r.msg.includes('SIGTERM')));
  });
});
