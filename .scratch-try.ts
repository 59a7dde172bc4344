import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { spawnBin, startGateway, waitForServer, EVERYTHING, stopAll, baseEnv } from './test/helpers/system.js';
const gw = await startGateway(['--no-auth']);
spawnBin(['--gateway', gw.url, '--local-stdio', EVERYTHING, '--name', 'ev'], { ...baseEnv() });
await waitForServer(gw.url, undefined, 'ev');
const mode = (process.argv[2] ?? 'pin') === 'auto' ? 'auto' : { pin: '2026-07-28' };
const client = new Client({ name: 'v2', version: '1' }, { versionNegotiation: { mode: mode as never }, capabilities: { sampling: {}, elicitation: {} } });
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/servers/ev/mcp`)));
  console.log('era', (client as any).getProtocolEra?.());
  const tools = await client.listTools();
  console.log('tools', tools.tools.length);
  const r = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
  console.log(JSON.stringify(r).slice(0, 200));
} catch (e) { console.log('ERR', e); }
await client.close().catch(() => {});
await stopAll();
