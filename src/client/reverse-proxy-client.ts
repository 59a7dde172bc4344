/**
 * ReverseProxyClient: the whole client side — the local stdio MCP server (child), the id
 * bridge and the tunnel — behind one object with typed events. The CLI's `connect`
 * command is a thin wrapper around it; so is any program that embeds the tunnel.
 */
import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { CONNECT_DEFAULTS, type ConnectOptions } from '../config/types.js';
import { ReverseProxyError } from '../errors.js';
import { NetworkPath } from '../net/dispatcher.js';
import { resolveProxySource, type ProxySource } from '../net/proxy-source.js';
import type { Logger } from '../observability/logger.js';
import type { ServerDescription } from '../protocol/envelope.js';
import { classify, rpcError, RpcErrorCode, type JsonRpcMessage, type JsonRpcRequest } from '../protocol/jsonrpc.js';
import type { ChannelStats } from '../protocol/reliable-channel.js';
import { TransportNegotiator } from '../transport/negotiator.js';
import type { TransportKind } from '../transport/transport.js';
import { redactUrl } from '../observability/redact.js';
import { Backpressure } from './backpressure.js';
import { IdBridge } from './id-bridge.js';
import { ChildSupervisor } from './child-supervisor.js';
import { mcpEndpointUrl } from './endpoint-url.js';
import type { ExitInfo } from './local-server.js';
import { RESTART_BASE_DELAY_MS, RESTART_CAP_MS } from './restart-policy.js';
import { describeServer } from '../protocol/mcp-handshake.js';
import { serverDownFrame, serverUpFrame } from './server-status.js';
import { TunnelClient } from './tunnel-client.js';

export interface ReverseProxyClientEvents {
  /** The tunnel is registered (fresh or resumed) on a transport. */
  connected: [{ sessionId: string; transport: TransportKind; resumed: boolean }];
  disconnected: [{ reason: string; transport: TransportKind }];
  'transport-changed': [{ from: TransportKind; to: TransportKind }];
  /** Frames replayed after a resume. */
  replayed: [{ count: number; sessionId: string }];
  'child-exit': [ExitInfo];
  /** The local server was restarted (--restart) and initialized (or probed) again. */
  'child-restart': [{ restarts: number; pid: number | undefined }];
}

/** Counters for monitoring (the client's /metrics reads them at scrape time). */
export interface ReverseProxyClientStats {
  /** Tunnel reconnects (transport lost, then reconnected). */
  reconnects: number;
  childRestarts: number;
  childExits: number;
  /** Whether the local server is up and initialized. */
  childAvailable: boolean;
  channel: ChannelStats | undefined;
}

export type ClientState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface ReverseProxyClientOptions extends ConnectOptions {
  logger: Logger;
  /** Environment the child inherits (secrets are stripped). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Override the undici dispatcher (tests). */
  dispatcher?: Dispatcher;
  /** Every timer of the client: reconnects, keepalive, restarts (tests: fake time). Default the real clock. */
  clock?: Clock;
}

export class ReverseProxyClient extends EventEmitter<ReverseProxyClientEvents> {
  private readonly opts: ReverseProxyClientOptions;
  private readonly log: Logger;
  private local: ChildSupervisor | undefined;
  private childExits = 0;
  private tunnel: TunnelClient | undefined;
  private readonly bridge = new IdBridge({ era: () => this.local?.era ?? 'legacy' });
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

  /** The URL MCP clients use for this server (no token in it). */
  get endpoint(): string {
    return mcpEndpointUrl(this.opts.gateway, this.opts.name);
  }

  stats(): ReverseProxyClientStats {
    return {
      reconnects: this.tunnel?.reconnects ?? 0,
      childRestarts: this.local?.restarts ?? 0,
      childExits: this.childExits,
      childAvailable: this.local?.available ?? false,
      channel: this.tunnel?.channel.stats(),
    };
  }

