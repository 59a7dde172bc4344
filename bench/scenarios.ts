/**
 * The compared set-ups. Each starts its processes, hands back a connected MCP SDK Client,
 * the pids whose trees are "the bridge" (for RSS), and a stop(). Same client, same
 * server (server-everything's `echo` tool), same machine, one after the other.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { freePort, waitForPort } from '../test/helpers/daemon.js';
import { baseEnv, BIN, EVERYTHING, EVERYTHING_JS, REPO, spawnBin, startGateway, waitForServer } from '../test/helpers/system.js';
import { ModernFetchClient } from './modern-fetch-client.js';
import { descendants } from './rss.js';

export const SCENARIOS = [
  'direct-stdio',
  'tunnel-ws',
  'tunnel-sse',
  'tunnel-poll',
  'tunnel-ws-modern',
  'tunnel-ws-modern-fetch',
  'supergateway-streamable-http',
  'supergateway-sse',
] as const;
/**
 * `BENCH_BASE_DIST=/path/to/dist` (a build of another commit): also `tunnel-ws@base` and
 * `tunnel-ws-modern@base`, the same scenarios run by that build, interleaved with this
 * one's (before/after in one run).
 */
export const BASE_SCENARIOS = ['tunnel-ws@base', 'tunnel-ws-modern@base'] as const;
export type ScenarioName = (typeof SCENARIOS)[number] | (typeof BASE_SCENARIOS)[number];
export const scenarioNames = (): ScenarioName[] => [...SCENARIOS, ...(process.env.BENCH_BASE_DIST ? BASE_SCENARIOS : [])];
const baseBin = (): string => path.join(process.env.BENCH_BASE_DIST!, 'cli/main.js');

/** Command lines that are the MCP server (excluded from the bridge's RSS). */
export const SERVER_CMD = /server-everything/;

/** What a round needs of an MCP client: SDK v1's Client and SDK v2's both fit. */
export interface EchoClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

export interface Running {
  client: EchoClient;
  /** Bridge processes (RSS roots); empty for direct-stdio. */
  roots: number[];
  stop(): Promise<void>;
}

const SERVER_NAME = 'everything';
const SUPERGATEWAY = path.join(REPO, 'node_modules/supergateway/dist/index.js');
const LOOPBACK_ONLY = path.join(REPO, 'bench/loopback-only.mjs');

/**
 * fetch for the SDK's HTTP client transports. The SDK passes one shared AbortSignal to
 * every request; Node's fetch removes its listener from that signal only when the request
 * object is garbage-collected, so thousands of calls pile up thousands of listeners
 * (MaxListenersExceededWarning spam, and an O(n) listener list on every call). POSTs
 * (one per call, each answered) go without the signal; the long-lived GET stream keeps
 * it, so close() still ends it. Same client code for every HTTP scenario.
 */
const benchFetch: typeof fetch = (url, init) => fetch(url, init?.method === 'POST' ? { ...init, signal: null } : init);

export function httpClientTransport(url: string): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(url), { fetch: benchFetch });
}

