/**
 * TunnelClient's timing on fake time (src/clock.ts): the backoff between reconnect
 * attempts (exponential with equal jitter, reset once a register succeeds), the heartbeat
 * every keepalive, and the gateway declared dead after 1.5 keepalives of silence. The
 * gateway is a fake transport that answers `register` as ours does; no sockets, no sleeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransportError } from '../../src/errors.js';
import { TunnelClient, type TransportOpener } from '../../src/client/tunnel-client.js';
import { silentLogger } from '../../src/observability/logger.js';
import { TransportBase } from '../../src/transport/transport-base.js';
import type { Transport } from '../../src/transport/transport.js';
import { FakeClock } from '../protocol/fake-clock.js';

/** The gateway end: answers `register` with `register_ack`, records what the client sends. */
class FakeGatewayTransport extends TransportBase {
  readonly kind = 'ws' as const;
  readonly sent: Array<{ type: string; [k: string]: unknown }> = [];
  closedWith: string | undefined;

  async start(): Promise<void> {
    this.beginStart();
    this.state = 'open';
  }

  send(frame: string): boolean {
    const f = JSON.parse(frame) as { type: string; resume?: unknown };
    this.sent.push(f);
    if (f.type === 'register') {
      this.fromGateway({ type: 'register_ack', sessionId: 's-1', status: 'success', resumed: f.resume !== undefined, ack: 0, reliability: 'seq-ack/1' });
    }
    return true;
  }

  async close(reason = 'closed'): Promise<void> {
    this.closedWith ??= reason;
    this.finish({ reason });
  }

  fromGateway(frame: object): void {
    this.onmessage?.(JSON.stringify(frame));
  }

  count(type: string): number {
    return this.sent.filter((f) => f.type === type).length;
  }
}

/** Opens fake transports; the next `failures` opens fail as an unreachable gateway does. */
class FakeOpener implements TransportOpener {
  onupgrade?: (to: 'ws' | 'sse' | 'poll') => void;
  failures = 0;
  readonly opened: FakeGatewayTransport[] = [];
  /** Fake time of every open() call. */
  readonly attempts: number[] = [];

  constructor(private readonly clock: FakeClock) {}

  async open(prepare: (t: Transport) => void): Promise<Transport> {
    this.attempts.push(this.clock.now());
    if (this.failures > 0) {
      this.failures--;
      throw new TransportError('connect ECONNREFUSED 127.0.0.1', { origin: 'network' });
    }
    const t = new FakeGatewayTransport();
    prepare(t);
    await t.start();
    this.opened.push(t);
    return t;
  }

  async dispose(): Promise<void> {}

  get last(): FakeGatewayTransport {
    return this.opened.at(-1)!;
  }
}

