/**
 * Pieces shared by the restrictive-network e2e tests (test/e2e/networks*.test.ts): the
 * client's JSON log lines as events, a tunnel client on chatty-server, and gateway
 * look-ups over TLS with the suite's own CA (global fetch would not trust it).
 */
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { fixture, spawnBin, waitFor, waitForServer, type Proc, type ServerEntry } from './system.js';

export const CHATTY = `node ${fixture('chatty-server.mjs')}`;
export const CHATTY_NAME = 'chatty-server';

export interface LogEvent {
  level?: number;
  event?: string;
  msg?: string;
  [k: string]: unknown;
}

/** The client's stderr as pino JSON lines (non-JSON lines are kept as `{ msg }`). */
export function logEvents(stderr: string): LogEvent[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as LogEvent;
      } catch {
        return { msg: l };
      }
    });
}

export const eventsNamed = (p: Proc, name: string): LogEvent[] => logEvents(p.stderr()).filter((e) => e.event === name);

/** A tunnel client for chatty-server; `gateway` and extra flags given by the test. */
export function startTunnel(gateway: string, token: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Proc {
  return spawnBin(['--local-stdio', CHATTY, '--gateway', gateway, '--reconnect-delay', '0.05', ...args], {
    REVERSE_PROXY_TOKEN: token,
    ...env,
  });
}

/** The client's log as short lines, for failure messages. */
export function logDigest(p: Proc, max = 40): string {
  return logEvents(p.stderr())
    .slice(-max)
    .map((e) => `${String(e.event ?? '-')}: ${String(e.msg ?? '')}`)
    .join('\n');
}

/** waitForServer on a plain-HTTP gateway; on timeout the error carries the client's log. */
export async function serverUp(gateway: string, token: string, client: Proc, pred: (s: ServerEntry) => boolean = () => true, timeoutMs = 30_000): Promise<ServerEntry> {
  try {
    return await waitForServer(gateway, token, CHATTY_NAME, pred, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; client log:\n${logDigest(client)}`);
  }
}

/** Wait for the process to exit (bounded) and return its code. */
export async function exitCode(p: Proc, timeoutMs = 40_000): Promise<number | null> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`client did not exit within ${timeoutMs} ms; stderr:\n${p.stderr().slice(-3000)}`)), timeoutMs);
  });
  try {
    return (await Promise.race([p.exited, timeout])).code;
  } finally {
    clearTimeout(t);
  }
}

/** TLS material for talking to an https gateway from the test itself. */
export interface TestTls {
  ca: string;
  cert?: string;
  key?: string;
}

function tlsFetch(tls: TestTls): typeof fetch {
  const dispatcher = new Agent({
    connect: {
      ca: readFileSync(tls.ca, 'utf8'),
      ...(tls.cert ? { cert: readFileSync(tls.cert, 'utf8') } : {}),
      ...(tls.key ? { key: readFileSync(tls.key, 'utf8') } : {}),
    },
  });
  return ((url: string | URL, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as typeof fetch;
}

/** GET /servers, over TLS with the suite's CA when `tls` is given. */
export async function listServersTls(gateway: string, token: string, tls?: TestTls): Promise<ServerEntry[]> {
  const f = tls ? tlsFetch(tls) : fetch;
  const res = await f(`${gateway}/servers`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`/servers answered ${res.status}`);
  return ((await res.json()) as { servers: ServerEntry[] }).servers;
}

export function waitForServerTls(gateway: string, token: string, tls: TestTls | undefined, pred: (s: ServerEntry) => boolean = () => true): Promise<ServerEntry> {
  return waitFor(
    async () => (await listServersTls(gateway, token, tls).catch(() => [])).find((s) => s.name === CHATTY_NAME && s.connected && pred(s)),
    `${CHATTY_NAME} on ${gateway}`,
    30_000,
  );
}

/** MCP SDK client on /servers/chatty-server/mcp, over TLS when `tls` is given. */
export async function connectMcpTls(gateway: string, token: string, tls?: TestTls): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway}/servers/${CHATTY_NAME}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    ...(tls ? { fetch: tlsFetch(tls) } : {}),
  });
  const client = new Client({ name: 'networks-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}
