/**
 * Reliable delivery end to end (docs/delivery.md): a TCP fault relay between the tunnel
 * client and the gateway cuts, resets and black-holes the tunnel while real MCP clients
 * keep calling. Nothing may be lost, duplicated or reordered; the child is never restarted.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mintToken } from '../../src/gateway/http/auth.js';
import { FaultRelay } from '../helpers/fault-relay.js';
import {
  connectMcp,
  firstText,
  fixture,
  spawnBin,
  restartGateway,
  startGateway,
  stopAll,
  waitFor,
  waitForServer,
  type GatewayProc,
  type Proc,
} from '../helpers/system.js';

const SECRET = 'reliability-secret-0123456789';
const CHATTY = `node ${fixture('chatty-server.mjs')}`;

async function setup(gatewayArgs: string[] = [], clientArgs: string[] = []): Promise<{
  gw: GatewayProc;
  relay: FaultRelay;
  client: Proc;
  token: string;
}> {
  const token = await mintToken({ username: 'carol', secret: SECRET });
  const gw = await startGateway(['--jwt-secret', SECRET, ...gatewayArgs]);
  const relay = new FaultRelay(gw.port);
  const relayPort = await relay.listen();
  const client = spawnBin(
    ['--local-stdio', CHATTY, '--gateway', `http://127.0.0.1:${relayPort}`, '--reconnect-delay', '0.05', ...clientArgs],
    { REVERSE_PROXY_TOKEN: token },
  );
  await waitForServer(gw.url, token, 'chatty-server');
  return { gw, relay, client, token };
}

async function pid(mcp: Client): Promise<string> {
  return firstText(await mcp.callTool({ name: 'pid', arguments: {} }));
}

describe('reliable delivery through a faulty network', () => {
  const relays: FaultRelay[] = [];
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.close()));
    await stopAll();
  });
  after(stopAll);

  test('repeated RST/FIN/mid-frame cuts under load: every call answered once, progress in order, child kept', async () => {
    const { gw, relay, client, token } = await setup(['--resume-window', '60'], ['--keepalive', '5']);
    relays.push(relay);
    const clients = await Promise.all(Array.from({ length: 4 }, (_, i) => connectMcp(gw.url, 'chatty-server', token, `chaos${i}`)));
    const protocolErrors: Error[] = [];
    for (const c of clients) c.onerror = (e) => protocolErrors.push(e);
    const pid0 = await pid(clients[0]!);

    let done = false;
    const CALLS = 400;
    const STREAM = 300;
    const work = Promise.all([
      ...clients.map(async (mcp, c) => {
        for (let k = 0; k < CALLS; k++) {
          const message = `c${c}-k${k}`;
          const res = await mcp.callTool({ name: 'echo', arguments: { message } });
          assert.equal(firstText(res), `Echo: ${message}`);
        }
      }),
      (async () => {
        for (let round = 0; round < 3; round++) {
          const seen: number[] = [];
          const res = await clients[0]!.callTool({ name: 'stream', arguments: { count: STREAM } }, undefined, {
            onprogress: (p) => seen.push(p.progress),
            timeout: 120_000,
          });
          assert.equal(firstText(res), `streamed ${STREAM}`);
          assert.deepEqual(seen, Array.from({ length: STREAM }, (_, i) => i + 1), 'progress complete, in order, no duplicates');
        }
      })(),
    ]).finally(() => (done = true));

    const kinds = ['rst', 'fin', 'mid'] as const;
    for (let i = 0; i < 40 && !done; i++) {
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 150)));
      const kind = kinds[i % kinds.length]!;
      if (kind === 'mid') relay.cutMidFrame(5 + (i % 40));
      else relay.cutAll(kind);
    }
    await work;

    assert.ok(relay.cuts >= 3, `the tunnel was cut several times (${relay.cuts})`);
    assert.deepEqual(protocolErrors.map(String), [], 'no unknown/duplicate responses seen by MCP clients');
    assert.equal(await pid(clients[1]!), pid0, 'the child was never restarted');
    assert.match(client.stderr(), /tunnel resumed/);
    assert.doesNotMatch(client.stderr(), /could not resume/);
    await Promise.all(clients.map((c) => c.close()));
  });

  test('black hole: detected by keepalive, resumed, nothing lost', async () => {
    const { gw, relay, client, token } = await setup(['--resume-window', '60'], ['--keepalive', '1']);
    relays.push(relay);
    const mcp = await connectMcp(gw.url, 'chatty-server', token);
    assert.equal(firstText(await mcp.callTool({ name: 'echo', arguments: { message: 'before' } })), 'Echo: before');
    relay.blackholeAll(); // existing connections go silent; new ones pass
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => mcp.callTool({ name: 'echo', arguments: { message: `during ${i}` } })),
    );
    answers.forEach((res, i) => assert.equal(firstText(res), `Echo: during ${i}`));
    assert.match(client.stderr(), /dead peer/);
    assert.match(client.stderr(), /tunnel resumed/);
    await mcp.close();
  });

  test('gateway killed and restarted: fresh session, owed request errors out, new calls work', async () => {
    const token = await mintToken({ username: 'dave', secret: SECRET });
    const gw1 = await startGateway(['--jwt-secret', SECRET]);
    const client = spawnBin(['--local-stdio', CHATTY, '--gateway', gw1.url, '--reconnect-delay', '0.1', '--log-level', 'DEBUG'], {
      REVERSE_PROXY_TOKEN: token,
    });
    await waitForServer(gw1.url, token, 'chatty-server');
    const mcp = await connectMcp(gw1.url, 'chatty-server', token);
    let reachedServer!: () => void;
    const started = new Promise<void>((r) => (reachedServer = r));
    // A dead gateway cannot answer anything: the MCP client learns it from its own transport
    // (the SDK fails the call at its request timeout, shortened here from its 60 s default).
    const owed = mcp.callTool({ name: 'sleep', arguments: { ms: 1500 } }, undefined, { onprogress: () => reachedServer(), timeout: 4000 }).then(
      () => 'answered',
      (err: Error) => `error: ${err.message}`,
    );
    await started; // the child is working on it now
    await gw1.stop('SIGKILL');
    // Restart at once on the same port: it knows neither the tunnel session nor the MCP session.
    const gw2 = await restartGateway(gw1.port, ['--jwt-secret', SECRET]);
    const outcome = await owed;
    assert.match(outcome, /^error/, 'the request owed by the dead gateway fails instead of hanging');

    await waitForServer(gw2.url, token, 'chatty-server');
    await waitFor(() => client.stderr().includes('could not resume'), 'fresh session logged', 10_000);
    const mcp2 = await connectMcp(gw2.url, 'chatty-server', token);
    assert.equal(firstText(await mcp2.callTool({ name: 'echo', arguments: { message: 'new' } })), 'Echo: new');
    // The child's late answer to the old session's sleep never reaches the new session: it is
    // either dropped on arrival (the fresh session already exists) or was still queued when the
    // fresh session started and was discarded with the old queue.
    await waitFor(
      () => client.stderr().includes('earlier tunnel session') || /"droppedFrames":[1-9]/.test(client.stderr()),
      'stale answer dropped',
      10_000,
    );
    await mcp2.close();
  });

  test('resume window expiry: pending MCP requests get JSON-RPC errors, then a fresh session serves', async () => {
    const { gw, relay, client, token } = await setup(['--resume-window', '1'], ['--keepalive', '5', '--log-level', 'DEBUG']);
    relays.push(relay);
    const mcp = await connectMcp(gw.url, 'chatty-server', token);
    const pending = mcp.callTool({ name: 'sleep', arguments: { ms: 200 } }, undefined, { timeout: 60_000 }).then(
      () => undefined,
      (err: { code?: number; message: string }) => err,
    );
    relay.mode = 'refuse';
    relay.cutAll('rst');
    const err = await pending;
    assert.ok(err, 'the pending request failed');
    assert.equal(err.code, -32001, `JSON-RPC error -32001, got ${err.message}`);
    assert.match(err.message, /did not come back|unavailable/i);

    relay.mode = 'pass';
    await waitFor(() => client.stderr().includes('could not resume'), 'fresh session after expiry', 20_000);
    await waitForServer(gw.url, token, 'chatty-server');
    const mcp2 = await connectMcp(gw.url, 'chatty-server', token);
    assert.equal(firstText(await mcp2.callTool({ name: 'echo', arguments: { message: 'again' } })), 'Echo: again');
    await mcp2.close();
  });
});
