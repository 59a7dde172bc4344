/**
 * Forwarded responses into the client's own HTTP response. When the owner is lost midway,
 * the client still gets an answer it understands: an MCP request (a JSON-RPC request with
 * an id) gets a JSON-RPC error for that id — as a JSON body if nothing was sent yet, as an
 * SSE `message` event if its stream had started — so no MCP call waits forever; anything
 * else gets a 502, or its stream is cut.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { rpcError, RpcErrorCode, type JsonRpcId } from '../../protocol/jsonrpc.js';
import { sendError, sendJson } from '../http/respond.js';
import type { ExchangeSink } from './exchange-forwarder.js';

export class ResponseSink implements ExchangeSink {
  constructor(
    private readonly res: ServerResponse,
    /** The JSON-RPC id of the MCP request being forwarded, if it is one. */
    private readonly rpcId: JsonRpcId | undefined,
  ) {}

  get buffered(): number {
    return this.res.writableLength;
  }

  head(status: number, headers: OutgoingHttpHeaders): void {
    if (this.res.destroyed) return;
    this.res.writeHead(status, headers);
    // SSE and long polls: every chunk goes out as it comes.
    this.res.flushHeaders();
  }

  data(text: string): void {
    if (!this.res.destroyed) this.res.write(text);
  }

  end(): void {
    if (!this.res.destroyed) this.res.end();
  }

  lost(reason: string): void {
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    const message = `the gateway replica serving this request was lost (${reason}); the call may or may not have run`;
    if (this.rpcId === undefined) {
      if (!res.headersSent) return sendError(res, 502, message);
      res.destroy();
      return;
    }
    const error = rpcError(this.rpcId, RpcErrorCode.TunnelUnavailable, message);
    if (!res.headersSent) return sendJson(res, 200, error);
    const type = String(res.getHeader('content-type') ?? '');
    if (type.startsWith('text/event-stream')) {
      res.end(`event: message\ndata: ${JSON.stringify(error)}\n\n`);
      return;
    }
    res.destroy();
  }
}

/** The id of a single JSON-RPC request body (not a notification, response or batch). */
export function requestIdOf(body: unknown): JsonRpcId | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const m = body as { id?: unknown; method?: unknown };
  if (typeof m.method !== 'string') return undefined;
  return typeof m.id === 'string' || typeof m.id === 'number' ? m.id : undefined;
}
