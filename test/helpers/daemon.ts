/**
 * A Debian daemon (squid, nginx) run in the foreground for one test: on a loopback port, in
 * its own temp dir, stopped by PID — SIGTERM, then SIGKILL after a bound — and its dir removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface Daemon {
  port: number;
  url: string;
  dir: string;
  /** Lines of `<dir>/access.log` written so far. */
  accessLog(): string[];
  /** Stop it (SIGTERM, then SIGKILL after 5 s) and remove its dir. Safe to call twice. */
  stop(): Promise<void>;
}

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

export interface DaemonSpec {
  name: string;
  bin: string;
  args: string[];
  port: number;
  dir: string;
  /** Extra text for the error when it dies before listening (e.g. the tail of its own log). */
  diagnostics?: () => string;
  /** Added to the test's environment (e.g. KRB5_CONFIG for squid's Kerberos helper). */
  env?: NodeJS.ProcessEnv;
}

/** Start it and wait until it listens; `registry` tracks it for a stop-all in afterEach. */
export async function startDaemon(spec: DaemonSpec, registry: Set<Daemon>): Promise<Daemon> {
  let out = '';
  const proc: ChildProcess = spawn(spec.bin, spec.args, { stdio: ['ignore', 'pipe', 'pipe'], ...(spec.env ? { env: { ...process.env, ...spec.env } } : {}) });
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const daemon: Daemon = {
    port: spec.port,
    url: `http://127.0.0.1:${spec.port}`,
    dir: spec.dir,
    accessLog: () => readFileSync(path.join(spec.dir, 'access.log'), 'utf8').split('\n').filter(Boolean),
    stop() {
      stopping ??= (async () => {
        registry.delete(daemon);
        if (proc.exitCode === null && proc.signalCode === null) {
          // SIGTERM: squid needs ~2 s; for nginx it is the fast shutdown (SIGQUIT would wait
          // for open SSE streams to end).
          proc.kill('SIGTERM');
          const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(t);
        }
        rmSync(spec.dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  registry.add(daemon);
  try {
    await waitForPort(spec.port, () =>
      proc.exitCode !== null || proc.signalCode !== null
        ? `${spec.name} exited (${proc.exitCode ?? proc.signalCode}): ${out}${spec.diagnostics ? `\n${spec.diagnostics()}` : ''}`
        : undefined,
    );
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return daemon;
}

/** Stop every daemon in a registry. */
export async function stopAll(registry: Set<Daemon>): Promise<void> {
  await Promise.all([...registry].map((d) => d.stop()));
}