  /**
   * Start the child and the tunnel; resolves when stop() completes, rejects with the fatal
   * error (auth rejected, max retries, child exited, ...) after cleaning up.
   */
  async run(): Promise<void> {
    if (this.state_ !== 'idle') throw new Error('ReverseProxyClient.run() called twice');
    this.state_ = 'starting';
    const o = this.opts;
    // Proxy (resolved once, from the process's own environment or the OS settings) + TLS; throws ConfigError early.
    const source = o.dispatcher ? undefined : await this.proxySource();
    const network = new NetworkPath({
      gateway: o.gateway,
      env: process.env,
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
      ...(source?.proxy ? { proxy: source.proxy } : {}),
      ...(source?.system ? { system: source.system } : {}),
      ...(source?.proxyPac || source?.system?.kind === 'pac' ? { proxyPacRefreshMs: (o.proxyPacRefresh ?? CONNECT_DEFAULTS.proxyPacRefresh) * 1000 } : {}),
      ...(source?.proxyPac ? { proxyPac: source.proxyPac } : {}),
      warn: (message: string) => this.log.warn({ event: 'proxy_warning' }, message),
      ...(o.proxyUser !== undefined ? { proxyUser: o.proxyUser } : {}),
      ...(o.proxyPassword !== undefined ? { proxyPassword: o.proxyPassword } : {}),
      ...(o.caFile ? { caFile: o.caFile } : {}),
      ...(o.cert ? { cert: o.cert } : {}),
      ...(o.key ? { key: o.key } : {}),
    });
    const local = new ChildSupervisor({
      server: {
        command: o.localStdio,
        maxLineBytes: o.maxLineBytes,
        initTimeoutMs: o.initTimeout * 1000,
        era: o.serverEra ?? CONNECT_DEFAULTS.serverEra,
        ...(o.env ? { env: o.env } : {}),
      },
      policy: {
        mode: o.restart ?? CONNECT_DEFAULTS.restart,
        maxRestarts: o.restartMax ?? CONNECT_DEFAULTS.restartMax,
        windowMs: (o.restartWindow ?? CONNECT_DEFAULTS.restartWindow) * 1000,
        baseDelayMs: RESTART_BASE_DELAY_MS,
        capMs: RESTART_CAP_MS,
      },
      logger: this.log,
      ...(o.clock ? { clock: o.clock } : {}),
    });
    this.local = local;
    const init = await local.start();
    const server: ServerDescription = { name: o.name, protocol: 'stdio', ...(o.description ? { description: o.description } : {}) };
    describeServer(server, init);
    const negotiator = new TransportNegotiator({
      mode: o.transport,
      gateway: o.gateway,
      network,
      handshakeTimeoutMs: o.handshakeTimeout * 1000,
      firstEventTimeoutMs: (o.firstEventTimeout ?? CONNECT_DEFAULTS.firstEventTimeout) * 1000,
      reprobeIntervalMs: (o.reprobeInterval ?? CONNECT_DEFAULTS.reprobeInterval) * 1000,
      keepaliveMs: o.keepalive * 1000,
      logger: this.log,
      ...(o.token ? { token: o.token } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
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
      ...(o.clock ? { clock: o.clock } : {}),
    });
    this.tunnel = tunnel;
    this.wire(local, tunnel, server);
    this.state_ = 'running';
    this.log.info({ event: 'starting', gateway: redactUrl(o.gateway), server: o.name, transport: o.transport }, `tunnelling "${o.name}" to ${redactUrl(o.gateway)}`);

    try {
      await Promise.race([tunnel.run(), local.failed]);
    } catch (err) {
      if (this.state_ === 'running') {
        await this.shutdown();
        throw err;
      }
    }
    await this.stopping;
  }

  /** Which proxy settings apply (src/net/proxy-source.ts), said once in the log. */
  private async proxySource(): Promise<ProxySource> {
    const o = this.opts;
    const source = await resolveProxySource({
      gateway: o.gateway,
      env: process.env,
      ...(o.proxy ? { proxy: o.proxy } : {}),
      ...(o.proxyPac ? { proxyPac: o.proxyPac } : {}),
    });
    for (const w of source.warnings) this.log.warn({ event: 'proxy_warning' }, w);
    this.log.info({ event: 'proxy_source', source: source.description }, `proxy settings: ${source.description}`);
    return source;
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

  /**
   * --restart: while the child is down the gateway hears `server_status` false (it then
   * answers new MCP requests with -32001 itself) and gets JSON-RPC errors for the requests
   * the dead child owed; once a new child is initialized, `server_status` true with its
   * InitializeResult. The tunnel session stays up throughout.
   */
  private wireRestarts(local: ChildSupervisor, tunnel: TunnelClient, server: ServerDescription, upstream: (m: JsonRpcMessage) => void): void {
    let down: string | undefined;
    local.on('child-exit', (info) => {
      this.childExits++;
      this.emit('child-exit', info);
    });
    local.on('down', ({ reason }) => {
      down = reason;
      const owed = this.bridge.childGone(`local server restarting: ${reason} before answering`);
      for (const e of owed) upstream(e);
      tunnel.channel.sendControl(serverDownFrame(reason));
      this.log.info({ event: 'server_status', available: false, failedRequests: owed.length }, `told the gateway the local server is down (${owed.length} request(s) failed)`);
    });
    local.on('up', ({ init, restarts }) => {
      down = undefined;
      describeServer(server, init);
      tunnel.channel.sendControl(serverUpFrame(server));
      this.emit('child-restart', { restarts, pid: local.pid });
    });
    // Control frames are not replayed: after any reconnect, say again what changed since register.
    tunnel.on('connected', () => {
      if (down !== undefined) tunnel.channel.sendControl(serverDownFrame(down));
      else if (local.restarts > 0) tunnel.channel.sendControl(serverUpFrame(server));
    });
  }

  private wire(local: ChildSupervisor, tunnel: TunnelClient, server: ServerDescription): void {
    const flow = new Backpressure(local, tunnel, this.log);
    const upstream = (out: JsonRpcMessage): void => flow.upstream(out);
    local.on('message', (msg) => {
      const out = this.bridge.fromChild(msg);
      if (!out) {
        this.log.debug({ id: (msg as { id?: unknown }).id }, 'child answered a request of an earlier tunnel session; dropped');
        return;
      }
      upstream(out);
    });
    this.wireRestarts(local, tunnel, server, upstream);
    // Another process, another stdin: the old one's congestion no longer holds the gateway back.
    local.on('down', () => flow.childReplaced());
    local.on('up', () => flow.childReplaced());
    tunnel.on('message', (msg) => {
      if (!local.available) {
        // The gateway sent this before it heard server_status(false): answer, never drop.
        if (classify(msg) === 'request') {
          upstream(rpcError((msg as JsonRpcRequest).id, RpcErrorCode.TunnelUnavailable, 'local server restarting'));
        }
        return;
      }
      const out = this.bridge.toChild(msg);
      if (out) flow.toChild(out);
    });
    tunnel.on('fresh-session', ({ previousSessionId, sessionId, droppedFrames }) => {
      const { errorsForChild, orphaned, cancelsForChild } = this.bridge.newEpoch();
      for (const e of [...errorsForChild, ...cancelsForChild]) local.send(e);
      this.log.warn(
        { event: 'session_not_resumed', previousSessionId, sessionId, droppedFrames, orphaned, childRequestsFailed: errorsForChild.length },
        `gateway could not resume session ${previousSessionId}; registered as ${sessionId}. ` +
          `${orphaned} request(s) in progress belong to the old session (their MCP clients were answered with errors by the gateway or lost their connection); ` +
          `${errorsForChild.length} request(s) from the local server were answered with errors`,
      );
    });
    // Once: what CI scripts and users need to point MCP clients at (docs/ci.md).
    tunnel.once('connected', () => this.log.info({ event: 'endpoint', endpoint: this.endpoint, server: server.name }, `MCP endpoint: ${this.endpoint}`));
    tunnel.on('connected', (e) => {
      this.emit('connected', { sessionId: e.sessionId, transport: e.transport, resumed: e.resumed });
      if (e.replayed > 0) this.emit('replayed', { count: e.replayed, sessionId: e.sessionId });
    });
    tunnel.on('disconnected', (e) => this.emit('disconnected', e));
    tunnel.on('transport-changed', (e) => this.emit('transport-changed', e));
  }
}

export { ReverseProxyError };
