/**
 * Server→client requests (sampling/createMessage, roots/list, elicitation/create, ...)
 * arriving through the tunnel. Each goes to exactly one MCP client that declared the
 * capability it needs — preferably one with a request in flight, since the server is
 * most likely asking on behalf of that request — under a gateway id, and the client's
 * answer goes back to the server under the server's own id. The server always gets an
 * answer: the client's, or a JSON-RPC error (no capable client, client gone, timeout).
 *
 * Never across principals (docs/gateway.md, "Server→client requests"): a stdio server's
 * request carries no link to the call that caused it, so the gateway only sends it to a
 * client of the one token subject it can be for — the subject of every request in flight,
 * or with none in flight, of every client able to answer. When those span more than one
 * subject, the server gets a JSON-RPC error instead of a guess that could hand one user's
 * prompt, or its answer, to another.
 */
import type { Logger } from '../../observability/logger.js';
import { rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../../protocol/jsonrpc.js';
import type { Clock } from '../../clock.js';
import type { TunnelPort } from './tunnel-port.js';

/** Client capability a server→client method needs (MCP spec, "client features"). */
export const REQUIRED_CAPABILITY: Readonly<Record<string, string>> = {
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
  'elicitation/create': 'elicitation',
};

export interface ClientView {
  readonly id: string;
  /** Token subject of the client's session. */
  readonly principal: string;
  /** Declared in its initialize; undefined until it initialized. */
  capabilities: Record<string, unknown> | undefined;
  /** See McpClientPort.exclusive. */
  readonly exclusive?: boolean;
  /** See McpClientPort.notificationsOnly. */
  readonly notificationsOnly?: boolean;
  /** From its initialize (a 2026-07-28 server gets it in `_meta`). */
  clientInfo?: { name: string; version: string };
}

export interface ServerRequestRouterOptions {
  serverName: string;
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  clients: () => Iterable<ClientView>;
  deliver: (clientId: string, msg: JsonRpcMessage, relatedRequestId?: JsonRpcId) => void;
}

interface Outstanding {
  gatewayId: string;
  serverId: JsonRpcId;
  port: TunnelPort;
  clientId: string;
  method: string;
  timer: unknown;
}

export class ServerRequestRouter {
  private readonly outstanding = new Map<string, Outstanding>();
  private next = 0;

  constructor(private readonly o: ServerRequestRouterOptions) {}

  /**
   * `busy`: client id → its newest in-flight request id (to ride that request's stream),
   * in order of request age, newest last. A stdio server's request carries no trace of
   * the request that triggered it, so the capable client that asked most recently is the
   * best guess; with one busy capable client (the usual case) it is exact.
   */
  route(port: TunnelPort, req: JsonRpcRequest, busy: ReadonlyMap<string, JsonRpcId>): void {
    // The gateway is alive; that is all a ping from the server can ask.
    if (req.method === 'ping') return this.answer(port, { jsonrpc: '2.0', id: req.id, result: {} });
    const cap = REQUIRED_CAPABILITY[req.method];
    const clients = [...this.o.clients()];
    const capable = clients.filter((c) => !c.notificationsOnly && c.capabilities !== undefined && (cap === undefined || c.capabilities[cap] !== undefined));
    // Every busy client counts, capable or not: the request may be for a user who cannot answer it.
    const principals = new Set(
      busy.size > 0 ? clients.filter((c) => busy.has(c.id)).map((c) => c.principal) : capable.map((c) => c.principal),
    );
    if (principals.size > 1) {
      const why = busy.size > 0 ? `requests of ${principals.size} users are in flight` : `clients of ${principals.size} users could answer it`;
      const message = `the gateway cannot tell which user ${req.method} from server ${this.o.serverName} is for (${why}); run one server per user`;
      this.o.logger.warn({ event: 'server_request_ambiguous', method: req.method, principals: [...principals] }, message);
      return this.answer(port, rpcError(req.id, RpcErrorCode.InternalError, message));
    }
    const [principal] = principals;
    const eligible = capable.filter((c) => c.principal === principal);
    // Same user: the capable client that asked most recently is the best guess (exact with one).
    const newestFirst = [...busy.keys()].reverse();
    // A 2026-07-28 call in flight owns what its server asks, capable or not: it answers -32021 to its client.
    const busyOwn = newestFirst.map((id) => clients.find((c) => c.id === id && c.principal === principal)).filter((c) => c !== undefined);
    const chosen =
      newestFirst.map((id) => eligible.find((c) => c.id === id)).find((c) => c !== undefined) ??
      busyOwn.find((c) => c.exclusive) ??
      eligible[0];
    if (!chosen) {
      const what = cap ?? req.method;
      const whose = busy.size > 0 && capable.length > 0 ? ` of the user whose request is in flight` : '';
      this.o.logger.info({ event: 'server_request_unroutable', method: req.method }, `no connected MCP client${whose} supports ${what}`);
      return this.answer(port, rpcError(req.id, RpcErrorCode.MethodNotFound, `no connected MCP client${whose} supports ${what}`));
    }
    const gatewayId = `gw-${++this.next}`;
    const o: Outstanding = { gatewayId, serverId: req.id, port, clientId: chosen.id, method: req.method, timer: undefined };
    o.timer = this.o.clock.setTimeout(() => this.expire(o), this.o.timeoutMs);
    this.outstanding.set(gatewayId, o);
    this.o.deliver(chosen.id, { ...req, id: gatewayId }, busy.get(chosen.id));
  }

  /** A response from an MCP client: if it answers one of ours, hand it to the server. */
  answerFromClient(clientId: string, msg: JsonRpcMessage): void {
    const id = (msg as { id?: unknown }).id;
    const o = typeof id === 'string' ? this.outstanding.get(id) : undefined;
    if (!o || o.clientId !== clientId) {
      this.o.logger.debug({ id }, 'response from an MCP client to nothing we asked ignored');
      return;
    }
    this.remove(o);
    this.answer(o.port, { ...msg, id: o.serverId } as JsonRpcMessage);
  }

  /** The server gave up on one of its requests: tell the client working on it. */
  cancelledByServer(port: TunnelPort, params: Record<string, unknown> | undefined): void {
    const requestId = params?.requestId;
    for (const o of this.outstanding.values()) {
      if (o.port === port && o.serverId === requestId) {
        this.remove(o);
        this.o.deliver(o.clientId, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { ...params, requestId: o.gatewayId } });
        return;
      }
    }
  }

  clientGone(clientId: string): void {
    if (this.outstanding.size === 0) return; // the common case: once per answered 2026-07-28 call
    for (const o of [...this.outstanding.values()]) {
      if (o.clientId !== clientId) continue;
      this.remove(o);
      this.answer(o.port, rpcError(o.serverId, RpcErrorCode.InternalError, `the MCP client handling ${o.method} disconnected before answering`));
    }
  }

  /** The tunnel session is gone: nobody can take an answer; the clients may stop working. */
  forgetPort(port: TunnelPort): void {
    for (const o of [...this.outstanding.values()]) {
      if (o.port !== port) continue;
      this.remove(o);
      this.o.deliver(o.clientId, {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: o.gatewayId, reason: 'the tunneled server disconnected' },
      });
    }
  }

  failAll(code: number, message: string): void {
    for (const o of [...this.outstanding.values()]) {
      this.remove(o);
      this.answer(o.port, rpcError(o.serverId, code, message));
    }
  }

  private expire(o: Outstanding): void {
    if (this.outstanding.get(o.gatewayId) !== o) return;
    this.remove(o);
    const secs = this.o.timeoutMs / 1000;
    this.answer(o.port, rpcError(o.serverId, RpcErrorCode.RequestTimeout, `MCP client did not answer ${o.method} within ${secs} s`));
    this.o.deliver(o.clientId, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: o.gatewayId, reason: 'timed out at the gateway' },
    });
  }

  private remove(o: Outstanding): void {
    this.o.clock.clearTimeout(o.timer);
    this.outstanding.delete(o.gatewayId);
  }

  private answer(port: TunnelPort, msg: JsonRpcMessage): void {
    try {
      port.push(msg);
    } catch (err) {
      this.o.logger.warn({ err, server: this.o.serverName }, 'could not answer the server: tunnel saturated');
    }
  }
}
