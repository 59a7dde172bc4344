/**
 * `GET|POST|DELETE /servers/{name}/mcp`: one endpoint, both MCP eras (docs/gateway.md,
 * "MCP protocol eras"). Here, before either side: the Origin check (DNS rebinding), the
 * body (bounded, parsed, depth-checked), and the era — a body carrying the 2026-07-28
 * `_meta` envelope goes to the stateless side (modern/), checked completely on the way
 * (protocol/mcp-modern.ts); `initialize`, a session id and everything else to the 2025
 * sessions (mcp/).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import { exceedsDepth, tooDeepMessage } from '../protocol/json-depth.js';
import { rpcError, RpcErrorCode } from '../protocol/jsonrpc.js';
import { classifyMcpHttp } from '../protocol/mcp-modern.js';
import type { Principal } from './http/auth.js';
import type { OriginCheck } from './http/origin-policy.js';
import { readBody, sendJson } from './http/respond.js';
import type { McpEndpoint } from './mcp/mcp-endpoint.js';
import type { ModernEndpoint } from './modern/modern-endpoint.js';

export interface McpDoorOptions {
  legacy: McpEndpoint;
  modern: ModernEndpoint;
  originAllowed: OriginCheck;
  maxBodyBytes: number;
  logger: Logger;
  /** Metrics: a request refused for its Origin. */
  onOriginRefused?: () => void;
}

export class McpDoor {
  constructor(private readonly o: McpDoorOptions) {}

  async handle(req: IncomingMessage, res: ServerResponse, serverName: string, principal: Principal): Promise<void> {
    const origin = req.headers.origin;
    if (!this.o.originAllowed(origin)) {
      this.o.onOriginRefused?.();
      this.o.logger.warn({ event: 'origin_refused', origin, server: serverName }, `MCP request with Origin ${origin} refused (not in --allowed-origins)`);
      return sendJson(res, 403, rpcError(null, -32000, `Forbidden: Origin ${origin} is not allowed (see --allowed-origins)`));
    }
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
      // Refused before anything recurses over it; the session (if any) goes on serving.
      if (exceedsDepth(body)) return sendJson(res, 400, rpcError(null, RpcErrorCode.InvalidRequest, `Invalid Request: ${tooDeepMessage('the request body')}`));
    }
    const route = classifyMcpHttp({
      httpMethod: req.method ?? 'GET',
      protocolVersionHeader: header(req, 'mcp-protocol-version'),
      mcpMethodHeader: header(req, 'mcp-method'),
      mcpNameHeader: header(req, 'mcp-name'),
      hasSessionId: typeof req.headers['mcp-session-id'] === 'string',
      body,
    });
    if (route.era === 'refused') return sendJson(res, route.refusal.status, route.refusal.error);
    if (route.era === 'modern') return this.o.modern.handle(req, res, serverName, principal, route.message, route.envelope);
    return this.o.legacy.handle(req, res, serverName, principal, body);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
