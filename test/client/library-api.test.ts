/**
 * The library API as a user gets it: `import { ReverseProxyClient } from 'mcp-reverse-proxy'`
 * resolved through package.json `exports` to the built dist/ (types included). The
 * monitoring-wrapper example is typechecked against the published .d.ts, then run with tsx
 * against a real gateway.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { baseEnv, connectMcp, firstText, fixture, REPO, startGateway, stopAll, waitFor, waitForServer } from '../helpers/system.js';

const run = promisify(execFile);
const EXAMPLE = join(REPO, 'docs/examples/monitoring-wrapper.ts');
const children: ChildProcess[] = [];

describe('library API: mcp-reverse-proxy as a package', () => {
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await stopAll();
  });

  test('package.json publishes the types and npm pack includes dist/index.d.ts', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { types: string; exports: Record<string, Record<string, string>> };
    assert.equal(pkg.types, 'dist/index.d.ts');
    assert.equal(pkg.exports['.']!.types, './dist/index.d.ts');
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    for (const f of ['dist/index.d.ts', 'dist/index.js', 'dist/client/reverse-proxy-client.d.ts', 'dist/cli/main.js']) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
  });

  test('docs/examples/monitoring-wrapper.ts typechecks against the published types', async () => {
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', join(REPO, 'docs/examples/tsconfig.json')], { cwd: REPO }).catch((err: { stdout?: string }) => {
      assert.fail(`tsc failed:\n${err.stdout ?? String(err)}`);
    });
  });

  test('the example runs: typed events arrive, the server is served, SIGINT stops it', async () => {
    const gw = await startGateway(['--no-auth']);
    const child = spawn(process.execPath, ['--import', 'tsx', EXAMPLE], {
      cwd: REPO,
      env: { ...baseEnv(), REVERSE_PROXY_GATEWAY: gw.url, MCP_SERVER_COMMAND: `node ${fixture('echo-server.mjs')}`, MCP_SERVER_NAME: 'wrapped' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const events = (): Array<Record<string, unknown>> => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

    const connected = await waitFor(() => events().find((e) => e.event === 'connected'), `a connected event (stderr: ${err})`);
    assert.equal(connected.transport, 'ws');
    assert.equal(connected.resumed, false);
    await waitForServer(gw.url, undefined, 'wrapped');
    const mcp = await connectMcp(gw.url, 'wrapped');
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'wrapped' } })), 'Echo: wrapped');
    await mcp.close();

    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, err);
    const stopped = events().find((e) => e.event === 'stopped') as { stats: { childRestarts: number } } | undefined;
    assert.ok(stopped, out);
    assert.equal(stopped.stats.childRestarts, 0);
  });
});
