/**
 * The gateway loads the MCP SDK's Streamable HTTP server transport (and the zod schemas
 * behind it) with its first 2025-era session, not at start (src/gateway/mcp/sdk-transport.ts):
 * a gateway that only 2026-07-28 clients use never carries it. Watched from outside through
 * the real binary's module resolution (test/helpers/import-trace.mjs).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EVERYTHING, firstText, REPO, spawnBin, startGateway, stopAll, waitFor, waitForServer } from '../../helpers/system.js';

after(stopAll);

const SDK = '/node_modules/@modelcontextprotocol/sdk/';
const trace = { NODE_OPTIONS: `--import "${path.join(REPO, 'test/helpers/import-trace.mjs')}"`, IMPORT_TRACE: SDK };
const sdkLoads = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('import-trace: ') && l.includes(SDK));

test('2026-07-28 clients are served without the SDK transport; the first 2025-era session loads it', { timeout: 60_000 }, async () => {
  const gw = await startGateway(['--no-auth'], trace);
  spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', 'everything']);
  await waitForServer(gw.url, undefined, 'everything');
  const url = new URL(`${gw.url}/servers/everything/mcp`);

  const modern = new ClientV2({ name: 'modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } as never } });
  await modern.connect(new HttpV2(url));
  assert.equal(firstText(await modern.callTool({ name: 'echo', arguments: { message: 'modern' } })), 'Echo: modern');
  await modern.close();
  assert.deepEqual(sdkLoads(gw.stderr()), [], 'no SDK module was resolved for 2026-07-28 requests');

  const legacy = new ClientV1({ name: 'legacy', version: '1.0.0' });
  await legacy.connect(new HttpV1(url));
  assert.equal(firstText(await legacy.callTool({ name: 'echo', arguments: { message: 'legacy' } })), 'Echo: legacy');
  await legacy.close();
  await waitFor(() => sdkLoads(gw.stderr()).some((l) => l.includes('/server/streamableHttp.js')), 'the SDK transport to be loaded');
});
