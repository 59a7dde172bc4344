/**
 * A real nginx as a plain load balancer in front of several gateway replicas: an
 * `upstream` with round-robin and no stickiness (no ip_hash, no cookies), WebSocket
 * upgrades passed through, SSE and long polls unbuffered. A replica that refuses
 * connections is skipped for the next one (nginx's default `proxy_next_upstream error
 * timeout`, which never re-sends a request a replica already took).
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDaemon, stopAll, type Daemon } from './daemon.js';
import { nginxHead } from './nginx.js';

const NGINX = '/usr/sbin/nginx';
const started = new Set<Daemon>();

export type Balancer = Daemon;

export async function startBalancer(upstreamPorts: number[]): Promise<Balancer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-lb-'));
  mkdirSync(path.join(dir, 'tmp'));
  chmodSync(dir, 0o755);
  chmodSync(path.join(dir, 'tmp'), 0o777);
  const servers = upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n');
  const conf = `${nginxHead(dir, '$request_method $request_uri $status $upstream_addr', 1024)}
  upstream replicas {
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_connect_timeout 2s;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  writeFileSync(path.join(dir, 'access.log'), '');
  return startDaemon({ name: 'nginx', bin: NGINX, args: ['-c', path.join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], port, dir }, started);
}

export function stopAllBalancers(): Promise<void> {
  return stopAll(started);
}
