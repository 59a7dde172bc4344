/**
 * The operating system's proxy settings, in one shape for every OS: what the Windows
 * Internet Settings (windows-registry.ts) and macOS's `scutil --proxy` (macos-scutil.ts)
 * say, reduced to what this client can use. route.ts turns them into the route model of
 * src/net/ (a PAC file, or one proxy with a bypass list, or DIRECT).
 */
export interface SystemProxySettings {
  /** Where they were read, for logs: `Windows Internet Settings`, `macOS system proxy settings`. */
  origin: string;
  /** PAC URL, when automatic proxy configuration is on (it wins over a manual proxy, as on both OSes). */
  pac?: string;
  /** Manual proxy for http:// and ws:// targets: `host:port` or a URL. */
  http?: string;
  /** Manual proxy for https:// and wss:// targets (an HTTP proxy spoken to with CONNECT). */
  https?: string;
  /** Hosts that go direct, as the OS writes them: `*.corp`, `10.*`, `169.254/16`, `<local>`. */
  bypass: string[];
  /** Settings found that this client cannot use (SOCKS, auto-discovery), for a warning. */
  unsupported: string[];
}

export function emptySettings(origin: string): SystemProxySettings {
  return { origin, bypass: [], unsupported: [] };
}
