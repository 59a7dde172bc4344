/**
 * A real squid on a loopback port, configured for one corporate-proxy behaviour at a time
 * (docs/corporate-networks.md, "How these behaviours are tested"; measured behaviours in
 * NETWORK-FACTS.md). Started in the foreground (`-N`), stopped by PID: SIGTERM, then
 * SIGKILL. Its access log is a plain file the tests read.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface SquidScenario {
  /** CONNECT tunnels allowed (default true). Denied = `http_access deny CONNECT`. */
  connect?: boolean;
  /** Refuse requests carrying `Upgrade: websocket` (a forwarded WebSocket handshake). */
  denyUpgrade?: boolean;
  /** Require proxy basic auth (basic_ncsa_auth with an htpasswd file). */
  auth?: { user: string; password: string };
  /** `read_timeout`: squid closes connections idle for this long (an idle killer). */
  readTimeoutSeconds?: number;
}

export interface Squid {
  port: number;
  url: string;
  dir: string;
  /** Lines of the access log written so far. */
  accessLog(): string[];
  /** Stop this squid (SIGTERM, then SIGKILL after a bound) and remove its dir. Safe to call twice. */
  stop(): Promise<void>;
}

const SQUID = '/usr/sbin/squid';
const NCSA_AUTH = '/usr/lib/squid/basic_ncsa_auth';
const started = new Set<Squid>();

/** A free loopback port: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Resolve once something accepts TCP connections on the port; bounded. */
export async function waitForPort(port: number, isDead: () => string | undefined, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    const dead = isDead();
    if (dead !== undefined) throw new Error(dead);
    if (Date.now() > deadline || i > 400) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function squidConf(dir: string, port: number, s: SquidScenario): string {
  const lines = [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log`,
    'logfile_rotate 0',
    'cache deny all',
    'pinger_enable off',
    // Active connections are cut at once on SIGTERM: a restart is a policy change mid-session.
    'shutdown_lifetime 0 seconds',
    // Without these, squid's DNS socket binds 0.0.0.0; we only ever talk to 127.0.0.1.
    'dns_nameservers 127.0.0.1',
    'udp_incoming_address 127.0.0.1',
    'udp_outgoing_address 127.0.0.1',
    'visible_hostname squid.test',
    `coredump_dir ${dir}`,
    'netdb_filename none',
  ];
  if (s.readTimeoutSeconds !== undefined) lines.push(`read_timeout ${s.readTimeoutSeconds} seconds`);
  if (s.auth) {
    lines.push(
      `auth_param basic program ${NCSA_AUTH} ${dir}/htpasswd`,
      'auth_param basic children 2 startup=1 idle=1',
      'auth_param basic realm mcp-test',
      'acl authed proxy_auth REQUIRED',
      'http_access deny !authed',
    );
  }
  if (s.connect === false) lines.push('http_access deny CONNECT');
  if (s.denyUpgrade) lines.push('acl ws req_header Upgrade -i websocket', 'http_access deny ws');
  lines.push('http_access allow all');
  return lines.join('\n') + '\n';
}

/** An htpasswd entry without apache2-utils: `openssl passwd -apr1` is the same format. */
function htpasswdLine(user: string, password: string): string {
  const hash = execFileSync('openssl', ['passwd', '-apr1', '-stdin'], { input: password + '\n', encoding: 'utf8' }).trim();
  return `${user}:${hash}\n`;
}

/** Start squid for `scenario`; `port` reuses a port (a restart on the same address). */
export async function startSquid(scenario: SquidScenario = {}, port?: number): Promise<Squid> {
  const p = port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-squid-'));
  writeFileSync(path.join(dir, 'squid.conf'), squidConf(dir, p, scenario));
  if (scenario.auth) {
    if (!existsSync(NCSA_AUTH)) throw new Error(`${NCSA_AUTH} not found: install squid (make system-deps)`);
    writeFileSync(path.join(dir, 'htpasswd'), htpasswdLine(scenario.auth.user, scenario.auth.password));
  }
  writeFileSync(path.join(dir, 'access.log'), '');
  // squid drops to user `proxy` when started as root: its work dir and logs must be its own.
  chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'proxy'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'proxy'], { encoding: 'utf8' }).trim());
    for (const f of ['', 'access.log', ...(scenario.auth ? ['htpasswd'] : [])]) chownSync(path.join(dir, f), uid, gid);
  }

  let out = '';
  const proc: ChildProcess = spawn(SQUID, ['-N', '-n', `mcpsquid${p}`, '-f', path.join(dir, 'squid.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  const readCacheLog = (): string => {
    try {
      return readFileSync(path.join(dir, 'cache.log'), 'utf8');
    } catch {
      return '';
    }
  };
  let stopping: Promise<void> | undefined;
  const squid: Squid = {
    port: p,
    url: `http://127.0.0.1:${p}`,
    dir,
    accessLog: () => readFileSync(path.join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean),
    stop() {
      stopping ??= (async () => {
        started.delete(squid);
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          // squid takes ~2 s to exit even with shutdown_lifetime 0; give it more before forcing.
          const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(t);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  started.add(squid);
  try {
    await waitForPort(p, () =>
      proc.exitCode !== null || proc.signalCode !== null ? `squid exited (${proc.exitCode ?? proc.signalCode}): ${out}\n${readCacheLog().slice(-2000)}` : undefined,
    );
  } catch (err) {
    await squid.stop();
    throw err;
  }
  return squid;
}

/** Restart on the same port with another scenario: the old squid's connections are cut. */
export async function restartSquid(old: Squid, scenario: SquidScenario): Promise<Squid> {
  await old.stop();
  let lastError: unknown;
  // The port can stay busy for a moment after squid exits; retry, bounded.
  for (let i = 0; i < 20; i++) {
    try {
      return await startSquid(scenario, old.port);
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`could not restart squid on port ${old.port}: ${String(lastError)}`);
}

/** Stop every squid started by this process (afterEach). */
export async function stopAllSquids(): Promise<void> {
  await Promise.all([...started].map((s) => s.stop()));
}
