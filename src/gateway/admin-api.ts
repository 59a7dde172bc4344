/**
 * The gateway's own JSON API: tunnel sessions (list, delete, send one JSON-RPC message)
 * and the server catalog. Owners see and manage their sessions; admins all of them.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { classify, rpcError, RpcErrorCode, type JsonRpcMessage } from '../protocol/jsonrpc.js';
import type { Principal } from './http/auth.js';
import { canManage } from './http/access.js';
import type { Multiplexers } from './mcp/multiplexers.js';
import type { SessionRegistry } from './tunnel/session-registry.js';
import { readBody, sendError, sendJson } from './http/respond.js';
import { exceedsDepth, tooDeepMessage } from '../protocol/json-depth.js';

export interface AdminApiOptions {
  registry: SessionRegistry;
  multiplexers: Multiplexers;
  maxBodyBytes: number;
}

export class AdminApi {
  constructor(private readonly o: AdminApiOptions) {}

  listSessions(res: ServerResponse, principal: Principal): void {
    const sessions = this.o.registry.list(principal).map((s) => {
      const { sessionId, name, owner, transport, connected, since, mode, serverInfo, era, queuedFrames } = s.summary();
      return { sessionId, name, owner, transport, connected, since, mode, serverInfo, era, queuedFrames };
    });
    sendJson(res, 200, { sessions });
  }

  listServers(res: ServerResponse, principal: Principal): void {
    const servers = this.o.registry.list(principal).map((s) => {
      const { sessionId, name, transport, connected, available, since, serverInfo, protocolVersion, capabilities, era, discover } = s.summary();
      return { name, sessionId, transport, connected, available, since, serverInfo, protocolVersion, capabilities, era, ...(discover ? { discover } : {}) };
    });
    sendJson(res, 200, { servers });
  }

  deleteSession(res: ServerResponse, principal: Principal, sessionId: string): void {
    const s = this.o.registry.get(sessionId);
    if (!s) return sendError(res, 404, `no tunnel session ${sessionId}`);
    if (!canManage(principal, s)) return sendError(res, 403, `session ${sessionId} belongs to another user`);
    const message = `session deleted by ${principal.subject}`;
    s.close({ kind: 'deleted', message, rpcCode: RpcErrorCode.SessionClosed }, { code: 'session_deleted', message });
    sendJson(res, 200, { status: 'deleted', sessionId });
  }

  /** POST /reverse-proxy/sessions/{id}/request: one JSON-RPC message through the multiplexer. */
  async sessionRequest(req: IncomingMessage, res: ServerResponse, principal: Principal, sessionId: string): Promise<void> {
    const s = this.o.registry.get(sessionId);
    if (!s) return sendError(res, 404, `no tunnel session ${sessionId}`);
    if (!canManage(principal, s)) return sendError(res, 403, `session ${sessionId} belongs to another user`);
    const mux = this.o.multiplexers.get(s.serverName);
    if (!mux) return sendError(res, 404, `no tunnel session ${sessionId}`);
    const read = await readBody(req, this.o.maxBodyBytes);
    if (read.kind === 'too_large') {
      return sendJson(res, 413, rpcError(null, RpcErrorCode.MessageTooLarge, `request body exceeds the maximum of ${read.limit} bytes`));
    }
    let msg: JsonRpcMessage;
    try {
      msg = JSON.parse(read.text) as JsonRpcMessage;
    } catch {
      return sendJson(res, 400, rpcError(null, RpcErrorCode.ParseError, 'Parse error: request body is not valid JSON'));
    }
    if (exceedsDepth(msg)) return sendJson(res, 400, rpcError(null, RpcErrorCode.InvalidRequest, `Invalid Request: ${tooDeepMessage('the request body')}`));
    const kind = classify(msg);
    if (kind === 'invalid') return sendJson(res, 400, rpcError(null, RpcErrorCode.InvalidRequest, 'body is not a JSON-RPC 2.0 message'));
    const clientId = `http-${randomUUID()}`;
    if (kind !== 'request') {
      mux.addClient({ id: clientId, principal: principal.subject, send: () => {} });
      mux.fromClient(clientId, msg);
      mux.removeClient(clientId);
      res.writeHead(202).end();
      return;
    }
    // A one-shot client: the first response it is sent is the answer to this request.
    let settle: (m: JsonRpcMessage | undefined) => void = () => {};
    const answer = new Promise<JsonRpcMessage | undefined>((resolve) => (settle = resolve));
    mux.addClient({ id: clientId, principal: principal.subject, send: (m) => (classify(m) === 'response' ? settle(m) : undefined) });
    // The HTTP caller hanging up cancels the request upstream (removeClient does that).
    const onClose = (): void => {
      mux.removeClient(clientId, 'HTTP caller disconnected');
      settle(undefined);
    };
    res.once('close', onClose);
    mux.fromClient(clientId, msg);
    const response = await answer;
    res.off('close', onClose);
    mux.removeClient(clientId);
    if (response === undefined) return;
    sendJson(res, 200, response);
  }
}
