/**
 * MCP's `initialize` handshake, built and read in one place for both halves: the client
 * initializes its local server (client/local-server.ts), and the gateway initializes a
 * server whose client registered without an InitializeResult (a ContextForge client,
 * gateway/tunnel/server-readiness.ts). The InitializeResult then travels in `register`
 * (docs/protocol.md §2) and is what the gateway answers every MCP client's `initialize` with.
 */
import type { DiscoverResultLike, ServerEra } from './discover-result.js';
import type { ServerDescription } from './envelope.js';
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest } from './jsonrpc.js';

/**
 * The MCP protocol version we offer a server. A local constant rather than the SDK's:
 * importing `@modelcontextprotocol/sdk/types.js` for one string costs the tunnel client
 * ~17 MB of RSS and ~120 ms of start-up (zod schemas). A test keeps it equal to the SDK's
 * LATEST_PROTOCOL_VERSION.
 */
export const LATEST_PROTOCOL_VERSION = '2025-11-25';

/**
 * The 2025-era protocol versions the gateway accepts (its answer to `initialize`, the
 * `MCP-Protocol-Version` header of later requests): the SDK's SUPPORTED_PROTOCOL_VERSIONS,
 * kept equal by the same test, so that the gateway loads the SDK only with its first
 * 2025-era session (gateway/mcp/sdk-transport.ts).
 */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = [LATEST_PROTOCOL_VERSION, '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07'];

export interface Implementation {
  name: string;
  version: string;
  [key: string]: unknown;
}

export interface InitializeResult {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: Implementation;
  instructions?: string;
}

export interface InitializeParams {
  clientInfo: { name: string; version: string };
  /** The client capabilities to declare (MCP "client features"). */
  capabilities: Record<string, unknown>;
}

export function initializeRequest(id: JsonRpcId, params: InitializeParams): JsonRpcRequest {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: params.capabilities, clientInfo: { ...params.clientInfo } },
  };
}

export const INITIALIZED_NOTIFICATION: JsonRpcNotification = { jsonrpc: '2.0', method: 'notifications/initialized' };

/** A server's answer to `initialize`: its result, its JSON-RPC error, or why the answer is unusable. */
export type InitializeAnswer =
  | { kind: 'result'; result: InitializeResult }
  | { kind: 'refused'; code: number; message: string }
  | { kind: 'malformed'; reason: string };

export function readInitializeAnswer(msg: JsonRpcMessage): InitializeAnswer {
  if ('error' in msg) return { kind: 'refused', code: msg.error.code, message: msg.error.message };
  if (!('result' in msg)) return { kind: 'malformed', reason: 'initialize answer is not a JSON-RPC response' };
  const r = msg.result as Record<string, unknown>;
  const info = r.serverInfo as Record<string, unknown> | undefined;
  if (typeof r.protocolVersion !== 'string') return { kind: 'malformed', reason: 'initialize result has no protocolVersion' };
  if (!isObject(info) || typeof info.name !== 'string') return { kind: 'malformed', reason: 'initialize result has no serverInfo.name' };
  const result: InitializeResult = {
    protocolVersion: r.protocolVersion,
    capabilities: isObject(r.capabilities) ? r.capabilities : {},
    serverInfo: implementation(info),
  };
  if (typeof r.instructions === 'string') result.instructions = r.instructions;
  return { kind: 'result', result };
}

/**
 * The InitializeResult a client put in its `register`, or undefined when it sent none
 * (the gateway then runs the handshake through the tunnel itself).
 */
export function initializeResultOf(server: ServerDescription): InitializeResult | undefined {
  if (!server.serverInfo) return undefined;
  const r: InitializeResult = {
    protocolVersion: server.protocolVersion ?? LATEST_PROTOCOL_VERSION,
    capabilities: server.capabilities ?? {},
    serverInfo: implementation(server.serverInfo),
  };
  if (server.instructions !== undefined) r.instructions = server.instructions;
  return r;
}

/**
 * Copy an InitializeResult into the description `register` sends. In place: the tunnel
 * client holds the object and re-sends it with every `register`, so a fresh session after
 * a child restart announces the new child, not the first one.
 */
export function describeServer(server: ServerDescription, init: InitializeResult & { era?: ServerEra; discover?: DiscoverResultLike | undefined }): void {
  server.serverInfo = init.serverInfo;
  server.capabilities = init.capabilities;
  server.protocolVersion = init.protocolVersion;
  if (init.instructions) server.instructions = init.instructions;
  else delete server.instructions;
  // A 2026-07-28 server gets the InitializeResult fields too (from its DiscoverResult), so a
  // gateway that knows nothing of eras still describes it sensibly (docs/protocol.md §2).
  if (init.era === undefined) return;
  server.era = init.era;
  if (init.era === 'modern' && init.discover) server.discover = init.discover;
  else delete server.discover;
}

/** The MCP schema requires `version`; a server that left it out gets "". */
function implementation(info: Record<string, unknown>): Implementation {
  return { ...info, name: info.name as string, version: typeof info.version === 'string' ? info.version : '' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
