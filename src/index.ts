/** Library entry: embed the tunnel client or the gateway in your own program. */
export {
  ReverseProxyClient,
  type ReverseProxyClientEvents,
  type ReverseProxyClientOptions,
  type ReverseProxyClientStats,
  type ClientState,
} from './client/reverse-proxy-client.js';
export { ClientMetrics } from './client/client-metrics.js';
export type { ExitInfo } from './client/local-server.js';
export { ReliableChannel, type ReliableChannelOptions, type ChannelStats } from './protocol/reliable-channel.js';
export type { ConnectOptions, GatewayOptions, RestartMode, ServerEraMode, TransportMode } from './config/types.js';
export { CONNECT_DEFAULTS, GATEWAY_DEFAULTS } from './config/types.js';
export * from './errors.js';
export { createLogger, type Logger } from './observability/logger.js';
export type { Envelope, ServerDescription } from './protocol/envelope.js';
export type { DiscoverResultLike, ServerEra } from './protocol/discover-result.js';
export type { Transport, TransportKind } from './transport/transport.js';
export { startGateway } from './gateway/index.js';
export { mintToken } from './gateway/http/auth.js';
