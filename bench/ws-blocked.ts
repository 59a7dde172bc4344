/**
 * Start → first successful MCP call when WebSockets are blocked: the tunnel client
 * (`--transport auto`, the default) reaches the gateway through a real squid that refuses
 * CONNECT and refuses any request carrying `Upgrade: websocket` (test/helpers/squid.ts),
 * so `ws` must fail and the negotiator must fall back (sse, then poll).
 *
 * Measured per round: from spawning the tunnel client (node start-up, server-everything
 * start-up and initialize, transport negotiation, register) until an MCP SDK client has
 * connected to the gateway and its first `echo` call has returned. The same figure with
 * no proxy (plain `ws`) is measured as the baseline, so the cost of falling back shows.
 */
import { existsSync } from 'node:fs';
import { startSquid, type Squid } from '../test/helpers/squid.js';
import { connectMcp, EVERYTHING, firstText, spawnBin, startGateway, waitForServer, type GatewayProc } from '../test/helpers/system.js';
import { median, round, withDeadline } from './measure.js';
import { lastLine } from './scenarios.js';

export interface FirstCallResult {
  medianMs: number;
  runsMs: number[];
  transport: string;
}

async function firstCall(gw: GatewayProc, name: string, clientArgs: string[]): Promise<{ ms: number; transport: string }> {
  const t0 = performance.now();
  const tunnel = spawnBin(['--local-stdio', EVERYTHING, '--gateway', gw.url, '--name', name, ...clientArgs]);
  try {
    const entry = await withDeadline(
      Promise.race([
        waitForServer(gw.url, undefined, name, () => true, 30_000),
        tunnel.exited.then((r) => {
          throw new Error(`tunnel client exited (${r.code ?? r.signal}): ${lastLine(tunnel.stderr())}`);
        }),
      ]),
      30_000,
      'tunnel registration',
    );
    const mcp = await connectMcp(gw.url, name, undefined, 'bench-first-call');
    const text = firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'first' } }));
    const ms = performance.now() - t0;
    await mcp.close();
    if (text !== 'Echo: first') throw new Error(`unexpected echo answer: ${text}`);
    return { ms, transport: entry.transport };
  } finally {
    await tunnel.stop();
  }
}

/** `proxied`: through squid with WebSockets blocked; otherwise direct (ws works). */
export async function timeToFirstCall(proxied: boolean, rounds: number): Promise<FirstCallResult> {
  if (proxied && !existsSync('/usr/sbin/squid')) throw new Error('squid is not installed (make system-deps)');
  const gw = await startGateway(['--no-auth']);
  let squid: Squid | undefined;
  try {
    if (proxied) squid = await startSquid({ connect: false, denyUpgrade: true });
    const args = squid ? ['--proxy', squid.url] : [];
    const runs: number[] = [];
    let transport = '';
    for (let r = 0; r < rounds; r++) {
      const one = await firstCall(gw, `first-call-${proxied ? 'proxied' : 'direct'}-${r}`, args);
      runs.push(round(one.ms, 1));
      transport = one.transport;
    }
    return { medianMs: round(median(runs), 1), runsMs: runs, transport };
  } finally {
    await squid?.stop();
    await gw.stop();
  }
}
