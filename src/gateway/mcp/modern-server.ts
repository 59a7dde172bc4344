/**
 * A tunneled server that speaks only MCP 2026-07-28 ("modern": no initialize, every request
 * carries `_meta`, MRTR instead of server→client requests, `subscriptions/listen` for change
 * notifications), seen by the Multiplexer's 2025-era clients as if it were one of theirs
 * (docs/gateway.md, "MCP protocol eras", "A 2026-07-28 server to 2025-era clients"):
 *
 * - their requests get the `_meta` envelope: the version, the capabilities and client info
 *   their session declared in `initialize`, the level they set with `logging/setLevel`;
 * - `logging/setLevel` and `resources/(un)subscribe` are answered here (the server has
 *   neither): levels ride on each request, subscriptions on the gateway's own listen stream;
 * - one gateway-owned `subscriptions/listen` on the server carries its change notifications,
 *   reopened when the union of subscribed resources changes (filters are immutable);
 * - an `input_required` answer is turned into real server→client requests on the asking
 *   client's session (`InputShim`), and the call is issued again with the answers and the
 *   server's `requestState`, up to MAX_ROUNDS times;
 * - results lose the fields a 2025 client does not know (`resultType`, cache hints).
 */
import { rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../../protocol/jsonrpc.js';
import { asLegacyResult, LATEST_MODERN_VERSION, META, metaOf, withEnvelope } from '../../protocol/mcp-modern.js';

/** Rounds of input one call may ask for before the gateway gives up on it. */
export const MAX_ROUNDS = 8;
const LISTEN_PREFIX = 'gateway-listen-';
const INPUT_PREFIX = 'gateway-input-';

/** What the bridge knows of one 2025-era client. */
export interface LegacyClientInfo {
  capabilities: Record<string, unknown> | undefined;
  clientInfo?: { name: string; version: string };
}

/** One request of a 2025-era client waiting on the server, as the shim needs it. */
export interface ShimCall {
  clientId: string;
  originalId: JsonRpcId;
  /** The client's request with the envelope, before id and token rewriting (re-issued per round). */
  request: JsonRpcRequest;
  rounds: number;
}

export class ModernServerBridge {
  private listenId: string | undefined;
  private listenUris = '';
  private nextListen = 0;
  private nextInput = 0;
  /** Per client: the level it set (it rides on its requests as `_meta` logLevel). */
  private readonly levels = new Map<string, string>();
  /** Input requests sent to clients: gateway id → the call and its key. */
  private readonly asked = new Map<string, { call: ShimCall; key: string }>();
  /** Per call: the answers so far and the keys still open. */
  private readonly rounds = new Map<ShimCall, { state: unknown; answers: Record<string, unknown>; open: Set<string> }>();

  /** The request a 2025-era client's message becomes for the server. */
  withEnvelope(client: LegacyClientInfo & { id: string }, msg: JsonRpcRequest): JsonRpcRequest {
    if (metaOf(msg.params)?.[META.protocolVersion] !== undefined) return msg; // a 2026-07-28 client's own
    const level = this.levels.get(client.id);
    const envelope = {
      protocolVersion: LATEST_MODERN_VERSION,
      clientCapabilities: client.capabilities ?? {},
      ...(client.clientInfo ? { clientInfo: client.clientInfo } : {}),
      ...(level !== undefined ? { logLevel: level } : {}),
    };
    return { ...msg, params: withEnvelope(msg.params, envelope) };
  }

  /** A client's `logging/setLevel`: kept for its requests. */
  setLevel(clientId: string, level: string): void {
    this.levels.set(clientId, level);
  }

  clientGone(clientId: string): void {
    this.levels.delete(clientId);
    for (const [id, a] of this.asked) if (a.call.clientId === clientId) this.asked.delete(id);
  }

  /**
   * What opens the gateway's own listen for these resource URIs (after a cancel of the
   * previous one), or nothing when the open one already covers them. `force`: a new server
   * process, which holds no listen.
   */
  listen(uris: readonly string[], force = false): JsonRpcMessage[] {
    const key = [...uris].sort().join('\n');
    if (force) this.listenId = undefined;
    if (this.listenId !== undefined && key === this.listenUris) return [];
    const previous = this.listenId;
    this.listenId = `${LISTEN_PREFIX}${++this.nextListen}`;
    this.listenUris = key;
    const notifications = { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true, ...(uris.length > 0 ? { resourceSubscriptions: [...uris] } : {}) };
    const open = this.withEnvelope({ id: '', capabilities: {} }, { jsonrpc: '2.0', id: this.listenId, method: 'subscriptions/listen', params: { notifications } });
    if (previous === undefined) return [open];
    return [{ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: previous, reason: 'subscriptions changed' } }, open];
  }

  /**
   * A notification from the server: 'drop' (the acknowledgement, or a stream we no longer
   * hold), or the message to fan out, without the gateway's subscription id on it.
   */
  notification(n: { method: string; params?: Record<string, unknown> }): JsonRpcMessage | 'drop' {
    const meta = metaOf(n.params);
    const sid = meta?.[META.subscriptionId];
    if (sid === undefined) return n as JsonRpcMessage;
    if (typeof sid !== 'string' || !sid.startsWith(LISTEN_PREFIX) || sid !== this.listenId) return 'drop';
    if (n.method === 'notifications/subscriptions/acknowledged') return 'drop';
    const { [META.subscriptionId]: _s, ...rest } = meta!;
    const params = { ...n.params };
    if (Object.keys(rest).length > 0) params._meta = rest;
    else delete params._meta;
    return { jsonrpc: '2.0', method: n.method, params };
  }

  /** An answer of the gateway's own listen (the server ended it): reopen on the next listen(). */
  ownAnswer(id: unknown): boolean {
    if (typeof id !== 'string' || !id.startsWith(LISTEN_PREFIX)) return false;
    if (id === this.listenId) this.listenId = undefined;
    return true;
  }

  /**
   * The server's answer to a 2025-era client's call: the message to deliver (translated),
   * or the input requests to put to the client first.
   */
  answer(call: ShimCall, msg: JsonRpcMessage): { kind: 'deliver'; msg: JsonRpcMessage } | { kind: 'ask'; requests: JsonRpcRequest[] } {
    if ('error' in msg) return { kind: 'deliver', msg: { ...msg, id: call.originalId } as JsonRpcMessage };
    const result = ((msg as { result?: Record<string, unknown> }).result ?? {}) as Record<string, unknown>;
    if (result.resultType !== 'input_required') return { kind: 'deliver', msg: { jsonrpc: '2.0', id: call.originalId, result: asLegacyResult(result) } };
    if (++call.rounds > MAX_ROUNDS) {
      return { kind: 'deliver', msg: rpcError(call.originalId, RpcErrorCode.InternalError, `the server asked for input more than ${MAX_ROUNDS} times for one ${call.request.method}`) };
    }
    const inputs = (result.inputRequests ?? {}) as Record<string, { method?: unknown; params?: unknown }>;
    const requests: JsonRpcRequest[] = [];
    const open = new Set<string>();
    for (const [key, r] of Object.entries(inputs)) {
      if (typeof r?.method !== 'string') continue;
      const id = `${INPUT_PREFIX}${++this.nextInput}`;
      this.asked.set(id, { call, key });
      open.add(key);
      requests.push({ jsonrpc: '2.0', id, method: r.method, ...(r.params !== undefined ? { params: r.params as Record<string, unknown> } : {}) });
    }
    this.rounds.set(call, { state: result.requestState, answers: {}, open });
    // Only a requestState ("retry now", S/…/mrtr): issue again at once.
    return { kind: 'ask', requests };
  }

  /**
   * A client's answer to one of those: undefined when it is not ours; 'wait' while others
   * are open; otherwise the call to issue again, or the client's error to end it with.
   */
  clientAnswer(clientId: string, msg: JsonRpcMessage): undefined | 'wait' | { call: ShimCall; retry: JsonRpcRequest } | { call: ShimCall; failed: string } {
    const id = (msg as { id?: unknown }).id;
    const a = typeof id === 'string' ? this.asked.get(id) : undefined;
    if (!a || a.call.clientId !== clientId) return undefined;
    this.asked.delete(id as string);
    const round = this.rounds.get(a.call);
    if (!round) return 'wait';
    if ('error' in msg) {
      this.rounds.delete(a.call);
      return { call: a.call, failed: `the client answered ${a.key} with an error: ${msg.error.message}` };
    }
    round.answers[a.key] = (msg as { result?: unknown }).result ?? {};
    round.open.delete(a.key);
    return round.open.size > 0 ? 'wait' : this.reissue(a.call);
  }

  /** The call again, with this round's answers and the server's state (S/basic/patterns/mrtr). */
  reissue(call: ShimCall): { call: ShimCall; retry: JsonRpcRequest } {
    const round = this.rounds.get(call);
    this.rounds.delete(call);
    const params: Record<string, unknown> = { ...call.request.params };
    if (round && Object.keys(round.answers).length > 0) params.inputResponses = round.answers;
    if (typeof round?.state === 'string') params.requestState = round.state;
    return { call, retry: { ...call.request, params } };
  }

  /** The call ended (answered, cancelled, timed out): forget its open round. */
  callEnded(call: ShimCall): void {
    this.rounds.delete(call);
    for (const [id, a] of this.asked) if (a.call === call) this.asked.delete(id);
  }
}
