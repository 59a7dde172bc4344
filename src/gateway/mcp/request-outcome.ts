/**
 * How each relayed MCP request ended, as the metrics count it
 * (`mcp_reverse_proxy_mcp_requests_total{outcome}`, docs/gateway.md).
 */

/** How a relayed request ended (metrics). */
export type RequestOutcome =
  | 'ok'
  | 'error'
  | 'timeout'
  | 'cancelled'
  | 'client_gone'
  | 'tunnel_lost'
  | 'shutdown'
  | 'unavailable'
  | 'saturated'
  | 'refused';

export interface RequestDone {
  server: string;
  method: string;
  outcome: RequestOutcome;
  /** Time in the tunnel; undefined when the request was refused before it was relayed. */
  seconds: number | undefined;
}
