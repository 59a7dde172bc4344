/**
 * `POST|GET|DELETE /servers/{name}/mcp`: the MCP Streamable HTTP endpoint, one SDK
 * StreamableHTTPServerTransport per MCP client session. We use only the SDK's transport
 * (HTTP, SSE streams, session header checks), never its Server class: messages are
 * relayed raw through the server's Multiplexer.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../observability/logger.js';
import { rpcError, RpcErrorCode, type JsonRpcMessage } from '../protocol/jsonrpc.js';
import type { Principal } from './auth.js';
import { canUse } from './access.js';
import type { Multiplexer } from './multiplexer.js';
import type { SessionRegistry } from './session-registry.js';
import type { McpClientPort } from './tunnel-port.js';
import { readBody, sendJson } from './http/respond.js';

export interface McpEndpointOptions {
  registry: SessionRegistry;
  maxBodyBytes: number;
  logger: Logger;
}

interface McpSession {
  transport: StreamableHTTPServerTransport;
  serverName: string;
  owner: string;
}

export class McpEndpoint {
  private readonly sessions = new Map<string, McpSession>();

  constructor(private readonly o: McpEndpointOptions) {}

  get sessionCount(): number {
    return this.sessions.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse, serverName: string, principal: Principal): Promise<void> {
    let body: unknown;
    if (req.method === 'POST') {
      const read = await readBody(req, this.o.maxBodyBytes);
      if (read.kind === 'too_large') {
        return sendJson(res, 413, rpcError(null, RpcErrorCode.MessageTooLarge, `request body exceeds the maximum of ${read.limit} bytes`));
      }
      try {
        body = JSON.parse(read.text);
      } catch {
        return sendJson(res, 400, rpcError(null, RpcErrorCode.ParseError, 'Parse error: request body is not valid JSON'));
      }
    }
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const existing = this.sessions.get(sid);
      // Another user's session id is as unknown to this caller as a made-up one.
      if (!existing || existing.serverName !== serverName || existing.owner !== principal.subject) {
        return sendJson(res, 404, rpcError(null, -32001, 'Session not found'));
      }
      return existing.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitialize(body)) {
      return sendJson(res, 400, rpcError(null, -32000, 'Bad Request: no Mcp-Session-Id header; a new MCP session must start with initialize'));
    }
    const tunnel = this.o.registry.serving(serverName);
    const mux = this.o.registry.multiplexer(serverName);
    if (!tunnel || !mux) return sendJson(res, 404, rpcError(null, RpcErrorCode.TunnelUnavailable, `no tunneled server named ${serverName}`));
    if (!canUse(principal, tunnel)) return sendJson(res, 403, rpcError(null, -32000, `not allowed to use server ${serverName}`));
    const transport = this.open(serverName, principal.subject, mux);
    return transport.handleRequest(req, res, body);
  }

  /** Close every MCP client session (gateway shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.transport.close()));
  }

  private open(serverName: string, owner: string, mux: Multiplexer): StreamableHTTPServerTransport {
    const log = this.o.logger.child({ server: serverName, owner });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { transport, serverName, owner });
        mux.addClient(clientPort(id, transport));
        log.info({ event: 'mcp_session_opened', mcpSessionId: id }, 'MCP client session opened');
      },
    });
    transport.onmessage = (msg) => {
      const id = transport.sessionId;
      if (id !== undefined) mux.fromClient(id, msg as JsonRpcMessage);
    };
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id === undefined || this.sessions.get(id)?.transport !== transport) return;
      this.sessions.delete(id);
      mux.removeClient(id);
      log.info({ event: 'mcp_session_closed', mcpSessionId: id }, 'MCP client session closed');
    };
    transport.onerror = (err) => log.debug({ err }, 'MCP transport reported an error');
    return transport;
  }
}

function clientPort(id: string, transport: StreamableHTTPServerTransport): McpClientPort {
  return {
    id,
    send: (msg, relatedRequestId) =>
      transport.send(msg as JSONRPCMessage, relatedRequestId === undefined ? undefined : { relatedRequestId }),
  };
}

function isInitialize(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && (body as { method?: unknown }).method === 'initialize';
}
