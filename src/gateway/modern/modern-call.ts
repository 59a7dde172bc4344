/**
 * One 2026-07-28 request relayed to a 2025-era tunneled server, as the Multiplexer sees it:
 * an MCP client of its own (McpClientPort) that lives from the first POST to the final
 * answer, across MRTR rounds (S/basic/patterns/mrtr; bridging: docs/gateway.md, "MCP
 * protocol eras").
 *
 * A 2025-era server asks for sampling, elicitation or roots with a JSON-RPC request of its
 * own while it works on the call. A modern client cannot take such a request: the call
 * answers its POST with `input_required` instead, listing what the server asked, and
 * *parks*: the server's call stays open, waiting. The client's retry (a new POST with a new
 * id, `inputResponses` and the sealed `requestState`) resumes the parked call: each input
 * response answers the server's request, and the call waits on for its final result —
 * the tool call is never issued twice. A parked call whose retry does not come within the
 * park time is cancelled at the server.
 *
 *   running ──server asks──▶ gathering ──(short window)──▶ parked ──retry──▶ running …
 *      │                                                    │
 *      └── answer ──▶ done ◀── stream closed / park expired ┘
 */
import type { Logger } from '../../observability/logger.js';
import { classify, rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage } from '../../protocol/jsonrpc.js';
import { asModernResult, ModernErrorCode, MRTR_METHODS, type CacheHints, type ModernEnvelope } from '../../protocol/mcp-modern.js';
import type { Clock } from '../../clock.js';
import { MCP_LOG_LEVELS, type McpLogLevel } from '../mcp/log-levels.js';
import type { McpClientPort } from '../mcp/tunnel-port.js';
import { paramsDigest } from './request-state.js';
import type { ResponseWriter } from './response-writer.js';

/** What a call needs from the endpoint that runs it. */
export interface CallHost {
  fromClient(clientId: string, msg: JsonRpcMessage): void;
  /** The call is over (answered, cancelled or expired): forget it; `reason` cancels upstream work. */
  removeClient(clientId: string, reason?: string): void;
  setCapabilities(clientId: string, capabilities: Record<string, unknown>): void;
  /** Seal the requestState for a parked round; its `ref` is the call id. */
  sealState(call: ModernCall): string;
  /** Hold the parked call for its retry; false when the user may not park another one. */
  park(call: ModernCall): boolean;
  unpark(call: ModernCall): void;
  /** Whether this call is the only modern call running on its server (log attribution). */
  soleCall(call: ModernCall): boolean;
  serverInfo(): Record<string, unknown> | undefined;
  /** The tunneled server speaks 2026-07-28 itself: results pass through, its requestState is wrapped (never parked). */
  modernServer: boolean;
  /** Seal a modern server's own requestState (or none) for the client, bound to this call's user and request. */
  wrapState(call: ModernCall, inner: string | undefined): string;
  /** A complete result passed through (the endpoint learns tool header declarations from tools/list). */
  learned(method: string, result: Record<string, unknown>): void;
  cacheHints: CacheHints;
  clock: Clock;
  logger: Logger;
  /** How long server requests are gathered into one input_required answer (ms). */
  gatherMs: number;
  /** How long a parked call waits for its retry (ms). */
  parkMs: number;
}

export interface Round {
  writer: ResponseWriter;
  /** The JSON-RPC id of this round's POST. */
  id: JsonRpcId;
  envelope: ModernEnvelope;
  progressToken: string | number | undefined;
}

type CallState = 'running' | 'gathering' | 'parked' | 'done';

/** Requests a 2025-era server may send its client, and the capability each needs. */
const INPUT_METHODS: Readonly<Record<string, string>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

let counter = 0;
/**
 * Call ids are unique within the process (the counter) and between processes (this random
 * part, drawn once per process): a parked call's id travels in a sealed requestState, and
 * one sealed by another replica or before a restart must not name a call here. Drawn once,
 * not per call: Number#toString(36) of a random double costs microseconds.
 */
const PROCESS_PART = Math.random().toString(36).slice(2, 10);

export class ModernCall implements McpClientPort {
  readonly id = `modern-${PROCESS_PART}-${(++counter).toString(36)}`;
  readonly exclusive = true;
  private state: CallState = 'running';
  /** Rounds parked so far: each round's requestState names its own round, so an older one cannot resume a later one. */
  private parks = 0;
  /** Capabilities the server asked for that this round's request did not declare. */
  private readonly missing = new Set<string>();
  /** The server's requests not answered yet, by the gateway id the Multiplexer gave them. */
  private readonly inputs = new Map<string, { method: string; params?: unknown }>();
  private timer: unknown;
  /** The final answer when it came while parked (the retry gets it). */
  private held: JsonRpcMessage | undefined;

