/**
 * A PAC file served over HTTP on loopback, as a corporate network serves `proxy.pac`:
 * `Content-Type: application/x-ns-proxy-autoconfig`, and a count of how often it was
 * fetched. The script can be replaced while it runs (a policy change).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PacServer {
  url: string;
  fetches(): number;
  set(script: string): void;
  close(): Promise<void>;
}

export async function servePac(script: string): Promise<PacServer> {
  let body = script;
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    res.writeHead(200, { 'content-type': 'application/x-ns-proxy-autoconfig' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/proxy.pac`,
    fetches: () => count,
    set: (s) => (body = s),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A PAC script sending `host` to `routes` ("PROXY a:1; PROXY b:2; DIRECT") and everything else DIRECT. */
export function pacScript(host: string, routes: string): string {
  return `function FindProxyForURL(url, host) {
  if (shExpMatch(host, ${JSON.stringify(host)})) return ${JSON.stringify(routes)};
  return "DIRECT";
}
`;
}
