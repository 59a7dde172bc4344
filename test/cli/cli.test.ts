/**
 * The real binary entry (src/cli/main.ts through tsx) as a child process. Each run gets a
 * fresh temporary working directory (so a developer's ./.env cannot leak in) and an
 * environment without REVERSE_PROXY_* or JWT_SECRET_KEY from the outer shell.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(REPO, 'src/cli/main.ts');
const TSX = import.meta.resolve('tsx');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function workdir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'mrp-cli-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: options.cwd ?? workdir(),
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function assertOneLineError(run: Run, ...fragments: string[]): void {
  assert.equal(run.code, 2, `exit status 2, stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${run.stderr}`);
  assert.match(lines[0]!, /^mcp-reverse-proxy: error: /);
  for (const f of fragments) assert.ok(lines[0]!.includes(f), `"${lines[0]}" should contain "${f}"`);
}

describe('mcp-reverse-proxy CLI', () => {
  it('--help exits 0 and documents the connect options with their env variables', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--local-stdio <command>/);
    assert.match(run.stdout, /REVERSE_PROXY_GATEWAY/);
    assert.match(run.stdout, /gateway \[options\]/);
    assert.match(run.stdout, /Examples:/);
    assert.equal(run.stderr, '');
  });

  it('--version prints the package version', async () => {
    const run = await cli(['--version']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout.trim(), VERSION);
  });

  it('missing --local-stdio exits 2 with one line naming flag, env variable and config key', async () => {
    assertOneLineError(await cli(['--gateway', 'http://127.0.0.1:9']), '--local-stdio', 'REVERSE_PROXY_LOCAL_STDIO', 'local_stdio');
  });

  it('a bad --reconnect-delay exits 2 naming the flag and the value', async () => {
    assertOneLineError(
      await cli(['--local-stdio', 'node srv.js', '--gateway', 'http://127.0.0.1:9', '--reconnect-delay', 'abc']),
      'invalid --reconnect-delay "abc" (from --reconnect-delay)',
    );
  });

  it('a gateway URL with a password is refused without printing the password', async () => {
    const run = await cli(['--local-stdio', 'srv', '--gateway', 'https://me:topsecret@127.0.0.1:9']);
    assertOneLineError(run, 'must not contain credentials');
    assert.doesNotMatch(run.stderr, /topsecret/);
  });

  it('commander usage errors exit 2 too', async () => {
    const run = await cli(['--no-such-flag']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^mcp-reverse-proxy: error: unknown option '--no-such-flag'/);
  });

  it('reads the --config file, then ./.env, the real environment and flags over it', async () => {
    const config = 'local_stdio: node srv.js\ngateway: http://127.0.0.1:9\nreconnect_delay: from-file\n';
    const bare = workdir({ 'cfg.yaml': config });
    assertOneLineError(await cli(['--config', 'cfg.yaml'], { cwd: bare }), '"from-file" (from config file cfg.yaml key reconnect_delay)');

    const cwd = workdir({ 'cfg.yaml': config, '.env': 'REVERSE_PROXY_RECONNECT_DELAY=from-dotenv\n' });
    assertOneLineError(await cli(['--config', 'cfg.yaml'], { cwd }), '"from-dotenv" (from REVERSE_PROXY_RECONNECT_DELAY)');
    const real = { REVERSE_PROXY_CONFIG: 'cfg.yaml', REVERSE_PROXY_RECONNECT_DELAY: 'from-env' };
    assertOneLineError(await cli([], { cwd, env: real }), '"from-env" (from REVERSE_PROXY_RECONNECT_DELAY)');
    assertOneLineError(await cli(['--reconnect-delay', 'from-flag'], { cwd, env: real }), '"from-flag" (from --reconnect-delay)');
  });

  it('a missing config file exits 2 and says where its path came from', async () => {
    assertOneLineError(await cli([], { env: { REVERSE_PROXY_CONFIG: 'nope.yaml' } }), 'nope.yaml', 'REVERSE_PROXY_CONFIG', 'file not found');
  });

  it('token prints a three-part JWT for the user', {
    skip: existsSync(join(REPO, 'src/gateway/http/auth.ts')) ? false : 'waiting for gateway/http/auth.ts',
  }, async () => {
    const run = await cli(['token', '--username', 'alice@example.com', '--exp', '5'], {
      env: { JWT_SECRET_KEY: 'cli-test-secret-cli-test-secret-0123' },
    });
    assert.equal(run.code, 0, run.stderr);
    const jwt = run.stdout.trim();
    assert.match(jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(claims.sub, 'alice@example.com');
    assert.equal(claims.aud, 'mcpgateway-api');
  });

  it('token without a secret exits 2', async () => {
    assertOneLineError(await cli(['token', '--username', 'bob']), '--secret', 'JWT_SECRET_KEY');
  });

  it('gateway prints "gateway listening on <url>" and exits 0 on SIGTERM', {
    skip: existsSync(join(REPO, 'src/gateway/index.ts')) ? false : 'waiting for gateway/index.ts',
  }, async () => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, 'gateway', '--no-auth', '--port', '0', '--log-level', 'error'], {
      cwd: workdir(),
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        const m = /^gateway listening on (\S+)\n/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      child.on('close', () => reject(new Error(`gateway exited early: ${stdout}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(url).port, '0');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(stdout, `gateway listening on ${url}\n`, 'exactly one line on stdout');
  });
});
