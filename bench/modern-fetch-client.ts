/**
 * A minimal MCP 2026-07-28 client for the bench row `tunnel-ws-modern-fetch`: the same
 * wire as the SDK v2 client's `tools/call` (captured from it: one POST with
 * `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and the `_meta` envelope; the answer is
 * one `application/json` body, or a request-scoped SSE stream), through the same undici
 * `fetch`, without the library around it. Beside `tunnel-ws-modern` it tells the SDK
 * client's own cost from the gateway's: same gateway, same tunnel, same server.
 */
import { createParser } from 'eventsource-parser';
import { encodeHeaderValue, META } from '../src/protocol/mcp-modern.js';
import type { EchoClient } from './scenarios.js';

const VERSION = '2026-07-28';

export class ModernFetchClient implements EchoClient {
  private nextId = 0;
  private readonly meta = {
    [META.protocolVersion]: VERSION,
    [META.clientInfo]: { name: 'bench', version: '1.0.0' },
    [META.clientCapabilities]: {},
  };

  constructor(private readonly url: string) {}

  async callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown> {
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { ...params, _meta: this.meta } });
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
        'mcp-protocol-version': VERSION,
        'mcp-method': 'tools/call',
        'mcp-name': encodeHeaderValue(params.name),
      },
      body,
    });
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    const answer = type.startsWith('text/event-stream') ? answerInStream(text, id) : (JSON.parse(text) as Answer);
    if (!answer) throw new Error(`tools/call ${params.name}: HTTP ${res.status}, the stream ended without the answer`);
    if (answer.error) throw new Error(`tools/call ${params.name}: HTTP ${res.status}, JSON-RPC error ${answer.error.code}: ${answer.error.message}`);
    const result = answer.result ?? {};
    // This client declares no capabilities, so a server cannot need its input (MRTR): refuse rather than drop.
    if (result.resultType !== undefined && result.resultType !== 'complete') throw new Error(`tools/call ${params.name}: unexpected resultType ${String(result.resultType)}`);
    return result;
  }

  /** Stateless: no session to end. */
  async close(): Promise<void> {}
}

interface Answer {
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** The answer to `id` among the events of a request-scoped stream (notifications before it are skipped). */
function answerInStream(text: string, id: number): Answer | undefined {
  let found: Answer | undefined;
  const parser = createParser({
    onEvent: (e) => {
      const msg = JSON.parse(e.data) as Answer;
      if (msg.id === id && (msg.result !== undefined || msg.error !== undefined)) found = msg;
    },
  });
  parser.feed(text);
  return found;
}
