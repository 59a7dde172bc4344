/**
 * Requests the gateway answers itself, for every MCP client, instead of relaying them:
 * `initialize`, from the InitializeResult the tunneled server registered (with the
 * client's protocol version when the gateway supports it: protocol-version.ts), and `ping`
 * (the gateway is alive; the server's liveness is the tunnel's business).
 */
import { rpcError, RpcErrorCode, type JsonRpcMessage, type JsonRpcRequest } from '../../protocol/jsonrpc.js';
import { negotiateProtocolVersion } from './protocol-version.js';
import type { ClientView } from './server-requests.js';
import type { TunnelPort } from './tunnel-port.js';

/**
 * The gateway's own answer to `msg`, or undefined when it is to be relayed. An
 * `initialize` also records the capabilities the client declared (`client`).
 */
export function answerLocally(msg: JsonRpcRequest, client: ClientView, tunnel: TunnelPort | undefined, notConnected: () => string): JsonRpcMessage | undefined {
  if (msg.method === 'ping') return { jsonrpc: '2.0', id: msg.id, result: {} };
  if (msg.method !== 'initialize') return undefined;
  const result = tunnel?.initializeResult;
  if (!result) return rpcError(msg.id, RpcErrorCode.TunnelUnavailable, tunnel?.unavailableReason() ?? notConnected());
  const caps = msg.params?.capabilities;
  client.capabilities = typeof caps === 'object' && caps !== null ? (caps as Record<string, unknown>) : {};
  const info = msg.params?.clientInfo as { name?: unknown; version?: unknown } | undefined;
  if (typeof info?.name === 'string' && typeof info.version === 'string') client.clientInfo = { name: info.name, version: info.version };
  return { jsonrpc: '2.0', id: msg.id, result: { ...result, protocolVersion: negotiateProtocolVersion(msg.params?.protocolVersion) } };
}
