/**
 * In-memory stand-ins for the multiplexer's two sides (src/gateway/mcp/tunnel-port.ts) and a
 * manual clock: multiplexer tests run without sockets or real time.
 */
import type { Clock } from '../../src/clock.js';
import type { JsonRpcId, JsonRpcMessage } from '../../src/protocol/jsonrpc.js';
import type { McpClientPort, TunnelPort } from '../../src/gateway/mcp/tunnel-port.js';
import type { InitializeResult } from '../../src/protocol/mcp-handshake.js';
import type { TransportCloseInfo, TunnelLink } from '../../src/transport/transport.js';
import { QueueFullError } from '../../src/errors.js';

export const FAKE_INIT: InitializeResult = {
  protocolVersion: '2025-06-18',
  capabilities: { tools: {} },
  serverInfo: { name: 'fake', version: '1' },
};

export class FakeTunnelPort implements TunnelPort {
  readonly pushed: any[] = [];
  unavailable: string | undefined;
  saturated = false;
  initializeResult: InitializeResult | undefined = FAKE_INIT;

  constructor(
    readonly sessionId = 'tunnel-1',
    readonly serverName = 'fake',
  ) {}

  unavailableReason(): string | undefined {
    return this.unavailable;
  }

  push(payload: JsonRpcMessage): void {
    if (this.saturated) throw new QueueFullError(100, 10);
    this.pushed.push(payload);
  }
}

export class FakeClientPort implements McpClientPort {
  readonly received: Array<{ msg: any; related: JsonRpcId | undefined }> = [];
  constructor(
    readonly id: string,
    readonly principal = 'alice',
  ) {}
  send(msg: JsonRpcMessage, related?: JsonRpcId): void {
    this.received.push({ msg, related });
  }
  get messages(): any[] {
    return this.received.map((r) => r.msg);
  }
}

/** Timers fire only when the test calls advance(). */
export class ManualClock implements Clock {
  time = 0;
  now(): number {
    return this.time;
  }
  private next = 1;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { due: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    this.time += ms;
    for (const [id, t] of [...this.timers].sort((a, b) => a[1].due - b[1].due)) {
      if (t.due <= this.time && this.timers.delete(id)) t.fn();
    }
  }
}

/** Let the multiplexer's deferred deliveries (microtasks) run: setImmediate fires after all of them. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A tunnel link kept in memory: frames sent are parsed into `sent`; `close` reports once, as a real link does. */
export class MemoryLink implements TunnelLink {
  readonly kind = 'ws' as const;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  readonly sent: any[] = [];
  send(frame: string): boolean {
    this.sent.push(JSON.parse(frame));
    return true;
  }
  close(reason = 'closed'): void {
    const cb = this.onclose;
    this.onclose = undefined;
    cb?.({ reason });
  }
  /** Frames from the peer. */
  deliver(frame: object): void {
    this.onmessage?.(JSON.stringify(frame));
  }
}
