/**
 * Raw tunnel throughput, no MCP client and no stdio child in the way: frames pushed
 * through ReliableChannel → the real client Transport (ws / sse / poll, built by the
 * real TransportNegotiator) → the real in-process gateway HTTP server and its link
 * endpoints → a ReliableChannel on the gateway side that echoes every data frame back.
 *
 * How: the gateway's TunnelEndpoint.acceptLink (the one seam every transport's links
 * enter through) is replaced *in this process only* by an echo acceptor, then the real
 * `startGateway()` is started. Both ends run in this one process (one thread), so the
 * figure is conservative: in production each end has its own process.
 *
 * Measured:
 * - frames/s: N data frames sent client → gateway, each echoed gateway → client, with at
 *   most `window` unechoed; N / (time until the N-th echo is delivered in order). Each
 *   direction carries N data frames (+ acks), envelope-parsed once per hop.
 * - replay: `replayFrames` frames queued in the client's outbox while detached (as
 *   during a cut), then one attach() on a fresh transport; time until the gateway side
 *   has delivered all of them in order.
 */
import { startGateway, type RunningGateway } from '../src/gateway/index.js';
import { TunnelEndpoint } from '../src/gateway/tunnel/tunnel-endpoint.js';
import { GATEWAY_DEFAULTS } from '../src/config/types.js';
import { createDispatcher } from '../src/net/dispatcher.js';
import { silentLogger } from '../src/observability/logger.js';
import { frameOf, parseEnvelope } from '../src/protocol/envelope.js';
import { ReliableChannel } from '../src/protocol/reliable-channel.js';
import { TransportNegotiator } from '../src/transport/negotiator.js';
import type { Transport, TransportKind, TunnelLink } from '../src/transport/transport.js';
import type { Dispatcher } from 'undici';
import { withDeadline } from './measure.js';

/** Gateway-side echo: counts what it delivers (for the replay measurement). */
let gatewayDelivered = 0;
let onGatewayDelivered: (() => void) | undefined;

function echoAcceptor(this: TunnelEndpoint, link: TunnelLink): void {
  const channel = new ReliableChannel({
    deliver: (env) => {
      gatewayDelivered++;
      onGatewayDelivered?.();
      channel.push('request', env.payload!);
    },
  });
  channel.attach((frame, bytes) => link.send(frame, bytes), 0);
  link.onmessage = (text) => {
    channel.receive(parseEnvelope(text));
  };
  link.onclose = () => channel.close();
  // Backpressure (docs/delivery.md): a congested link holds the channel until it drains.
  link.ondrain = () => channel.drained();
}

const PAYLOAD = { jsonrpc: '2.0' as const, id: 0, result: { content: [{ type: 'text', text: 'Echo: bench' }] } };

export class RawTunnelBench {
  private gateway: RunningGateway | undefined;
  private dispatcher: Dispatcher | undefined;

  async start(): Promise<void> {
    (TunnelEndpoint.prototype as unknown as { acceptLink: typeof echoAcceptor }).acceptLink = echoAcceptor;
    this.gateway = await startGateway({ ...GATEWAY_DEFAULTS, port: 0, noAuth: true }, silentLogger);
    this.dispatcher = createDispatcher({ gateway: this.gateway.url });
  }

  async stop(): Promise<void> {
    await this.gateway?.close();
    await this.dispatcher?.close().catch(() => undefined);
  }

  /** A client transport + channel; `deliver` gets every echoed frame in order. */
  private async open(kind: TransportKind, channel: ReliableChannel): Promise<Transport> {
    const negotiator = new TransportNegotiator({
      mode: kind,
      gateway: this.gateway!.url,
      dispatcher: this.dispatcher!,
      handshakeTimeoutMs: 3_000,
      logger: silentLogger,
    });
    const transport = negotiator.create(kind);
    transport.onmessage = (f) => {
      channel.receive(typeof f === 'string' ? parseEnvelope(f) : frameOf(f.json));
    };
    transport.ondrain = () => channel.drained();
    await transport.start();
    return transport;
  }

  /** Echo round trips per second through `kind` (see the file comment). */
  async framesPerSecond(kind: TransportKind, n: number, window: number): Promise<number> {
    let received = 0;
    let sent = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const pump = (): void => {
      while (sent < n && sent - received < window) {
        sent++;
        channel.push('response', PAYLOAD);
      }
    };
    const channel = new ReliableChannel({
      deliver: () => {
        received++;
        if (received === n) done();
        else pump();
      },
    });
    const transport = await this.open(kind, channel);
    try {
      channel.attach((frame, bytes) => transport.send(frame, bytes), 0);
      const t0 = performance.now();
      pump();
      await withDeadline(finished, 120_000, `raw ${kind}: ${n} frames`);
      return (n / (performance.now() - t0)) * 1000;
    } finally {
      channel.close();
      await transport.close('bench done');
    }
  }

  /** Milliseconds to replay `n` frames queued while detached. */
  async replay(kind: TransportKind, n: number): Promise<number> {
    const channel = new ReliableChannel({ deliver: () => undefined, maxQueueBytes: 64 * 1024 * 1024 });
    for (let i = 0; i < n; i++) channel.push('response', PAYLOAD);
    const transport = await this.open(kind, channel);
    const base = gatewayDelivered;
    try {
      const all = new Promise<void>((resolve) => {
        onGatewayDelivered = () => {
          if (gatewayDelivered - base >= n) resolve();
        };
      });
      const t0 = performance.now();
      channel.attach((frame, bytes) => transport.send(frame, bytes), 0);
      await withDeadline(all, 120_000, `replay ${kind}: ${n} frames`);
      return performance.now() - t0;
    } finally {
      onGatewayDelivered = undefined;
      channel.close();
      await transport.close('bench done');
    }
  }
}
