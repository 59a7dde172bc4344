/**
 * ReverseProxyClient: the whole client side — the local stdio MCP server (child), the id
 * bridge and the tunnel — behind one object with typed events. The CLI's `connect`
 * command is a thin wrapper around it; so is any program that embeds the tunnel.
 */
import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import type { ConnectOptions } from '../config/types.js';
import { LocalServerError, ReverseProxyError } from '../errors.js';
import { createDispatcher } from '../net/dispatcher.js';
import type { Logger } from '../observability/logger.js';
import type { ServerDescription } from '../protocol/envelope.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import { TransportNegotiator } from '../transport/negotiator.js';
import type { TransportKind } from '../transport/transport.js';
import { redactUrl } from '../transport/urls.js';
import { IdBridge } from './id-bridge.js';
import { LocalServer, type ExitInfo } from './local-server.js';
import { TunnelClient } from './tunnel-client.js';

export interface ReverseProxyClientEvents {
  /** The tunnel is registered (fresh or resumed) on a transport. */
  connected: [{ sessionId: string; transport: TransportKind; resumed: boolean }];
  disconnected: [{ reason: string; transport: TransportKind }];
  'transport-changed': [{ from: TransportKind; to: TransportKind }];
  /** Frames replayed after a resume. */
  replayed: [{ count: number; sessionId: string }];
  'child-exit': [ExitInfo];
}

export type ClientState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface ReverseProxyClientOptions extends ConnectOptions {
  logger: Logger;
  /** Environment the child inherits (secrets are stripped). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Override the undici dispatcher (tests). */
  dispatcher?: Dispatcher;
}

export class ReverseProxyClient extends EventEmitter<ReverseProxyClientEvents> {
  private readonly opts: ReverseProxyClientOptions;
  private readonly log: Logger;
  private local: LocalServer | undefined;
  private tunnel: TunnelClient | undefined;
  private readonly bridge = new IdBridge();
  /** Messages read from the child while the outbox was full, in order. */
  private readonly upstreamBacklog: JsonRpcMessage[] = [];
  private state_: ClientState = 'idle';
  private stopping: Promise<void> | undefined;

  constructor(opts: ReverseProxyClientOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger;
  }

  get state(): ClientState {
    return this.state_;
  }

  get sessionId(): string | undefined {
    return this.tunnel?.sessionId;
  }

  get transport(): TransportKind | undefined {
    return this.tunnel?.transportKind;
  }

  /**
   * Start the child and the tunnel; resolves when stop() completes, rejects with the fatal
   * error (auth rejected, max retries, child exited, ...) after cleaning up.
   */
  async run(): Promise<void> {
    if (this.state_ !== 'idle') throw new Error('ReverseProxyClient.run() called twice');
    this.state_ = 'starting';
    const o = this.opts;
    const dispatcher = o.dispatcher ?? createDispatcher(o);
    const local = new LocalServer({
      command: o.localStdio,
      maxLineBytes: o.maxLineBytes,
      initTimeoutMs: o.initTimeout * 1000,
      logger: this.log,
      ...(o.env ? { env: o.env } : {}),
    });
    this.local = local;
    const init = await local.start();
    const server: ServerDescription = {
      name: o.name,
      protocol: 'stdio',
      serverInfo: init.serverInfo,
      capabilities: init.capabilities,
      protocolVersion: init.protocolVersion,
      ...(o.description ? { description: o.description } : {}),
      ...(init.instructions ? { instructions: init.instructions } : {}),
    };
    const negotiator = new TransportNegotiator({
      mode: o.transport,
      gateway: o.gateway,
      dispatcher,
      handshakeTimeoutMs: o.handshakeTimeout * 1000,
      logger: this.log,
      ...(o.token ? { token: o.token } : {}),
      ...(o.proxy ? { proxy: redactUrl(o.proxy) } : {}),
    });
    const tunnel = new TunnelClient({
      server,
      negotiator,
      reconnectDelayMs: o.reconnectDelay * 1000,
      maxRetries: o.maxRetries,
      keepaliveMs: o.keepalive * 1000,
      registerTimeoutMs: Math.max(10_000, o.handshakeTimeout * 1000),
      maxQueueBytes: o.maxQueueBytes,
      logger: this.log,
    });
    this.tunnel = tunnel;
    this.wire(local, tunnel);
    this.state_ = 'running';
    this.log.info({ event: 'starting', gateway: redactUrl(o.gateway), server: o.name, transport: o.transport }, `tunnelling "${o.name}" to ${redactUrl(o.gateway)}`);

    const childExit = new Promise<never>((_, reject) => {
      local.onexit = (info) => {
        this.emit('child-exit', info);
        reject(
          new LocalServerError(
            'ERR_LOCAL_SERVER_EXIT',
            `local MCP server exited (${info.signal ? `signal ${info.signal}` : `code ${info.code}`})`,
          ),
        );
      };
    });
    childExit.catch(() => undefined);
    try {
      await Promise.race([tunnel.run(), childExit]);
    } catch (err) {
      if (this.state_ === 'running') {
        await this.shutdown();
        throw err;
      }
    }
    await this.stopping;
  }

