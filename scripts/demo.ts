/**
 * `make demo`: the whole system on this machine, with real parts —
 * gateway (127.0.0.1, free port) ← tunnel client ← server-everything (stdio),
 * and a real MCP SDK Client calling through the gateway.
 */
import { randomBytes } from 'node:crypto';
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
  say(`4. MCP SDK Client → ${endpoint}`);
  const mcp = await connectMcp(gw.url, 'server-everything', token, 'demo-client');
  const info = mcp.getServerVersion();
  say(`   initialized: ${info?.name} ${info?.version}`);
  const { tools } = await mcp.listTools();
  say(`   tools/list → ${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`);
  const result = await mcp.callTool({ name: 'echo', arguments: { message: 'hello through the tunnel' } });
  say(`   tools/call echo → ${JSON.stringify(firstText(result))}`);
  say(`   transport in use: ${entry.transport}`);
  await mcp.close();

  say('5. stopping everything');
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
