import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { spawnBin, startGateway, waitForServer, EVERYTHING, stopAll, baseEnv } from './test/helpers/system.js';
const gw = await startGateway(['--no-auth']);
spawnBin(['--gateway', gw.url, '--local-stdio', EVERYTHING, '--name', 'ev'], { ...baseEnv() });
await waitForServer(gw.url, undefined, 'ev');
const client = new Client({ name: 'v2', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { sampling: {}, elicitation: {} } });
client.setRequestHandler('sampling/createMessage' as any, async (req: any) => ({ role: 'assistant', content: { type: 'text', text: 'sampled!' }, model: 'm', stopReason: 'endTurn' }));
client.setRequestHandler('elicitation/create' as any, async (req: any) => ({ action: 'accept', content: { color: 'blue', name: 'x' } }));
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/servers/ev/mcp`)));
  const tools = await client.listTools();
  console.log(tools.tools.map((t) => t.name).join(' '));
  for (const name of ['trigger-sampling-request', 'trigger-elicitation-request']) {
    const t = tools.tools.find((x) => x.name === name);
    console.log(name, JSON.stringify(t?.inputSchema).slice(0, 200));
    const r = await client.callTool({ name, arguments: name.includes('sampling') ? { prompt: 'hi', maxTokens: 10 } : {} });
    console.log(JSON.stringify(r).slice(0, 400));
  }
} catch (e) { console.log('ERR', e); }
await client.close().catch(() => {});
await stopAll();