/** Everything the client does in reaction (promise continuations) runs before setImmediate. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function advance(clock: FakeClock, ms: number, step = 5): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await settle();
  }
}

function setup(o: { keepaliveMs?: number; reconnectDelayMs?: number } = {}) {
  const clock = new FakeClock();
  const opener = new FakeOpener(clock);
  const tunnel = new TunnelClient({
    server: { name: 'echo' },
    negotiator: opener,
    reconnectDelayMs: o.reconnectDelayMs ?? 1_000,
    maxRetries: 0,
    keepaliveMs: o.keepaliveMs ?? 30_000,
    registerTimeoutMs: 10_000,
    maxQueueBytes: 1 << 20,
    logger: silentLogger,
    clock,
  });
  const disconnects: string[] = [];
  tunnel.on('disconnected', (e) => disconnects.push(e.reason));
  return { clock, opener, tunnel, disconnects };
}

test('reconnect attempts back off exponentially with equal jitter: [d/2, d], then [d, 2d], then [2d, 4d]', async () => {
  const { clock, opener, tunnel } = setup({ reconnectDelayMs: 1_000 });
  opener.failures = 3;
  const run = tunnel.run();
  await settle();
  assert.equal(opener.attempts.length, 1, 'the first attempt is immediate');
  await advance(clock, 7_500);
  assert.equal(opener.attempts.length, 4, `attempts at ${opener.attempts.join(', ')} ms`);
  const gaps = opener.attempts.slice(1).map((t, i) => t - opener.attempts[i]!);
  const bounds = [
    [500, 1_000],
    [1_000, 2_000],
    [2_000, 4_000],
  ];
  gaps.forEach((gap, i) => {
    const [lo, hi] = bounds[i]!;
    // Observed in 5 ms steps: a timer that fires at `hi` is seen at `hi` (steps end on multiples of 5).
    assert.ok(gap >= lo! && gap <= hi!, `gap ${i + 1} was ${gap} ms, expected within [${lo}, ${hi}]`);
  });
  assert.equal(tunnel.state, 'open', 'the fourth attempt registered');
  await tunnel.stop();
  await run;
});

test('a register that succeeded resets the backoff: the next drop is retried within the first delay', async () => {
  const { clock, opener, tunnel, disconnects } = setup({ reconnectDelayMs: 1_000 });
  opener.failures = 2;
  const run = tunnel.run();
  await advance(clock, 3_000);
  assert.equal(tunnel.state, 'open');
  const before = opener.attempts.length;
  const droppedAt = clock.now();
  await opener.last.close('gateway went away');
  await settle();
  assert.deepEqual(disconnects, ['gateway went away']);
  await advance(clock, 1_000);
  assert.equal(opener.attempts.length, before + 1, 'one new attempt within the base delay');
  const gap = opener.attempts.at(-1)! - droppedAt;
  assert.ok(gap >= 500 && gap <= 1_000, `retried after ${gap} ms`);
  assert.equal(opener.last.sent[0]?.type, 'register');
  assert.deepEqual((opener.last.sent[0] as { resume?: unknown }).resume, { sessionId: 's-1', ack: 0 }, 'the reconnect asks to resume');
  await tunnel.stop();
  await run;
});

test('stop() during the reconnect backoff ends run() without waiting for the delay', async () => {
  const { opener, tunnel } = setup({ reconnectDelayMs: 60_000 });
  opener.failures = 1;
  const run = tunnel.run();
  await settle();
  assert.equal(opener.attempts.length, 1);
  await tunnel.stop();
  await run; // resolves although no fake time passed
  assert.equal(tunnel.state, 'closed');
  assert.equal(opener.attempts.length, 1);
});

test('a heartbeat goes out every keepalive; a gateway silent for 1.5 keepalives is declared dead', async () => {
  const { clock, opener, tunnel, disconnects } = setup({ keepaliveMs: 1_000 });
  const run = tunnel.run();
  await settle();
  const t = opener.last;
  assert.equal(tunnel.state, 'open');
  await advance(clock, 999);
  assert.equal(t.count('heartbeat'), 0);
  await advance(clock, 1);
  assert.equal(t.count('heartbeat'), 1, 'first heartbeat at one keepalive');
  await advance(clock, 500);
  assert.equal(t.closedWith, undefined, 'silent for exactly 1.5 keepalives: not yet dead');
  await advance(clock, 250);
  assert.match(t.closedWith ?? '', /no frame from the gateway for 2 s \(dead peer\)/);
  assert.equal(disconnects.length, 1);
  assert.match(disconnects[0]!, /dead peer/);
  await tunnel.stop();
  await run;
});

test('any frame from the gateway counts as life: the silence is measured from the last one', async () => {
  const { clock, opener, tunnel } = setup({ keepaliveMs: 1_000 });
  const run = tunnel.run();
  await settle();
  const t = opener.last;
  await advance(clock, 1_000);
  t.fromGateway({ type: 'heartbeat', ack: 0 });
  await advance(clock, 1_500);
  assert.equal(t.closedWith, undefined, '1.5 keepalives since the last frame: alive');
  assert.equal(t.count('heartbeat'), 2);
  await advance(clock, 250);
  assert.match(t.closedWith ?? '', /dead peer/);
  await tunnel.stop();
  await run;
});