  /** Graceful stop: unregister, close the transport, then end the child. Idempotent. */
  stop(): Promise<void> {
    if (this.state_ === 'idle') this.state_ = 'stopped';
    return this.shutdown();
  }

  private shutdown(): Promise<void> {
    if (!this.stopping) {
      this.state_ = 'stopping';
      this.stopping = (async () => {
        await this.tunnel?.stop();
        await this.local?.stop();
        this.state_ = 'stopped';
      })();
    }
    return this.stopping;
  }

  private wire(local: LocalServer, tunnel: TunnelClient): void {
    let saturatedLogged = false;
    local.onmessage = (msg) => {
      const out = this.bridge.fromChild(msg);
      if (!out) {
        this.log.debug({ id: (msg as { id?: unknown }).id }, 'child answered a request of an earlier tunnel session; dropped');
        return;
      }
      if (this.upstreamBacklog.length > 0 || !tunnel.push(out)) {
        this.upstreamBacklog.push(out);
        local.pause();
        if (!saturatedLogged) {
          saturatedLogged = true;
          this.log.warn(
            { event: 'queue_full', outboxBytes: tunnel.channel.outboxBytes, maxQueueBytes: tunnel.channel.maxQueueBytes },
            'tunnel queue is full: pausing the local server output until the gateway catches up',
          );
        }
      }
    };
    tunnel.on('drain', () => {
      while (this.upstreamBacklog.length > 0 && tunnel.push(this.upstreamBacklog[0]!)) this.upstreamBacklog.shift();
      if (this.upstreamBacklog.length === 0) {
        saturatedLogged = false;
        local.resume();
        this.log.info({ event: 'queue_drained' }, 'tunnel queue drained: reading the local server again');
      }
    });
    tunnel.on('message', (msg) => {
      const out = this.bridge.toChild(msg);
      if (out) local.send(out);
    });
    tunnel.on('fresh-session', ({ previousSessionId, sessionId, droppedFrames }) => {
      const { errorsForChild, orphaned } = this.bridge.newEpoch();
      for (const e of errorsForChild) local.send(e);
      this.log.warn(
        { event: 'session_not_resumed', previousSessionId, sessionId, droppedFrames, orphaned, childRequestsFailed: errorsForChild.length },
        `gateway could not resume session ${previousSessionId}; registered as ${sessionId}. ` +
          `${orphaned} request(s) in progress belong to the old session (their MCP clients were answered with errors by the gateway or lost their connection); ` +
          `${errorsForChild.length} request(s) from the local server were answered with errors`,
      );
    });
    tunnel.on('connected', (e) => {
      this.emit('connected', { sessionId: e.sessionId, transport: e.transport, resumed: e.resumed });
      if (e.replayed > 0) this.emit('replayed', { count: e.replayed, sessionId: e.sessionId });
    });
    tunnel.on('disconnected', (e) => this.emit('disconnected', e));
    tunnel.on('transport-changed', (e) => this.emit('transport-changed', e));
  }
}

export { ReverseProxyError };
