/**
 * Whole-system helpers: the real binary (dist/cli/main.js), a gateway on port 0, tunnel
 * clients, the MCP SDK Client. Every wait is bounded in time and count; every process
 * started here is killed by stopAll().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'dist/cli/main.js');
export const EVERYTHING_JS = path.join(REPO, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
/** server-everything over stdio, as a --local-stdio command line. */
export const EVERYTHING = `node ${EVERYTHING_JS} stdio`;
export const fixture = (name: string): string => path.join(REPO, 'fixtures', name);

const running = new Set<ChildProcess>();

export interface Proc {
  proc: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnBin(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO, bin = BIN): Proc {
  const proc = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let err = '';
  let out = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    });
  });
  return {
    proc,
    stderr: () => err,
    stdout: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Environment without proxies or tunnel variables leaking in from the machine. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(https?_proxy|all_proxy|no_proxy|REVERSE_PROXY_|JWT_SECRET_KEY)/i.test(k)) continue;
    env[k] = v;
  }
  env.NODE_ENV = 'test';
  return env;
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      p.kill('SIGKILL');
      if (p.exitCode === null && p.signalCode === null) await once(p, 'exit');
    }),
  );
}

/** Wait until `pred()` is truthy, checking every `everyMs`, at most `timeoutMs`. */
export async function waitFor<T>(pred: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface GatewayProc extends Proc {
  url: string;
  port: number;
}

export async function startGateway(args: string[] = [], env: NodeJS.ProcessEnv = {}, bin = BIN): Promise<GatewayProc> {
  const p = spawnBin(['gateway', '--port', '0', ...args], env, REPO, bin);
  const url = await waitFor(
    () => /gateway listening on (\S+)/.exec(p.stdout())?.[1] ?? (p.proc.exitCode !== null ? 'EXITED' : undefined),
    'gateway to listen',
  );
  if (url === 'EXITED') throw new Error(`gateway exited: ${p.stderr()}`);
  return { ...p, url, port: Number(new URL(url).port) };
}

export interface ServerEntry {
  name: string;
  sessionId: string;
  transport: string;
  connected: boolean;
}

export async function listServers(gateway: string, token?: string): Promise<ServerEntry[]> {
  const res = await fetch(`${gateway}/servers`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new Error(`/servers answered ${res.status}`);
  const body = (await res.json()) as { servers: ServerEntry[] };
  return body.servers;
}

/** Wait for a connected server entry; optionally one that satisfies `pred`. */
export function waitForServer(
  gateway: string,
  token: string | undefined,
  name: string,
  pred: (s: ServerEntry) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<ServerEntry> {
  return waitFor(
    async () => (await listServers(gateway, token).catch(() => [])).find((s) => s.name === name && s.connected && pred(s)),
    `server ${name} on the gateway`,
    timeoutMs,
  );
}

export async function connectMcp(gateway: string, name: string, token?: string, clientName = 'test-client'): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway}/servers/${name}/mcp`), {
    requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} },
  });
  const client = new Client({ name: clientName, version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** Text of the first content item of a tools/call result. */
export function firstText(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content[0]?.text ?? '';
}

/** Start a gateway on a port that was just in use (retrying while the OS frees it; bounded). */
export async function restartGateway(port: number, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<GatewayProc> {
  let lastError: unknown;
  for (let i = 0; i < 40; i++) {
    try {
      return await startGateway([...args, '--port', String(port)], env);
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`could not restart the gateway on port ${port}: ${String(lastError)}`);
}
