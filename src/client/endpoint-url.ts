/**
 * The URL MCP clients use for a tunneled server: the gateway's base URL (its path prefix
 * kept, `ws(s)://` read as `http(s)://`, any `/reverse-proxy/…` tail, query and fragment
 * dropped: src/transport/urls.ts) + `/servers/<name>/mcp`. It never carries a token:
 * the gateway URL may not hold credentials (config/url-options.ts).
 */
import { endpointUrl } from '../transport/urls.js';

export function mcpEndpointUrl(gateway: string, name: string): string {
  return `${endpointUrl(gateway, 'base')}/servers/${encodeURIComponent(name)}/mcp`;
}
