/**
 * The per-server state that MCP clients share on one tunneled server and the server
 * can hold only once: resource subscriptions and the logging level. The Multiplexer asks
 * this class what to do with `resources/subscribe`, `resources/unsubscribe` and
 * `logging/setLevel`, who gets a server notification, and what to tell the server when a
 * client leaves or a fresh tunnel session (a new server process) appears.
 *
 * Requests the gateway sends on its own carry string ids (`gateway-sync-N`): tunnel ids of
 * relayed requests are numbers, so the answers cannot be mistaken for a client's.
 */
import type { JsonRpcRequest } from '../../protocol/jsonrpc.js';
import { isMcpLogLevel, LogLevels } from './log-levels.js';
import { ResourceSubscriptions } from './resource-subscriptions.js';

export type Intercepted =
  /** Answer the client here with this result; nothing goes upstream. */
  | { kind: 'local'; result: Record<string, unknown> }
  /** Relay `payload` (possibly rewritten); call `onError` if the server refuses it. */
  | { kind: 'forward'; payload: JsonRpcRequest; onError?: () => void };

interface Notification {
  method: string;
  params?: Record<string, unknown>;
}

export class SharedServerState {
  private readonly subscriptions = new ResourceSubscriptions();
  private readonly levels = new LogLevels();
  private nextId = 0;

  intercept(clientId: string, msg: JsonRpcRequest): Intercepted {
    const params = msg.params ?? {};
    switch (msg.method) {
      case 'resources/subscribe': {
        const uri = params.uri;
        // Malformed: let the server say what is wrong with it.
        if (typeof uri !== 'string') return { kind: 'forward', payload: msg };
        if (!this.subscriptions.add(clientId, uri)) return { kind: 'local', result: {} };
        return { kind: 'forward', payload: msg, onError: () => void this.subscriptions.remove(clientId, uri) };
      }
      case 'resources/unsubscribe': {
        const uri = params.uri;
        if (typeof uri !== 'string') return { kind: 'forward', payload: msg };
        return this.subscriptions.remove(clientId, uri) ? { kind: 'forward', payload: msg } : { kind: 'local', result: {} };
      }
      case 'logging/setLevel': {
        if (!isMcpLogLevel(params.level)) return { kind: 'forward', payload: msg };
        const upstream = this.levels.set(clientId, params.level);
        if (upstream === undefined) return { kind: 'local', result: {} };
        return { kind: 'forward', payload: { ...msg, params: { ...params, level: upstream } } };
      }
      default:
        return { kind: 'forward', payload: msg };
    }
  }

  /** Whether a server notification is for this client (progress is routed elsewhere). */
  wants(clientId: string, n: Notification): boolean {
    switch (n.method) {
      case 'notifications/resources/updated':
        return typeof n.params?.uri === 'string' && this.subscriptions.subscribers(n.params.uri).has(clientId);
      case 'notifications/message':
        return this.levels.wants(clientId, n.params?.level);
      default:
        return true;
    }
  }

  /** A client left: what the server should be told (unsubscribes, a less verbose level). */
  clientGone(clientId: string): JsonRpcRequest[] {
    const out = this.subscriptions.removeClient(clientId).map((uri) => this.request('resources/unsubscribe', { uri }));
    const level = this.levels.remove(clientId);
    if (level !== undefined) out.push(this.request('logging/setLevel', { level }));
    return out;
  }

  /** Every resource URI some client is subscribed to. */
  subscribedUris(): string[] {
    return this.subscriptions.uris();
  }

  /** A fresh tunnel session (new server process): restore subscriptions and the level. */
  resync(): JsonRpcRequest[] {
    const out = this.subscriptions.uris().map((uri) => this.request('resources/subscribe', { uri }));
    const level = this.levels.current;
    if (level !== undefined) out.push(this.request('logging/setLevel', { level }));
    return out;
  }

  private request(method: string, params: Record<string, unknown>): JsonRpcRequest {
    return { jsonrpc: '2.0', id: `gateway-sync-${++this.nextId}`, method, params };
  }
}
