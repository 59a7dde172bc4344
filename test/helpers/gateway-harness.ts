/**
 * Start a real gateway on 127.0.0.1:0 with a test secret, mint tokens for it, and open
 * real MCP SDK clients against its Streamable HTTP endpoint.
 */
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startGateway, type RunningGateway } from '../../src/gateway/index.js';
import { mintToken } from '../../src/gateway/http/auth.js';
import { GATEWAY_DEFAULTS, type GatewayOptions } from '../../src/config/types.js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import { FakeTunnelPeer, FAKE_SERVER_INFO, type Frame } from './gateway-fake-peer.js';

export const TEST_SECRET = 'gateway-test-secret';

export interface Harness {
  gw: RunningGateway;
  token(username: string, admin?: boolean): Promise<string>;
  /** fetch against the gateway with an optional bearer token. */
  api(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  mcpClient(serverName: string, token: string): Promise<Client>;
  close(): Promise<void>;
}

export async function startHarness(overrides: Partial<GatewayOptions> = {}, logger: Logger = silentLogger): Promise<Harness> {
  const gw = await startGateway(
    { ...GATEWAY_DEFAULTS, host: '127.0.0.1', port: 0, jwtSecret: TEST_SECRET, ...overrides },
    logger,
  );
  const clients: Client[] = [];
  return {
    gw,
    token: (username, admin = false) => mintToken({ username, secret: TEST_SECRET, admin }),
    api: (path, init = {}) => {
      const { token, headers, ...rest } = init;
      const h = new Headers(headers);
      if (token) h.set('Authorization', `Bearer ${token}`);
      return fetch(gw.url + path, { ...rest, headers: h });
    },
    async mcpClient(serverName, token) {
      const client = new Client({ name: 'gateway-test-client', version: '1.0.0' }, { capabilities: {} });
      const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/servers/${encodeURIComponent(serverName)}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await gw.close();
    },
  };
}

/** Per-test deadline: a hung exchange fails the test instead of hanging the run. */
export const T = { timeout: 20_000 };

/** What a well-behaved client registers: the local server's own initialize result. */
export const ECHO_SERVER = {
  name: 'echo',
  description: 'fake echo server',
  protocol: 'stdio',
  serverInfo: FAKE_SERVER_INFO,
  capabilities: { tools: {} },
  protocolVersion: '2025-06-18',
};

export async function withHarness(fn: (h: Harness) => Promise<void>, overrides: Partial<GatewayOptions> = {}): Promise<void> {
  const h = await startHarness(overrides);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

export async function registeredPeer(
  h: Harness,
  user = 'alice',
  server: Frame = ECHO_SERVER,
): Promise<{ peer: FakeTunnelPeer; ack: Frame; token: string }> {
  const token = await h.token(user);
  const peer = await FakeTunnelPeer.connect(h.gw.url, token);
  const ack = await peer.register(server, { keepalive: 30 });
  assert.equal(ack.type, 'register_ack', JSON.stringify(ack));
  return { peer, ack, token };
}

/** Poll the sessions API (bounded) until `pred` holds. Each step is a real HTTP round trip, not a sleep. */
export async function waitForSession(h: Harness, token: string, sessionId: string, pred: (s: Frame) => boolean): Promise<Frame> {
  for (let i = 0; i < 500; i++) {
    const body = (await (await h.api('/reverse-proxy/sessions', { token })).json()) as { sessions: Frame[] };
    const s = body.sessions.find((x) => x.sessionId === sessionId);
    if (s && pred(s)) return s;
  }
  throw new Error(`session ${sessionId} never reached the expected state`);
}
