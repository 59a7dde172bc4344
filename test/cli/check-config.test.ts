/** `--check-config` on the real binary entry: resolve, validate, print JSON, exit — no spawn, no network. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function workdir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'mrp-check-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = workdir()): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';

describe('--check-config', () => {
  it('connect: prints the resolved servers of a servers: list with .env applied and the token masked', async () => {
    const cwd = workdir({
      '.env': 'REVERSE_PROXY_GATEWAY=https://gw.example\n',
      'servers.yaml': 'restart: on-failure\nservers:\n  - name: a\n    command: does-not-exist-a\n  - name: b\n    command: does-not-exist-b\n    restart: never\n',
    });
    const run = await cli(['--config', 'servers.yaml', '--check-config', '--metrics-port', '9464'], { REVERSE_PROXY_TOKEN: TOKEN }, cwd);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(TOKEN), 'token masked');
    const out = JSON.parse(run.stdout) as { command: string; servers: Array<Record<string, unknown>> };
    assert.equal(out.command, 'connect');
    assert.deepEqual(
      out.servers.map((s) => [s.name, s.localStdio, s.gateway, s.restart, s.token, s.metricsPort]),
      [
        ['a', 'does-not-exist-a', 'https://gw.example', 'on-failure', '***', 9464],
        ['b', 'does-not-exist-b', 'https://gw.example', 'never', '***', 9464],
      ],
    );
  });

  it('connect: a bad --restart is a usage error (status 2) naming the flag', async () => {
    const run = await cli(['--local-stdio', 'x', '--gateway', 'https://g', '--restart', 'sometimes', '--check-config']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /invalid --restart "sometimes" \(from --restart\): expected one of never, on-failure, always/);
  });

  it('connect: REVERSE_PROXY_RESTART and the proxy password masked', async () => {
    const run = await cli(['--local-stdio', 'x', '--gateway', 'https://g', '--proxy', 'http://u:hunter2@proxy:3128', '--check-config'], { REVERSE_PROXY_RESTART: 'always' });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes('hunter2'));
    const s = (JSON.parse(run.stdout) as { servers: Array<Record<string, unknown>> }).servers[0]!;
    assert.equal(s.restart, 'always');
  });

  it('connect: REVERSE_PROXY_PROXY_PASSWORD masked, user and PAC shown', async () => {
    const run = await cli(['--local-stdio', 'x', '--gateway', 'https://g', '--check-config'], {
      REVERSE_PROXY_PROXY_USER: 'CORP\\carol',
      REVERSE_PROXY_PROXY_PASSWORD: 'ntlm-hunter2',
      REVERSE_PROXY_PROXY_PAC: 'http://wpad/proxy.pac',
    });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes('ntlm-hunter2'));
    const s = (JSON.parse(run.stdout) as { servers: Array<Record<string, unknown>> }).servers[0]!;
    assert.equal(s.proxyPassword, '***');
    assert.equal(s.proxyUser, 'CORP\\carol');
    assert.equal(s.proxyPac, 'http://wpad/proxy.pac');
  });

  it('gateway: resolved options with the JWT secret masked', async () => {
    const secret = 'a-very-long-secret-0123456789abcdef0123456789';
    const run = await cli(['gateway', '--host', '0.0.0.0', '--port', '0', '--check-config'], { JWT_SECRET_KEY: secret });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(secret));
    const out = JSON.parse(run.stdout) as { command: string; options: Record<string, unknown> };
    assert.equal(out.command, 'gateway');
    assert.equal(out.options.host, '0.0.0.0');
    assert.equal(out.options.jwtSecret, '***');
  });

  it('gateway: a public bind without TLS warns once about clear-text tokens and once about an open /metrics', async () => {
    const secret = 'a-very-long-secret-0123456789abcdef0123456789';
    const run = await cli(['gateway', '--host', '0.0.0.0', '--check-config'], { JWT_SECRET_KEY: secret });
    assert.equal(run.code, 0, run.stderr);
    const { warnings } = JSON.parse(run.stdout) as { warnings: string[] };
    assert.equal(warnings.length, 2, JSON.stringify(warnings));
    assert.match(warnings[0]!, /--host 0\.0\.0\.0 is not a loopback address and the gateway serves plain HTTP: tokens travel in clear text/);
    assert.match(warnings[1]!, /GET \/metrics needs no token.*--metrics-auth/);
    const quiet = await cli(['gateway', '--host', '0.0.0.0', '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--metrics-auth', '--check-config'], { JWT_SECRET_KEY: secret });
    assert.deepEqual((JSON.parse(quiet.stdout) as { warnings: string[] }).warnings, []);
    const loopback = await cli(['gateway', '--host', 'localhost', '--check-config'], { JWT_SECRET_KEY: secret });
    assert.deepEqual((JSON.parse(loopback.stdout) as { warnings: string[] }).warnings, []);
  });

  it('gateway: a missing secret still fails the check', async () => {
    const run = await cli(['gateway', '--check-config']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /missing --jwt-secret/);
  });
});
