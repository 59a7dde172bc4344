/**
 * A hostile tunnel peer (any token holder) that never sends seq 1 and then sends frames
 * 2..N, each close to the frame limit, must not make the real gateway binary hold them all
 * (docs/delivery.md "Within which bounds"): past --max-queue-bytes of frames held ahead of
 * the gap, its session ends with an `error` frame `gap_overflow` and WebSocket close 1008,
 * the MCP request it owed gets a JSON-RPC error, and another session keeps serving.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { echoServer, FakeTunnelPeer } from '../../helpers/gateway-fake-peer.js';
import { ECHO_SERVER } from '../../helpers/gateway-harness.js';
import { MiB, RssPeak } from '../../helpers/memory.js';
import { connectMcp, firstText, listServers, startGateway, stopAll } from '../../helpers/system.js';

const SECRET = 'gap-overflow-secret-0123456789abcdef';
const HELD_BOUND = 8 * MiB;
const FRAME_PAD = MiB;
/** 256 frames of 1 MiB: 32 times the bound. */
const FRAMES = 256;

after(stopAll);

test('a peer flooding frames past a gap is cut off at the bound; others keep working', { timeout: 120_000 }, async () => {
  const gw = await startGateway(['--jwt-secret', SECRET, '--max-queue-bytes', String(HELD_BOUND)]);
  const mallory = await mintToken({ username: 'mallory', secret: SECRET });
  const alice = await mintToken({ username: 'alice', secret: SECRET });

  // A good server of another user, and the hostile one.
  const good = await FakeTunnelPeer.connect(gw.url, alice);
  assert.equal((await good.register(ECHO_SERVER, { keepalive: 30 })).type, 'register_ack');
  const hostile = await FakeTunnelPeer.connect(gw.url, mallory);
  assert.equal((await hostile.register({ ...ECHO_SERVER, name: 'hostile' }, { keepalive: 30 })).type, 'register_ack');
  hostile.handler = (req) => (req.method === 'tools/call' ? undefined : echoServer(req));

  const goodMcp = await connectMcp(gw.url, 'echo', alice);
  const victim = await connectMcp(gw.url, 'hostile', mallory);
  const owed = victim.callTool({ name: 'echo', arguments: { n: 1 } }).then(
    () => undefined,
    (err: unknown) => err,
  );
  await hostile.next((f) => f.type === 'request' && f.payload?.method === 'tools/call');

  const rss = new RssPeak(gw.proc.pid!);
  const baseline = rss.peak;
  const pad = 'x'.repeat(FRAME_PAD);
  let sent = 0;
  for (let seq = 2; seq < 2 + FRAMES && !hostile.closed; seq++) {
    const frame = `{"type":"notification","seq":${seq},"ack":${hostile.inboundAck},"payload":{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"${pad}"}}}`;
    const ok = await new Promise<boolean>((resolve) => hostile.ws.send(frame, (err) => resolve(!err)));
    if (!ok) break;
    sent++;
    rss.sample();
    // Let the socket's reads run: write callbacks alone would never leave the event loop's
    // microtask/nextTick phases, and the gateway's close would go unseen.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await hostile.whenClosed();
  rss.sample();

  assert.ok(sent < FRAMES, `the gateway cut the peer off before all ${FRAMES} frames (took ${sent})`);
  const error = hostile.frames.find((f) => f.type === 'error');
  assert.equal(error?.code, 'gap_overflow', JSON.stringify(error));
  assert.equal(hostile.closeCode, 1008);
  assert.ok(rss.peak - baseline < 128 * MiB, `gateway RSS grew by ${((rss.peak - baseline) / MiB).toFixed(0)} MiB while ${sent} MiB were sent`);

  // What the session owed its MCP client is answered with an error, not silence.
  const err = await owed;
  assert.ok(err instanceof McpError, `the pending call failed with a JSON-RPC error (${String(err)})`);
  assert.equal(err.code, -32005);
  assert.match(err.message, /ahead of seq 1/);

  // The session is gone; the other user's server keeps answering.
  assert.deepEqual((await listServers(gw.url, alice)).map((s) => s.name), ['echo']);
  assert.equal(firstText(await goodMcp.callTool({ name: 'echo', arguments: { still: 'here' } })), '{"still":"here"}');
  await Promise.allSettled([goodMcp.close(), victim.close(), good.close()]);
});