  constructor(
    private readonly host: CallHost,
    readonly principal: string,
    readonly server: string,
    readonly method: string,
    /** The first round's params: their digest (request-state.ts) identifies the call across rounds. */
    private readonly params: Record<string, unknown>,
    /** The first round's id: the one the Multiplexer knows the call by. */
    private readonly firstId: JsonRpcId,
    private round: Round,
  ) {}

  private digest_: string | undefined;

  /** The params digest a requestState binds to; computed only when one is sealed (most calls never need it). */
  get digest(): string {
    return (this.digest_ ??= paramsDigest(this.params));
  }

  /** What the current round's requestState points to (single use: the next round has another). */
  get parkRef(): string {
    return `${this.id}#${this.parks}`;
  }

  get running(): boolean {
    return this.state === 'running' || this.state === 'gathering';
  }

  get logLevel(): string | undefined {
    return this.round.envelope.logLevel;
  }

  /** Relay the first round's request (the caller registered the call with the Multiplexer). */
  start(request: JsonRpcMessage): void {
    this.watch(this.round);
    this.host.fromClient(this.id, request);
  }

  /** The retry of a parked call: answer what the server asked, then wait on. */
  resume(round: Round, inputResponses: Record<string, unknown>): void {
    if (this.state !== 'parked') return;
    this.host.clock.clearTimeout(this.timer);
    this.round = round;
    this.state = 'running';
    this.host.setCapabilities(this.id, round.envelope.clientCapabilities);
    this.watch(round);
    if (this.held) return this.finish(this.held);
    for (const [key, value] of Object.entries(inputResponses)) {
      if (!this.inputs.delete(key)) continue;
      this.host.fromClient(this.id, { jsonrpc: '2.0', id: key, result: (value ?? {}) as Record<string, unknown> });
    }
    // S/…/mrtr "Error Handling": ask again for what is still missing rather than fail.
    if (this.inputs.size > 0) this.flush();
  }

  /** From the Multiplexer: the answer, a notification for this call, or the server asking for input. */
  send(msg: JsonRpcMessage, related?: JsonRpcId): void {
    if (this.state === 'done') return;
    switch (classify(msg)) {
      case 'response':
        return this.answer(msg);
      case 'request':
        return this.serverAsks(msg as JsonRpcMessage & { id: string; method: string; params?: unknown });
      case 'notification':
        return this.notification(msg as { method: string; params?: Record<string, unknown> }, related);
      default:
    }
  }

  /** Gateway shutdown or server gone while parked: nothing more will come. */
  abandon(reason: string): void {
    if (this.state === 'done') return;
    this.end(reason);
  }

  private answer(msg: JsonRpcMessage): void {
    if (this.state === 'parked') {
      this.held = msg;
      return;
    }
    this.finish(msg);
  }

  private finish(msg: JsonRpcMessage): void {
    const writer = this.round.writer;
    let out = this.translate(msg);
    let status = 200;
    if ('error' in out && this.missing.size > 0) {
      // The server failed for want of a capability the request did not declare (S/basic/index, -32021).
      const requiredCapabilities = Object.fromEntries([...this.missing].map((c) => [c, {}]));
      out = rpcError(this.round.id, ModernErrorCode.MissingRequiredClientCapability, `Missing required client capability: ${[...this.missing].join(', ')}`, { requiredCapabilities });
      status = 400;
    } else if ('error' in out && out.error.code === RpcErrorCode.MethodNotFound) {
      // A 2025-era server's "method not found" is the modern endpoint's 404 (S/…/streamable-http).
      status = 404;
    }
    this.state = 'done';
    this.host.clock.clearTimeout(this.timer);
    writer.finish(out, status);
    this.host.removeClient(this.id);
  }

  /** The server's answer for this round's id, in 2026-07-28 shape. */
  private translate(msg: JsonRpcMessage): JsonRpcMessage {
    const id = this.round.id;
    if ('error' in msg) {
      const e = msg.error;
      // "Resource not found" moved from -32002 to -32602 in 2026-07-28.
      const code = this.method === 'resources/read' && e.code === -32002 ? RpcErrorCode.InvalidParams : e.code;
      return rpcError(id, code, e.message, e.data);
    }
    const result = (msg as { result?: Record<string, unknown> }).result ?? {};
    if (this.host.modernServer && result.resultType === 'input_required') {
      // Wrapped so that one client cannot replay another's state: the server sees one caller (the gateway).
      const inner = typeof result.requestState === 'string' ? result.requestState : undefined;
      return { jsonrpc: '2.0', id, result: { ...result, requestState: this.host.wrapState(this, inner) } };
    }
    this.host.learned(this.method, result);
    return { jsonrpc: '2.0', id, result: asModernResult(this.method, result, this.host.cacheHints, this.host.serverInfo(), true) };
  }

