/**
 * Backpressure between the local server and the tunnel, both ways (docs/delivery.md,
 * "Within which bounds"). Nothing here buffers without bound; each side is slowed down
 * at its source instead:
 *
 * - child → gateway: when the tunnel's outbox is full, the child's stdout is paused (the
 *   child then blocks on its own writes). Messages already read wait in `backlog`, in
 *   order: at most what one read of stdout held (64 KiB of lines, or the one line it
 *   completed, up to --max-line-bytes), plus errors for requests the child owed when it died. The tunnel's 'drain' sends them on and resumes stdout.
 * - gateway → child: while the child's stdin is congested (a server that reads slower than
 *   it is asked, or not at all), or while the backlog above is not empty, the tunnel holds
 *   the gateway's frames unacknowledged (TunnelClient.pauseInbound). The gateway's queue
 *   then fills and it answers new MCP requests with -32002 at once.
 */
import type { Logger } from '../observability/logger.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import type { ChildSupervisor } from './child-supervisor.js';
import type { TunnelClient } from './tunnel-client.js';

export class Backpressure {
  /** Messages read from the child while the outbox was full, in order. */
  private readonly backlog: JsonRpcMessage[] = [];
  private stdinCongested = false;
  private saturatedLogged = false;

  constructor(
    private readonly local: ChildSupervisor,
    private readonly tunnel: TunnelClient,
    private readonly log: Logger,
  ) {
    tunnel.on('drain', () => this.drainBacklog());
    local.on('drain', () => this.setStdinCongested(false));
  }

  /** One message towards the gateway, in order; when the outbox is full, hold it and pause the child. */
  upstream(msg: JsonRpcMessage): void {
    if (this.backlog.length === 0 && this.tunnel.push(msg)) return;
    this.backlog.push(msg);
    this.local.pause();
    if (this.backlog.length === 1) this.gate();
    if (!this.saturatedLogged) {
      this.saturatedLogged = true;
      const ch = this.tunnel.channel;
      this.log.warn(
        { event: 'queue_full', outboxBytes: ch.outboxBytes, maxQueueBytes: ch.maxQueueBytes },
        'tunnel queue is full: pausing the local server output until the gateway catches up',
      );
    }
  }

  /** One message for the child; stop taking the gateway's frames while its stdin is full. */
  toChild(msg: JsonRpcMessage): void {
    this.local.send(msg);
    if (this.local.stdinCongested) this.setStdinCongested(true);
  }

  /** A new child process (restart), or none: whatever congested the old one's stdin is gone. */
  childReplaced(): void {
    this.setStdinCongested(false);
  }

  private drainBacklog(): void {
    while (this.backlog.length > 0 && this.tunnel.push(this.backlog[0]!)) this.backlog.shift();
    if (this.backlog.length > 0) return;
    this.saturatedLogged = false;
    this.local.resume();
    this.gate();
    this.log.info({ event: 'queue_drained' }, 'tunnel queue drained: reading the local server again');
  }

  private setStdinCongested(congested: boolean): void {
    if (this.stdinCongested === congested) return;
    this.stdinCongested = congested;
    this.log.debug(
      { event: congested ? 'stdin_congested' : 'stdin_drained', heldBytes: this.tunnel.channel.heldBytes },
      congested ? "local server's stdin is full: holding the gateway's messages" : "local server's stdin drained",
    );
    this.gate();
  }

  private gate(): void {
    if (this.stdinCongested || this.backlog.length > 0) this.tunnel.pauseInbound();
    else this.tunnel.resumeInbound();
  }
}
