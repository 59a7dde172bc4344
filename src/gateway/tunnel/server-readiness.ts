/**
 * The tunneled server's MCP state, as one tunnel session knows it: its InitializeResult
 * (what every MCP client's `initialize` is answered with), and whether it takes requests.
 *
 * - A client that registered its server's InitializeResult (ours) is ready at once.
 * - A ContextForge-style client registers only `{name, description, protocol}`: it relays
 *   raw stdio and expects the gateway to be the MCP client of record, so the gateway runs
 *   `initialize` through the tunnel itself once a link is attached (as ContextForge's
 *   gateway does), within the request timeout.
 * - `server_status` (docs/protocol.md §2.1): the client's local server went down (requests
 *   are refused until it is back) or is back, possibly with a new InitializeResult.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import { clip } from '../../observability/log-text.js';
import type { ServerStatusEnvelope } from '../../protocol/envelope.js';
import { classify, type JsonRpcMessage } from '../../protocol/jsonrpc.js';
import { INITIALIZED_NOTIFICATION, initializeRequest, readInitializeAnswer, type InitializeResult } from '../../protocol/mcp-handshake.js';

export const GATEWAY_CLIENT_INFO = { name: 'mcp-reverse-proxy-gateway', version: '0.1.0' } as const;

export interface ServerReadinessOptions {
  serverName: string;
  /** From register; undefined starts the gateway's own initialize handshake. */
  initializeResult: InitializeResult | undefined;
  requestTimeoutMs: number;
  clock: Clock;
  log: Logger;
  /** Whether a peer-triggered log line may be written now (rate limit, per event). */
  mayLog: (event: string) => boolean;
  /** Send a JSON-RPC message to the server. */
  push: (payload: JsonRpcMessage) => void;
  /** A message for the MCP clients, as if the server had sent it. */
  announce: (payload: JsonRpcMessage) => void;
  /** The gateway's own initialize succeeded. */
  onReady: () => void;
  /** It failed: the session must end. */
  onFailed: (why: string) => void;
}

type Readiness =
  | { state: 'handshaking'; requestId: string; timer: unknown }
  | { state: 'ready'; result: InitializeResult };

export class ServerReadiness {
  private readiness: Readiness;
  /** Set while the client says its local server is down. */
  private serverDown: string | undefined;

  constructor(private readonly o: ServerReadinessOptions) {
    this.readiness = o.initializeResult
      ? { state: 'ready', result: o.initializeResult }
      : { state: 'handshaking', requestId: `gateway-initialize-${randomUUID()}`, timer: undefined };
  }

  get ready(): boolean {
    return this.readiness.state === 'ready';
  }

  get result(): InitializeResult | undefined {
    return this.readiness.state === 'ready' ? this.readiness.result : undefined;
  }

  /** Why requests cannot go to the server now (initializing, or its process restarting), or undefined. */
  unavailableReason(): string | undefined {
    if (this.readiness.state !== 'ready') return `server ${this.o.serverName} is still initializing`;
    return this.serverDown;
  }

  /** A link is attached: the first one starts the gateway's own initialize, when one is needed. */
  linked(): void {
    if (this.readiness.state !== 'handshaking' || this.readiness.timer !== undefined) return;
    const secs = this.o.requestTimeoutMs / 1000;
    this.readiness.timer = this.o.clock.setTimeout(
      () => this.fail(`server did not answer the gateway's initialize within ${secs} s`),
      this.o.requestTimeoutMs,
    );
    this.o.log.info({ event: 'gateway_initialize' }, 'client registered without serverInfo: initializing the server through the tunnel');
    this.o.push(initializeRequest(this.readiness.requestId, { clientInfo: GATEWAY_CLIENT_INFO, capabilities: {} }));
  }

  /** A payload from the server: true when it answered the gateway's initialize (consumed here). */
  answered(payload: JsonRpcMessage): boolean {
    const r = this.readiness;
    if (r.state !== 'handshaking' || classify(payload) !== 'response' || (payload as { id: unknown }).id !== r.requestId) return false;
    const answer = readInitializeAnswer(payload);
    if (answer.kind === 'refused') this.fail(`server refused initialize: ${answer.message} (code ${answer.code})`);
    else if (answer.kind === 'malformed') this.fail(answer.reason);
    else this.finish(answer.result);
    return true;
  }

  /**
   * The client's local server went down (requests now get -32001 at once; the client fails
   * those it had forwarded) or is back, possibly with a new InitializeResult for new MCP clients.
   */
  serverStatus(env: ServerStatusEnvelope): void {
    const name = this.o.serverName;
    if (env.available === false) {
      const why = typeof env.reason === 'string' && env.reason !== '' ? `: ${env.reason.slice(0, 500)}` : '';
      this.serverDown = `local server restarting${why}`;
      if (this.o.mayLog('server_unavailable')) {
        this.o.log.warn({ event: 'server_unavailable', reason: clip(env.reason) }, `server ${name} is unavailable${clip(why)}`);
      }
    } else if (env.available === true) {
      const wasDown = this.serverDown !== undefined;
      this.serverDown = undefined;
      const s = env.server as Partial<InitializeResult> | undefined;
      if (this.readiness.state === 'ready' && s && typeof s.protocolVersion === 'string' && typeof s.serverInfo?.name === 'string') {
        const result: InitializeResult = { protocolVersion: s.protocolVersion, serverInfo: s.serverInfo, capabilities: s.capabilities ?? {} };
        if (typeof s.instructions === 'string') result.instructions = s.instructions;
        this.readiness = { state: 'ready', result };
        // A new process may list other tools, resources or prompts: let MCP clients that can refresh do so.
        for (const kind of wasDown ? ['tools', 'resources', 'prompts'] : []) {
          const cap = result.capabilities[kind] as { listChanged?: unknown } | undefined;
          if (cap?.listChanged === true) this.o.announce({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
        }
      }
      if (this.o.mayLog('server_available')) this.o.log.info({ event: 'server_available' }, `server ${name} is available again`);
    }
  }

  /** The session ended: no handshake deadline any more. */
  stop(): void {
    if (this.readiness.state === 'handshaking') this.o.clock.clearTimeout(this.readiness.timer);
  }

  private finish(result: InitializeResult): void {
    if (this.readiness.state !== 'handshaking') return;
    this.o.clock.clearTimeout(this.readiness.timer);
    this.readiness = { state: 'ready', result };
    this.o.push(INITIALIZED_NOTIFICATION);
    const serverInfo = { name: clip(result.serverInfo.name, 80), version: clip(result.serverInfo.version, 40) };
    this.o.log.info({ event: 'server_ready', serverInfo }, 'server initialized through the tunnel');
    this.o.onReady();
  }

  private fail(why: string): void {
    this.o.log.error({ event: 'gateway_initialize_failed', reason: clip(why) }, `could not initialize the server: ${clip(why)}`);
    this.o.onFailed(why);
  }
}