  private serverAsks(req: { id: string; method: string; params?: unknown }): void {
    const cap = INPUT_METHODS[req.method];
    const declared = cap !== undefined && this.round.envelope.clientCapabilities[cap] !== undefined;
    if (!MRTR_METHODS.has(this.method) || !declared || this.host.modernServer) {
      const why = this.host.modernServer
        ? 'a 2026-07-28 server asks with input_required, not with requests'
        : !MRTR_METHODS.has(this.method)
        ? `${this.method} cannot ask the client for input in MCP 2026-07-28 (only tools/call, prompts/get and resources/read can)`
        : `the client's request did not declare the ${cap ?? req.method} capability`;
      this.host.logger.info({ event: 'server_request_refused', method: req.method, call: this.method }, why);
      if (cap !== undefined && !declared) this.missing.add(cap);
      this.host.fromClient(this.id, rpcError(req.id, RpcErrorCode.MethodNotFound, why));
      return;
    }
    // While parked, it waits with the others for the retry, which asks for it again.
    this.inputs.set(req.id, req.params === undefined ? { method: req.method } : { method: req.method, params: req.params });
    if (this.state === 'running') {
      // Requests a server sends together (Promise.all) arrive together: answer them in one round.
      this.state = 'gathering';
      this.timer = this.host.clock.setTimeout(() => this.flush(), this.host.gatherMs);
    }
  }

  /** Answer this round with `input_required` and park until the retry. */
  private flush(): void {
    if (this.state === 'done' || this.inputs.size === 0) return;
    const writer = this.round.writer;
    if (!writer.open) return this.end('the MCP client closed the request before the server got its input');
    const inputRequests: Record<string, unknown> = {};
    for (const [key, r] of this.inputs) inputRequests[key] = r;
    this.state = 'parked';
    this.parks++;
    if (!this.host.park(this)) return this.fail('too many calls of this user are waiting for input (--max-mcp-sessions-per-user)');
    const result = { resultType: 'input_required', inputRequests, requestState: this.host.sealState(this) };
    writer.finish({ jsonrpc: '2.0', id: this.round.id, result });
    const secs = this.host.parkMs / 1000;
    this.timer = this.host.clock.setTimeout(() => this.end(`input_required was not retried within ${secs} s`), this.host.parkMs);
  }

  private notification(n: { method: string; params?: Record<string, unknown> }, related: JsonRpcId | undefined): void {
    if (!this.running) return; // between rounds: nobody to tell (S/…/mrtr: progress of a parked call is dropped)
    const writer = this.round.writer;
    if (n.method === 'notifications/progress' && related === this.firstId) {
      const token = this.round.progressToken;
      if (token !== undefined) writer.event({ jsonrpc: '2.0', method: n.method, params: { ...n.params, progressToken: token } });
      return;
    }
    // Log messages carry no request id: pass one on only when it can belong to no other call.
    if (n.method === 'notifications/message' && related === undefined && this.admits(n.params?.level) && this.host.soleCall(this)) {
      writer.event(n);
    }
  }

  private admits(level: unknown): boolean {
    const wanted = this.logLevel;
    if (wanted === undefined || typeof level !== 'string') return false;
    const rank = (l: string): number => MCP_LOG_LEVELS.indexOf(l as McpLogLevel);
    return rank(level) >= 0 && rank(level) >= rank(wanted);
  }

  /** Closing the POST's stream before the answer cancels the call (S/basic/patterns/cancellation). */
  private watch(round: Round): void {
    round.writer.res.once('close', () => {
      if (this.round === round && this.running && !round.writer.res.writableFinished) this.end('the MCP client closed the request stream');
    });
  }

  /** End with a JSON-RPC error to the client; the server's work is cancelled. */
  private fail(message: string): void {
    this.state = 'done';
    this.host.clock.clearTimeout(this.timer);
    this.round.writer.finish(rpcError(this.round.id, -32000, message));
    this.host.removeClient(this.id, message);
  }

  private end(reason: string): void {
    if (this.state === 'done') return;
    const wasParked = this.state === 'parked';
    this.state = 'done';
    this.host.clock.clearTimeout(this.timer);
    if (wasParked) this.host.unpark(this);
    this.round.writer.end();
    this.host.logger.debug({ event: 'modern_call_ended', call: this.method, reason }, `modern ${this.method} ended: ${reason}`);
    this.host.removeClient(this.id, reason);
  }
}
