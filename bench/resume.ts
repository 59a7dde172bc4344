/**
 * Time to resume after a cut, whole system: SDK client → gateway (real binary) ←
 * FaultRelay ← tunnel client (real binary, `--reconnect-delay`, pinned transport) →
 * server-everything. Each round: every tunnel connection is reset (RST) through the
 * relay, and at that instant an echo call is made; it waits in the gateway's outbox and
 * is answered after the client reconnects and resumes. Measured: cut → that answer.
 * The first reconnect waits between delay/2 and delay (equal jitter, client/backoff.ts).
 *
 * A round whose call is not answered within STALL_MS after the cut is counted as
 * *stalled* (the frame was lost until the next resume) and excluded from the timings;
 * more cuts (at most 5) then make the client resume again, which must deliver it.
 */
import { FaultRelay } from '../test/helpers/fault-relay.js';
import { connectMcp, EVERYTHING, firstText, spawnBin, startGateway, waitForServer } from '../test/helpers/system.js';
import { median, round, withDeadline } from './measure.js';
import { lastLine } from './scenarios.js';

const STALL_MS = 5_000;

export interface ResumeResult {
  medianMs: number;
  runsMs: number[];
  stalled: number;
  rounds: number;
}

export async function resumeAfterCut(transport: string, reconnectDelayS: number, rounds: number): Promise<ResumeResult> {
  const gw = await startGateway(['--no-auth']);
  const relay = new FaultRelay(gw.port);
  const relayPort = await relay.listen();
  const tunnel = spawnBin([
    '--local-stdio',
    EVERYTHING,
    '--gateway',
    `http://127.0.0.1:${relayPort}`,
    '--name',
    'everything',
    '--transport',
    transport,
    '--reconnect-delay',
    String(reconnectDelayS),
  ]);
  let mcp;
  try {
    await Promise.race([
      waitForServer(gw.url, undefined, 'everything', (s) => s.transport === transport, 30_000),
      tunnel.exited.then((r) => {
        throw new Error(`tunnel client exited (${r.code ?? r.signal}): ${lastLine(tunnel.stderr())}`);
      }),
    ]);
    mcp = await connectMcp(gw.url, 'everything', undefined, 'bench-resume');
    const echo = async (): Promise<void> => {
      const text = firstText(await mcp!.callTool({ name: 'echo', arguments: { message: 'resume' } }));
      if (text !== 'Echo: resume') throw new Error(`unexpected echo answer: ${text}`);
    };
    for (let i = 0; i < 20; i++) await echo(); // warm
    const runsMs: number[] = [];
    let stalled = 0;
    for (let r = 0; r < rounds; r++) {
      const before = relay.accepted;
      if (relay.cutAll('rst') === 0) throw new Error('no tunnel connection to cut');
      const t0 = performance.now();
      const answered = echo();
      const inTime = await withDeadline(answered, STALL_MS, 'echo after a cut').then(
        () => true,
        () => false,
      );
      if (inTime) {
        runsMs.push(round(performance.now() - t0, 1));
        if (relay.accepted === before) throw new Error('the call was answered without a reconnect: the cut did not reach the tunnel');
      } else {
        stalled++;
        // More resumes must deliver what the last one lost (each replays from the client's ack).
        let delivered = false;
        for (let extra = 0; extra < 5 && !delivered; extra++) {
          relay.cutAll('rst');
          delivered = await withDeadline(answered, STALL_MS, 'stalled call').then(
            () => true,
            () => false,
          );
        }
        if (!delivered) {
          throw new Error(`round ${r + 1}: a call stayed unanswered through 5 more resumes; tunnel client: ${tail(tunnel.stderr())}; gateway: ${tail(gw.stderr())}`);
        }
      }
      for (let i = 0; i < 10; i++) await withDeadline(echo(), 30_000, 'settling echo'); // settle on the new connection
    }
    return { medianMs: round(median(runsMs), 1), runsMs, stalled, rounds };
  } finally {
    await mcp?.close().catch(() => undefined);
    await tunnel.stop();
    await relay.close();
    await gw.stop();
  }
}

/** Last log messages of a process, for an "unavailable" reason. */
export function tail(text: string): string {
  return text
    .trim()
    .split('\n')
    .slice(-3)
    .map((l) => /"msg":"([^"]*)"/.exec(l)?.[1] ?? l)
    .join(' / ')
    .slice(0, 400);
}
