/**
 * A TCP relay for fault injection between the tunnel client and the gateway: it can cut
 * connections with RST or FIN (also in the middle of a frame), black-hole them (keep the
 * sockets open, forward nothing), or refuse new ones. Loopback only.
 */
import net from 'node:net';

export type RelayMode = 'pass' | 'blackhole' | 'refuse';

interface Pair {
  down: net.Socket; // from the client
  up: net.Socket; // to the gateway
  blackholed: boolean;
}

export class FaultRelay {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  mode: RelayMode = 'pass';
  /** Connections accepted so far. */
  accepted = 0;
  cuts = 0;

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  async listen(): Promise<number> {
    this.server = net.createServer((down) => this.accept(down));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  get connections(): number {
    return this.pairs.size;
  }

  private accept(down: net.Socket): void {
    this.accepted++;
    if (this.mode === 'refuse') {
      down.resetAndDestroy();
      return;
    }
    const pair: Pair = { down, up: new net.Socket(), blackholed: this.mode === 'blackhole' };
    this.pairs.add(pair);
    const drop = (): void => {
      this.pairs.delete(pair);
      down.destroy();
      pair.up.destroy();
    };
    down.on('error', drop).on('close', drop);
    pair.up.on('error', drop).on('close', drop);
    if (pair.blackholed) {
      down.on('data', () => undefined); // swallow
      return;
    }
    pair.up.connect(this.targetPort, this.targetHost);
    down.on('data', (d) => {
      if (!pair.blackholed) pair.up.write(d);
    });
    pair.up.on('data', (d) => {
      if (!pair.blackholed) down.write(d);
    });
  }

  /** Cut every open connection: 'rst' resets both sides, 'fin' ends them politely. */
  cutAll(kind: 'rst' | 'fin' = 'rst'): number {
    let n = 0;
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      n++;
      if (kind === 'rst') {
        pair.down.resetAndDestroy();
        pair.up.resetAndDestroy();
      } else {
        pair.down.end();
        pair.up.end();
      }
    }
    this.cuts += n;
    return n;
  }

  /**
   * Forward only the first `bytes` bytes of the next gateway→client chunk on every
   * connection, then reset: the client sees half a frame.
   */
  cutMidFrame(bytes = 7): void {
    for (const pair of [...this.pairs]) {
      pair.up.removeAllListeners('data');
      pair.up.once('data', (d: Buffer) => {
        pair.down.write(d.subarray(0, Math.min(bytes, d.length - 1)), () => {
          this.pairs.delete(pair);
          this.cuts++;
          pair.down.resetAndDestroy();
          pair.up.resetAndDestroy();
        });
      });
    }
  }

  /** Stop forwarding on every open connection, keeping the sockets open. */
  blackholeAll(): void {
    for (const pair of this.pairs) pair.blackholed = true;
  }

  async close(): Promise<void> {
    this.cutAll('rst');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
