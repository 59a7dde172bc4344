/**
 * The client's side of `initialize` with its local server (the handshake itself is
 * protocol/mcp-handshake.ts). We declare the client capabilities the gateway can serve on
 * behalf of its MCP clients (it routes sampling, elicitation and roots requests to a
 * client that declared them), so the local server does not switch those features off for
 * every client up front.
 */
import { LocalServerError } from '../errors.js';
import { initializeRequest as request, readInitializeAnswer, type InitializeResult } from '../protocol/mcp-handshake.js';
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest } from '../protocol/jsonrpc.js';

export type { InitializeResult } from '../protocol/mcp-handshake.js';

export const DEFAULT_CLIENT_INFO = { name: 'mcp-reverse-proxy', version: '0' };
const ROUTED_CAPABILITIES = { sampling: {}, elicitation: {}, roots: { listChanged: true } };

export function initializeRequest(id: JsonRpcId, clientInfo: { name: string; version: string } = DEFAULT_CLIENT_INFO): JsonRpcRequest {
  return request(id, { clientInfo, capabilities: ROUTED_CAPABILITIES });
}

/** The result of the server's answer, or a LocalServerError saying what is wrong with it. */
export function readInitializeResponse(msg: JsonRpcMessage): InitializeResult {
  const answer = readInitializeAnswer(msg);
  if (answer.kind === 'refused') {
    throw new LocalServerError('ERR_LOCAL_SERVER', `local MCP server rejected initialize: ${answer.message} (JSON-RPC error ${answer.code})`);
  }
  if (answer.kind === 'malformed') {
    throw new LocalServerError(
      'ERR_LOCAL_SERVER',
      'local MCP server answered initialize without protocolVersion or serverInfo.name; is it an MCP server?',
    );
  }
  return answer.result;
}
