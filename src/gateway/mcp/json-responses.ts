/**
 * Per-request JSON fast path of the MCP endpoint (docs/performance.md, "Applied"), and
 * which single requests are answered without the SDK transport at all.
 *
 * The MCP spec (Streamable HTTP, "Sending Messages to the Server") lets a server answer a
 * POSTed request either with `text/event-stream` or with one `application/json` body. SSE
 * is only needed to stream messages related to the request ahead of its answer; the SDK
 * transport opens one per POST regardless (web streams, two writes, the client's SSE
 * parser) and its `enableJsonResponse` is per session and would lose progress. So a
 * single request that cannot stream — no progress token — is answered here with one
 * `res.end()`; the request still goes through the Multiplexer like any other.
 *
 * What else the server says on behalf of such a request (sampling, roots, elicitation,
 * notifications) goes on the session's standalone GET stream instead, which is why the
 * fast path is only taken while that stream is open.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/mcp-handshake.js';
import { classify, rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../../protocol/jsonrpc.js';

/**
 * How the POST of one request is answered without the SDK transport: `json` (one body, the
 * fast path) or `stream` (the gateway's own SSE stream, request-streams.ts; `primed`: with
 * a priming event, i.e. resumable). undefined: leave it to the SDK (batches, `initialize`,
 * headers it refuses).
 */
export interface SingleRequest {
  msg: JsonRpcRequest;
  answer: 'json' | 'stream';
  primed: boolean;
}

export function singleRequest(req: IncomingMessage, body: unknown, resumable: boolean): SingleRequest | undefined {
  if (req.method !== 'POST' || classify(body) !== 'request') return undefined;
  const msg = body as JsonRpcRequest & { jsonrpc?: unknown; params?: unknown };
  if (msg.jsonrpc !== '2.0' || msg.method === 'initialize') return undefined;
  if (msg.params !== undefined && (typeof msg.params !== 'object' || msg.params === null || Array.isArray(msg.params))) return undefined;
  // Headers the SDK would refuse (or answer differently): let it do so.
  const accept = req.headers.accept ?? '';
  if (!accept.includes('application/json')) return undefined;
  if (!(req.headers['content-type'] ?? '').includes('application/json')) return undefined;
  const version = req.headers['mcp-protocol-version'];
  if (version !== undefined && !(typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version))) return undefined;
  const primed = resumable && canResume(version);
  // tools/call runs user code and may not be repeated: a client that can resume a stream
  // (2025-11-25 and later: priming events) gets a resumable SSE stream for it. So does a
  // request with a progress token (its progress comes first). Everything else is a read the
  // client can repeat, and older clients could not resume anyway.
  const meta = (msg.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
  const stream = (msg.method === 'tools/call' && primed) || meta?.progressToken !== undefined;
  if (stream && !accept.includes('text/event-stream')) return undefined;
  return { msg, answer: stream ? 'stream' : 'json', primed };
}

/** Priming events (SEP-1699) exist from 2025-11-25 on; the SDK sends them only to such clients. */
function canResume(version: string | string[] | undefined): boolean {
  return typeof version === 'string' && version >= '2025-11-25';
}

/** Where an outgoing message of a session goes. */
export type Route = 'done' | 'standalone' | 'sdk';

/** The fast-path requests of one MCP session still waiting for their answer. */
export class JsonResponses {
  /** Request id → its HTTP response; undefined once the client hung up (the answer is dropped). */
  private readonly waiting = new Map<JsonRpcId, ServerResponse | undefined>();

  has(id: JsonRpcId): boolean {
    return this.waiting.has(id);
  }

  /** Answer `id` on `res` when its response comes. */
  begin(id: JsonRpcId, res: ServerResponse, sessionId: string): void {
    this.waiting.set(id, res);
    res.once('close', () => {
      // The client is gone before its answer: like a cancelled SDK stream, the request
      // stays with the Multiplexer (answer or timeout) and its answer is dropped here.
      if (this.waiting.get(id) === res && !res.writableEnded) this.waiting.set(id, undefined);
    });
    res.setHeader('mcp-session-id', sessionId);
  }

  /** Write `msg` if it answers a fast-path request; else say where it must go. */
  route(msg: JsonRpcMessage, relatedRequestId: JsonRpcId | undefined): Route {
    if (classify(msg) === 'response') {
      const id = (msg as { id: JsonRpcId }).id;
      if (!this.waiting.has(id)) return 'sdk';
      const res = this.waiting.get(id);
      this.waiting.delete(id);
      if (res && !res.destroyed) writeJson(res, 200, msg);
      return 'done';
    }
    return relatedRequestId !== undefined && this.waiting.has(relatedRequestId) ? 'standalone' : 'sdk';
  }

  /** The session closed: the Multiplexer will not answer; end what still waits. */
  closeAll(): void {
    for (const [id, res] of this.waiting) {
      if (res && !res.destroyed) writeJson(res, 200, rpcError(id, RpcErrorCode.InternalError, 'MCP session closed before the answer'));
    }
    this.waiting.clear();
  }
}

function writeJson(res: ServerResponse, status: number, msg: unknown): void {
  const text = JSON.stringify(msg);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
