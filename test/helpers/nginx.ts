/**
 * A real nginx on loopback in front of the gateway (a reverse proxy of the kind that sits
 * before a company's services). Two setups:
 * - `buffer-sse`: compresses text/event-stream (gzip, no minimum length) and ignores the
 *   gateway's `X-Accel-Buffering: no`, so every SSE event arrives only when the stream
 *   ends (NETWORK-FACTS.md). It does not pass WebSocket upgrades through: nginx drops the
 *   hop-by-hop Upgrade header, the gateway sees a plain GET (what many fronts do).
 * - `pass`: an honest front, unbuffered, WebSocket upgrades passed through; used for its
 *   access log (which request paths reached the gateway).
 * Started with `daemon off`, stopped by PID: SIGTERM (fast shutdown), then SIGKILL.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDaemon, stopAll, type Daemon } from './daemon.js';

export type NginxSetup = 'buffer-sse' | 'pass';

/** Access log lines: `<method> <uri> <status> upgrade=<Upgrade header>`. */
export type Nginx = Daemon;

const NGINX = '/usr/sbin/nginx';
const started = new Set<Daemon>();

const PROXY_COMMON = `
      proxy_http_version 1.1;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;`;

/**
 * `buffer-sse` is two tiers in one nginx, because gzip only compresses for clients that
 * send `Accept-Encoding: gzip` (undici's request() does not, fetch does): the outer tier
 * asks the inner one for gzip and decompresses (`gunzip on`) for clients that did not ask;
 * the inner tier's gzip stage holds every event until the stream ends. Either way the
 * client sees the whole stream at the end, like an antivirus or compressing proxy.
 */
function serverBlocks(port: number, innerPort: number, upstreamPort: number, setup: NginxSetup): string {
  if (setup === 'pass') {
    return `
  server {
    listen 127.0.0.1:${port};
    gzip off;
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};${PROXY_COMMON}
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
    }
  }`;
  }
  return `
  server {
    listen 127.0.0.1:${port};
    gunzip on;
    location / {
      proxy_pass http://127.0.0.1:${innerPort};${PROXY_COMMON}
      proxy_set_header Connection "";
      proxy_set_header Accept-Encoding gzip;
      proxy_buffering on;
      proxy_ignore_headers X-Accel-Buffering;
    }
  }
  server {
    listen 127.0.0.1:${innerPort};
    access_log off;
    gzip on; gzip_types text/event-stream; gzip_min_length 0; gzip_proxied any;
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};${PROXY_COMMON}
      proxy_set_header Connection "";
      proxy_buffering on;
      proxy_ignore_headers X-Accel-Buffering;
    }
  }`;
}

/** The top of an nginx.conf run as a test daemon in `dir`: one worker, logs and temp files in `dir`, `http {` open. */
export function nginxHead(dir: string, logFormat: string, workerConnections: number): string {
  return `
worker_processes 1;
user nobody nogroup;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  log_format test '${logFormat}';
  access_log ${dir}/access.log test;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }`;
}

function nginxConf(dir: string, ports: { port: number; innerPort: number }, upstreamPort: number, setup: NginxSetup): string {
  return `${nginxHead(dir, '$request_method $request_uri $status upgrade=$http_upgrade', 256)}
${serverBlocks(ports.port, ports.innerPort, upstreamPort, setup)}
}
`;
}

export async function startNginx(upstreamPort: number, setup: NginxSetup): Promise<Nginx> {
  const port = await freePort();
  const innerPort = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-nginx-'));
  mkdirSync(path.join(dir, 'tmp'));
  // Workers run as nobody: the temp dirs must be writable by them.
  chmodSync(dir, 0o755);
  chmodSync(path.join(dir, 'tmp'), 0o777);
  writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(dir, { port, innerPort }, upstreamPort, setup));
  writeFileSync(path.join(dir, 'access.log'), '');

  return startDaemon({ name: 'nginx', bin: NGINX, args: ['-c', path.join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], port, dir }, started);
}

export function stopAllNginx(): Promise<void> {
  return stopAll(started);
}
