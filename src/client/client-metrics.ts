/**
 * `--metrics-port`: Prometheus metrics of the client process on 127.0.0.1 only (the client
 * runs next to the MCP server, often on a laptop or in a pod; its counters are nobody
 * else's business, and a scraper reaches it through the pod network or a sidecar).
 *
 * Values are read from each ReverseProxyClient at scrape time (`collect`), so the client
 * code carries no metric calls and a scrape always sees current numbers. Its own Registry:
 * embedding programs that use prom-client's global registry are not polluted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ReverseProxyClient, ReverseProxyClientStats } from './reverse-proxy-client.js';
import type { TransportKind } from '../transport/transport.js';

const PREFIX = 'mcp_reverse_proxy_client_';
const TRANSPORTS: readonly TransportKind[] = ['ws', 'sse', 'poll'];

type Source = { name: string; stats: () => ReverseProxyClientStats; transport: () => TransportKind | undefined };

export class ClientMetrics {
  readonly registry = new Registry();
  private readonly sources: Source[] = [];

  constructor() {
    const sources = this.sources;
    const registers = [this.registry];
    /**
     * A per-server metric whose value the client owns: reset and filled from every client
     * on each scrape (a gauge filled by `inc` from 0 is `set`).
     */
    const mirrored = (kind: 'counter' | 'gauge', name: string, help: string, read: (s: ReverseProxyClientStats, src: Source) => number): void => {
      const config = {
        name: PREFIX + name,
        help,
        labelNames: ['server'] as const,
        registers,
        collect(this: { reset(): void; inc(labels: { server: string }, value: number): void }): void {
          this.reset();
          for (const src of sources) this.inc({ server: src.name }, read(src.stats(), src));
        },
      };
      if (kind === 'counter') new Counter(config);
      else new Gauge(config);
    };
    const gauge = (name: string, help: string, read: (s: ReverseProxyClientStats, src: Source) => number): void => mirrored('gauge', name, help, read);
    const mirroredCounter = (name: string, help: string, read: (s: ReverseProxyClientStats) => number): void => mirrored('counter', name, help, read);
    gauge('connected', '1 while the tunnel is registered on a transport, else 0', (_s, src) => (src.transport() ? 1 : 0));
    new Gauge({
      name: `${PREFIX}transport`,
      help: 'The transport the tunnel uses now: 1 for that transport, 0 for the others',
      labelNames: ['server', 'transport'],
      registers,
      collect() {
        this.reset();
        for (const src of sources) {
          const now = src.transport();
          for (const t of TRANSPORTS) this.set({ server: src.name, transport: t }, t === now ? 1 : 0);
        }
      },
    });
    gauge('outbox_frames', 'Data frames sent or queued but not yet acknowledged by the gateway', (s) => s.channel?.outboxFrames ?? 0);
    gauge('outbox_bytes', 'Bytes held in the replay queue (bounded by --max-queue-bytes)', (s) => s.channel?.outboxBytes ?? 0);
    gauge('child_available', '1 while the local MCP server is running and initialized', (s) => (s.childAvailable ? 1 : 0));
    mirroredCounter('reconnects_total', 'Times the tunnel connection was lost (each is followed by reconnecting)', (s) => s.reconnects);
    mirroredCounter('frames_sent_total', 'Data frames sent to the gateway (first transmissions)', (s) => s.channel?.sent ?? 0);
    mirroredCounter('frames_replayed_total', 'Data frames sent again after a resume', (s) => s.channel?.replayed ?? 0);
    mirroredCounter('child_restarts_total', 'Restarts of the local MCP server (--restart)', (s) => s.childRestarts);
    mirroredCounter('child_exits_total', 'Exits of the local MCP server, restarted or not', (s) => s.childExits);
  }

  add(name: string, client: ReverseProxyClient): void {
    this.sources.push({ name, stats: () => client.stats(), transport: () => client.transport });
  }

  /** Serve GET /metrics on 127.0.0.1:`port` (0 = any free port). */
  async listen(port: number): Promise<{ url: string; port: number; close: () => Promise<void> }> {
    const server: Server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const actual = (server.address() as AddressInfo).port;
    return {
      url: `http://127.0.0.1:${actual}/metrics`,
      port: actual,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }
}
