/**
 * `make demo`: the whole system on this machine, with real parts —
 * gateway (127.0.0.1, free port) ← tunnel client ← server-everything (stdio),
 * and real MCP SDK clients of both eras calling through the gateway: a 2025-era one
 * (initialize, session) and a 2026-07-28 one (stateless, `_meta` on every request).
 */
import { randomBytes } from 'node:crypto';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import {
  connectMcp,
  EVERYTHING,
  firstText,
  spawnBin,
  startGateway,
  stopAll,
  waitForServer,
} from '../test/helpers/system.js';

const say = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

async function main(): Promise<void> {
  const secret = randomBytes(24).toString('hex');
  say('1. starting the gateway:   mcp-reverse-proxy gateway --port 0 --jwt-secret …');
  const gw = await startGateway(['--jwt-secret', secret]);
  say(`   ${gw.stdout().trim()}`);

  say('2. minting a token:        mcp-reverse-proxy token --username demo --secret …');
  const mint = spawnBin(['token', '--username', 'demo', '--secret', secret]);
  await mint.exited;
  const token = mint.stdout().trim();
  say(`   token of ${token.length} characters (not shown)`);

  say('3. starting the tunnel:    mcp-reverse-proxy --local-stdio "server-everything stdio" --gateway ' + gw.url);
  spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--log-level', 'WARNING'], { REVERSE_PROXY_TOKEN: token });
  const entry = await waitForServer(gw.url, token, 'server-everything');
  say(`   registered as "${entry.name}", session ${entry.sessionId}, transport ${entry.transport}`);

  const endpoint = `${gw.url}/servers/server-everything/mcp`;
  say(`4. MCP SDK Client (2025 era: initialize + session) → ${endpoint}`);
  const mcp = await connectMcp(gw.url, 'server-everything', token, 'demo-client');
  const info = mcp.getServerVersion();
  say(`   initialized: ${info?.name} ${info?.version}`);
  const { tools } = await mcp.listTools();
  say(`   tools/list → ${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`);
  const result = await mcp.callTool({ name: 'echo', arguments: { message: 'hello through the tunnel' } });
  say(`   tools/call echo → ${JSON.stringify(firstText(result))}`);
  say(`   transport in use: ${entry.transport}`);
  await mcp.close();

  say('5. MCP SDK v2 Client pinned to 2026-07-28 (stateless) → the same endpoint');
  const modern = new ModernClient({ name: 'demo-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await modern.connect(new ModernTransport(new URL(endpoint), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  const reply = await modern.callTool({ name: 'echo', arguments: { message: 'hello from MCP 2026-07-28' } });
  say(`   server/discover + tools/call echo → ${JSON.stringify(firstText(reply))}`);
  await modern.close();

  say('6. stopping everything');
  await stopAll();
  say('demo OK');
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
