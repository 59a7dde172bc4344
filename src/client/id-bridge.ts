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
 */
import { classify, rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../protocol/jsonrpc.js';

const key = (id: JsonRpcId): string => (typeof id === 'number' ? `n${id}` : `s${id}`);

interface GatewayRequest {
  gatewayId: JsonRpcId;
  epoch: number;
}

export class IdBridge {
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
        if (n.method === 'notifications/cancelled' && n.params && n.params.requestId !== undefined) {
          const local = this.toLocal.get(key(n.params.requestId as JsonRpcId));
          if (local === undefined) return undefined; // already answered, or from another session
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
        return { ...msg, id: entry.gatewayId } as JsonRpcMessage;
      }
      case 'request': {
        const id = (msg as JsonRpcRequest).id;
        this.childRequests.set(key(id), { id, epoch: this.epoch_ });
        return msg;
      }
      case 'notification':
        return msg;
      default:
        return undefined;
    }
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
   * receive for the requests it sent to the old session, which nobody will answer now.
   */
  newEpoch(): { errorsForChild: JsonRpcMessage[]; orphaned: number } {
    this.epoch_++;
    const errorsForChild: JsonRpcMessage[] = [];
    for (const { id } of this.childRequests.values()) {
      errorsForChild.push(
        rpcError(id, RpcErrorCode.SessionClosed, 'tunnel session to the gateway was lost; the request cannot be answered'),
      );
    }
    this.childRequests.clear();
    this.toLocal.clear();
    // Entries in toGateway stay until the child answers them, then are dropped as stale.
    return { errorsForChild, orphaned: this.toGateway.size };
  }
}
