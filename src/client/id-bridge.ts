/**
 * JSON-RPC id bookkeeping between the tunnel and the child.
 *
 * Requests from the gateway are renumbered into the child's own id space (one counter for
 * the life of the child). When the gateway cannot resume a session and a fresh one starts,
 * its new ids would otherwise collide with requests the child is still working on; with
 * renumbering, late answers to the old session are recognised and dropped, and new ids
 * never clash. Each tunnel session is an `epoch`.
 *
 * Requests the child sends to the gateway (sampling, roots, elicitation) are tracked too,
 * so that when a session is lost the child gets a JSON-RPC error instead of silence.
 *
 * A 2026-07-28 child (era `modern`) names our requests inside messages too: every message
 * of a `subscriptions/listen` stream carries `_meta["io.modelcontextprotocol/subscriptionId"]`
 * = the listen request's id, and the server may end a stream with `notifications/cancelled`
 * naming it. Those ids are renumbered back as well; a stream nobody asked for any more (an
 * earlier session's, or cancelled) is dropped. Cancelled requests are forgotten at once: a
 * modern server sends nothing more for them. A 2025-era child is bridged exactly as before.
 */
import type { ServerEra } from '../protocol/discover-result.js';
import { classify, rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../protocol/jsonrpc.js';
import { META } from '../protocol/mcp-modern.js';

const key = (id: JsonRpcId): string => (typeof id === 'number' ? `n${id}` : `s${id}`);

interface GatewayRequest {
  gatewayId: JsonRpcId;
  epoch: number;
}

type Params = Record<string, unknown>;
const CANCELLED = 'notifications/cancelled';

export interface IdBridgeOptions {
  /** The child's era, read per message (a restarted child may speak another). Default legacy. */
  era?: () => ServerEra;
}

export class IdBridge {
  private readonly era: () => ServerEra;
  private nextLocalId = 1;
  private epoch_ = 0;
  /** child-side id → the gateway's id for it */
  private readonly toGateway = new Map<number, GatewayRequest>();
  /** gateway id (current epoch) → child-side id, for notifications/cancelled */
  private readonly toLocal = new Map<string, number>();
  /** requests the child sent to the gateway: key(id) → epoch */
  private readonly childRequests = new Map<string, { id: JsonRpcId; epoch: number }>();
  /** answers from the child that belonged to an earlier session and were dropped */
  staleDropped = 0;

  constructor(o: IdBridgeOptions = {}) {
    this.era = o.era ?? (() => 'legacy');
  }

  get epoch(): number {
    return this.epoch_;
  }

  /** Requests the child is still working on for the gateway. */
  get owedToGateway(): number {
    return this.toGateway.size;
  }

  /** Rewrite a message from the gateway for the child; undefined = drop it. */
  toChild(msg: JsonRpcMessage): JsonRpcMessage | undefined {
    switch (classify(msg)) {
      case 'request': {
        const req = msg as JsonRpcRequest;
        const local = this.nextLocalId++;
        this.toGateway.set(local, { gatewayId: req.id, epoch: this.epoch_ });
        this.toLocal.set(key(req.id), local);
        return { ...req, id: local };
      }
      case 'notification': {
        const n = msg as { method: string; params?: Record<string, unknown> };
        if (n.method === CANCELLED && n.params && n.params.requestId !== undefined) {
          const local = this.toLocal.get(key(n.params.requestId as JsonRpcId));
          if (local === undefined) return undefined; // already answered, or from another session
          if (this.era() === 'modern') this.forget(local);
          return { ...n, jsonrpc: '2.0', params: { ...n.params, requestId: local } };
        }
        return msg;
      }
      case 'response': {
        const id = (msg as { id: JsonRpcId | null }).id;
        if (id === null) return msg;
        const pending = this.childRequests.get(key(id));
        if (!pending || pending.epoch !== this.epoch_) return undefined;
        this.childRequests.delete(key(id));
        return msg;
      }
      default:
        return undefined;
    }
  }

  /** Rewrite a message from the child for the gateway; undefined = drop it. */
  fromChild(msg: JsonRpcMessage): JsonRpcMessage | undefined {
    switch (classify(msg)) {
      case 'response': {
        const id = (msg as { id: JsonRpcId | null }).id;
        if (typeof id !== 'number') return id === null ? msg : undefined;
        const entry = this.toGateway.get(id);
        if (!entry) return undefined;
        this.toGateway.delete(id);
        if (entry.epoch !== this.epoch_) {
          this.staleDropped++;
          return undefined;
        }
        this.toLocal.delete(key(entry.gatewayId));
        const out = { ...msg, id: entry.gatewayId } as JsonRpcMessage;
        return this.era() === 'modern' ? restamp(out, 'result', id, entry.gatewayId) : out;
      }
      case 'request': {
        const id = (msg as JsonRpcRequest).id;
        this.childRequests.set(key(id), { id, epoch: this.epoch_ });
        return msg;
      }
      case 'notification':
        return this.era() === 'modern' ? this.modernNotification(msg as { method: string; params?: Params }) : msg;
      default:
        return undefined;
    }
  }

  /** A modern child's notification naming one of our requests: its id back to the gateway's, or dropped. */
  private modernNotification(n: { method: string; params?: Params }): JsonRpcMessage | undefined {
    if (n.method === CANCELLED) {
      // The server ended a request of ours (a listen stream): nothing more comes for it.
      const local = n.params?.requestId;
      const entry = typeof local === 'number' ? this.forget(local) : undefined;
      if (!entry || entry.epoch !== this.epoch_) return undefined;
      return { jsonrpc: '2.0', method: n.method, params: { ...n.params, requestId: entry.gatewayId } };
    }
    const sub = metaOf(n.params)?.[META.subscriptionId];
    if (sub === undefined) return n as JsonRpcMessage;
    const entry = typeof sub === 'number' ? this.toGateway.get(sub) : undefined;
    if (typeof sub !== 'number' || !entry || entry.epoch !== this.epoch_) return undefined;
    return restamp(n as JsonRpcMessage, 'params', sub, entry.gatewayId);
  }

  /** Drop the bookkeeping of a request that will get no answer (cancelled); returns what it was. */
  private forget(local: number): GatewayRequest | undefined {
    const entry = this.toGateway.get(local);
    if (!entry) return undefined;
    this.toGateway.delete(local);
    if (entry.epoch === this.epoch_) this.toLocal.delete(key(entry.gatewayId));
    return entry;
  }

  /**
   * The child exited (and is being restarted). Returns the JSON-RPC errors the gateway must
   * receive for the requests forwarded to the dead child, which it will never answer, so
   * that every MCP client gets an answer instead of silence. Requests the child itself had
   * sent to the gateway are forgotten: their late answers are dropped (the new child never
   * asked). The id counter goes on, so a late line from the old child can never match.
   */
  childGone(message: string): JsonRpcMessage[] {
    const errorsForGateway: JsonRpcMessage[] = [];
    for (const { gatewayId, epoch } of this.toGateway.values()) {
      // Requests of an earlier tunnel session were already failed by the gateway.
      if (epoch === this.epoch_) errorsForGateway.push(rpcError(gatewayId, RpcErrorCode.TunnelUnavailable, message));
    }
    this.toGateway.clear();
    this.toLocal.clear();
    this.childRequests.clear();
    return errorsForGateway;
  }

  /**
   * A fresh tunnel session replaced the old one. Returns the JSON-RPC errors the child must
   * receive for the requests it sent to the old session, which nobody will answer now. A
   * modern child also gets `notifications/cancelled` for every request of the old session
   * it still works on (a listen stream never ends by itself); a legacy one answers them and
   * the answers are dropped.
   */
  newEpoch(): { errorsForChild: JsonRpcMessage[]; orphaned: number; cancelsForChild: JsonRpcMessage[] } {
    this.epoch_++;
    const errorsForChild: JsonRpcMessage[] = [];
    for (const { id } of this.childRequests.values()) {
      errorsForChild.push(
        rpcError(id, RpcErrorCode.SessionClosed, 'tunnel session to the gateway was lost; the request cannot be answered'),
      );
    }
    this.childRequests.clear();
    this.toLocal.clear();
    const orphaned = this.toGateway.size;
    const cancelsForChild: JsonRpcMessage[] = [];
    if (this.era() === 'modern') {
      for (const requestId of this.toGateway.keys()) {
        cancelsForChild.push({ jsonrpc: '2.0', method: CANCELLED, params: { requestId, reason: 'the tunnel session this request came from was lost' } });
      }
      this.toGateway.clear();
    }
    // Otherwise entries in toGateway stay until the child answers them, then are dropped as stale.
    return { errorsForChild, orphaned, cancelsForChild };
  }
}

function metaOf(params: unknown): Params | undefined {
  const meta = (params as { _meta?: unknown } | undefined)?._meta;
  return typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Params) : undefined;
}

/** `msg[field]._meta.subscriptionId` from the child's id to the gateway's, when it names `local`. */
function restamp(msg: JsonRpcMessage, field: 'result' | 'params', local: number, gatewayId: JsonRpcId): JsonRpcMessage {
  const holder = (msg as unknown as Record<string, unknown>)[field] as Params | undefined;
  const meta = metaOf(holder);
  if (!holder || meta?.[META.subscriptionId] !== local) return msg;
  return { ...msg, [field]: { ...holder, _meta: { ...meta, [META.subscriptionId]: gatewayId } } } as JsonRpcMessage;
}