async function connect(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export async function start(name: ScenarioName): Promise<Running> {
  switch (name) {
    case 'direct-stdio': {
      const client = await connect(
        new StdioClientTransport({ command: process.execPath, args: [EVERYTHING_JS, 'stdio'], stderr: 'ignore', env: baseEnv() as Record<string, string> }),
      );
      return { client, roots: [], stop: () => client.close() };
    }
    case 'tunnel-ws':
    case 'tunnel-sse':
    case 'tunnel-poll':
      return startTunnel(name.slice('tunnel-'.length));
    case 'tunnel-ws-modern':
      return startTunnel('ws', BIN, connectModern);
    case 'tunnel-ws-modern-fetch':
      // tunnel-ws-modern's wire without the SDK v2 client (what the client library costs).
      return startTunnel('ws', BIN, async (url) => new ModernFetchClient(url));
    case 'tunnel-ws@base':
      return startTunnel('ws', baseBin());
    case 'tunnel-ws-modern@base':
      return startTunnel('ws', baseBin(), connectModern);
    case 'supergateway-streamable-http':
      return startSupergateway(['--outputTransport', 'streamableHttp', '--stateful'], (port) =>
        httpClientTransport(`http://127.0.0.1:${port}/mcp`),
      );
    case 'supergateway-sse':
      return startSupergateway(['--outputTransport', 'sse'], (port) => new SSEClientTransport(new URL(`http://127.0.0.1:${port}/sse`), { fetch: benchFetch }));
  }
}

/**
 * Our gateway (real binary, --no-auth, default log level) + our tunnel client pinned to
 * one transport + server-everything. A client that exits early (transport not built,
 * refused) makes the scenario unavailable with its stderr as the reason.
 */
/**
 * An SDK v2 client pinned to MCP 2026-07-28: stateless requests to the gateway's modern
 * front (src/gateway/modern/), the same server-everything behind the tunnel.
 */
export async function connectModern(url: string): Promise<EchoClient> {
  const client = new ClientV2({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new HttpV2(new URL(url), { fetch: benchFetch }));
  return client as unknown as EchoClient;
}

async function startTunnel(transport: string, bin = BIN, mcpClient: (url: string) => Promise<EchoClient> = (url) => connect(httpClientTransport(url))): Promise<Running> {
  // Experiment knob: V8 flags for our two processes only (e.g. --max-semi-space-size=1).
  const env = process.env.BENCH_OURS_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_OURS_NODE_OPTIONS } : {};
  const gw = await startGateway(['--no-auth'], env, bin);
  const tunnel = spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', SERVER_NAME, '--transport', transport], env, REPO, bin);
  const stop = async (): Promise<void> => {
    await tunnel.stop();
    await gw.stop();
  };
  try {
    await Promise.race([
      waitForServer(gw.url, undefined, SERVER_NAME, (s) => s.transport === transport, 30_000),
      tunnel.exited.then((r) => {
        throw new Error(`tunnel client exited (${r.code ?? r.signal}): ${lastLine(tunnel.stderr())}`);
      }),
    ]);
    const client = await mcpClient(`${gw.url}/servers/${SERVER_NAME}/mcp`);
    return {
      client,
      roots: [gw.proc.pid!, tunnel.proc.pid!],
      stop: async () => {
        await client.close();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * supergateway 4 from node_modules, run by node directly (so its pid is the bridge, not
 * an npx wrapper), bound to 127.0.0.1 by a preload (it has no host flag), `--logLevel
 * none` (its default logs every message; we give it its fastest setting).
 */
async function startSupergateway(mode: string[], transport: (port: number) => Transport): Promise<Running> {
  const port = await freePort();
  const args = ['--import', LOOPBACK_ONLY, SUPERGATEWAY, '--stdio', EVERYTHING, '--port', String(port), '--logLevel', 'none', ...mode];
  const proc = spawn(process.execPath, args, { cwd: REPO, env: baseEnv(), stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    // Its MCP children run in their own process groups: remember them, and make sure
    // they are gone even if supergateway does not take them down.
    const kids = proc.pid ? descendants([proc.pid]) : [];
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    }
    for (const pid of kids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  try {
    await waitForPort(port, () => (proc.exitCode !== null ? `supergateway exited: ${lastLine(err)}` : undefined), 20_000);
    const client = await connect(transport(port));
    return {
      client,
      roots: [proc.pid!],
      stop: async () => {
        await client.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The line of a dead process's stderr that says why (an error line, else the last one). */
export function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  const why = lines.find((l) => /\b\w*Error\b|error:/.test(l)) ?? lines[lines.length - 1] ?? '';
  return (/"msg":"([^"]*)"/.exec(why)?.[1] ?? why).trim().slice(0, 300);
}

