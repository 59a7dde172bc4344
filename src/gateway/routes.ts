/**
 * The gateway's HTTP routing: match the path, check the method (405 with Allow), then
 * authenticate (401) — everything but /healthz, /readyz and (unless --metrics-auth)
 * /metrics needs a Bearer token. WebSocket upgrades do not come here (tunnel/links/ws-endpoint.ts).
 *
 * The HTTP tunnel transports (`GET /reverse-proxy/sse`, `GET /reverse-proxy/poll`,
 * `POST /reverse-proxy/links/{id}/messages`, `GET /reverse-proxy/links/{id}/poll`) are
 * routes here; tunnel/links/http-links-endpoint.ts builds their links (protocol.md §4.1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import { errorMessage } from '../errors.js';
import type { Principal } from './http/auth.js';
import type { Authenticate } from './http/authenticator.js';
import type { McpDoor } from './mcp-door.js';
import type { AdminApi } from './admin-api.js';
import type { HttpLinksEndpoint } from './tunnel/links/http-links-endpoint.js';
import type { GatewayMetrics } from './metrics.js';
import type { Placement } from './cluster/cluster-router.js';
import { pathOf, sendError, sendJson } from './http/respond.js';
import { GATEWAY_MARKER_HEADER, TUNNEL_PATH, TUNNEL_PREFIX } from '../protocol/constants.js';

export interface RequestHandlerOptions {
  authenticate: Authenticate;
  admin: AdminApi;
  mcp: McpDoor;
  /** sse and poll tunnel links. */
  links: HttpLinksEndpoint;
  logger: Logger;
  metrics: GatewayMetrics;
  /** `--metrics-auth`: /metrics needs an admin token (otherwise open, like most scrape targets). */
  metricsAuth: boolean;
  /** false until listening and again once shutting down (GET /readyz → 503). */
  ready: () => boolean;
  /** Scale-out (docs/scale-out.md): requests for what another replica owns go there; lists cover every replica. */
  cluster?: RouteCluster;
}

/** What routing needs of a cluster (gateway/cluster/cluster.ts). */
export interface RouteCluster {
  /** true: forwarded to the owner (answered); false: serve here. */
  route(req: IncomingMessage, res: ServerResponse, principal: Principal, where: Placement): Promise<boolean>;
  list(req: IncomingMessage, res: ServerResponse, principal: Principal, field: 'servers' | 'sessions'): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, principal: Principal, params: string[]) => unknown;

interface Route {
  pattern: RegExp;
  /** false only for liveness. */
  auth: boolean;
  methods: Partial<Record<string, Handler>>;
  /** Scale-out: what the route addresses, so the owner replica serves it. */
  place?: (params: string[], req: IncomingMessage) => Placement | undefined;
  /** Scale-out: a list merged over every replica. */
  list?: 'servers' | 'sessions';
}

export function createRequestHandler(o: RequestHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const mcp: Handler = (req, res, p, [name]) => o.mcp.handle(req, res, name!, p);
  const routes: Route[] = [
    // First: every MCP request comes here (the patterns are disjoint, so order is only speed).
    { pattern: /^\/servers\/([^/]+)\/mcp$/, auth: true, methods: { GET: mcp, POST: mcp, DELETE: mcp }, place: ([name]) => ({ kind: 'server', name: name! }) },
    { pattern: /^\/healthz$/, auth: false, methods: { GET: (_q, res) => sendJson(res, 200, { status: 'ok' }) } },
    {
      pattern: /^\/readyz$/,
      auth: false,
      methods: { GET: (_q, res) => (o.ready() ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { status: 'not ready' })) },
    },
    { pattern: /^\/metrics$/, auth: o.metricsAuth, methods: { GET: (_q, res, p) => serveMetrics(o, res, p) } },
    {
      pattern: exactly(TUNNEL_PATH.ws),
      auth: false,
      methods: { GET: (_q, res) => sendError(res, 426, 'this endpoint needs a WebSocket upgrade', { Upgrade: 'websocket' }) },
    },
    {
      pattern: exactly(TUNNEL_PATH.sse),
      auth: true,
      methods: { GET: (req, res, p) => o.links.openSse(req, res, p) },
      // A stream reopened for an existing link goes to the replica holding the link.
      place: (_p, req) => {
        const id = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('link');
        return id === null ? undefined : { kind: 'link', id };
      },
    },
    { pattern: exactly(TUNNEL_PATH.poll), auth: true, methods: { GET: (req, res, p) => o.links.createPoll(req, res, p) } },
    {
      pattern: exactly(`${TUNNEL_PREFIX}/links/{id}/messages`),
      auth: true,
      methods: { POST: (req, res, p, [id]) => o.links.postMessages(req, res, p, id!) },
      place: ([id]) => ({ kind: 'link', id: id! }),
    },
    {
      pattern: exactly(`${TUNNEL_PREFIX}/links/{id}/poll`),
      auth: true,
      methods: { GET: (req, res, p, [id]) => o.links.poll(req, res, p, id!) },
      place: ([id]) => ({ kind: 'link', id: id! }),
    },
    { pattern: exactly(`${TUNNEL_PREFIX}/sessions`), auth: true, methods: { GET: (_q, res, p) => o.admin.listSessions(res, p) }, list: 'sessions' },
    {
      pattern: exactly(`${TUNNEL_PREFIX}/sessions/{id}`),
      auth: true,
      methods: { DELETE: (_q, res, p, [id]) => o.admin.deleteSession(res, p, id!) },
      place: ([id]) => ({ kind: 'session', id: id! }),
    },
    {
      pattern: exactly(`${TUNNEL_PREFIX}/sessions/{id}/request`),
      auth: true,
      methods: { POST: (req, res, p, [id]) => o.admin.sessionRequest(req, res, p, id!) },
      place: ([id]) => ({ kind: 'session', id: id! }),
    },
    { pattern: /^\/servers$/, auth: true, methods: { GET: (_q, res, p) => o.admin.listServers(res, p) }, list: 'servers' },
  ];

  return (req, res) => {
    // Lets the tunnel client tell our own 401/403 from a proxy's (docs/protocol.md §4).
    res.setHeader(GATEWAY_MARKER_HEADER, 'gateway');
    void dispatch(routes, o, req, res).catch((err: unknown) => {
      o.logger.error({ err, method: req.method, path: pathOf(req) }, 'unexpected error handling an HTTP request');
      if (!res.headersSent) sendError(res, 500, `internal error: ${errorMessage(err)}`);
      else res.end();
    });
  };
}

/** A route's path as a pattern: `{id}` matches one path segment (captured); the rest is literal. */
function exactly(path: string): RegExp {
  const literal = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  return new RegExp(`^${literal.replace(/\{id\}/g, '([^/]+)')}$`);
}

async function dispatch(routes: Route[], o: RequestHandlerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req);
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    const handler = route.methods[req.method ?? 'GET'];
    if (!handler) return sendError(res, 405, `method ${req.method} not allowed on ${path}`, { Allow: Object.keys(route.methods).join(', ') });
    let principal: Principal = { subject: 'anonymous', isAdmin: false };
    if (route.auth) {
      try {
        principal = await o.authenticate(req);
      } catch (err) {
        return sendError(res, 401, errorMessage(err), { 'WWW-Authenticate': 'Bearer' });
      }
    }
    let params: string[];
    try {
      params = m.slice(1).map((p) => decodeURIComponent(p));
    } catch {
      return sendError(res, 400, `malformed percent-encoding in ${path}`);
    }
    if (o.cluster) {
      if (route.list) return o.cluster.list(req, res, principal, route.list);
      const where = route.place?.(params, req);
      if (where && (await o.cluster.route(req, res, principal, where))) return;
    }
    await handler(req, res, principal, params);
    return;
  }
  sendError(res, 404, `no route for ${path}`);
}

async function serveMetrics(o: RequestHandlerOptions, res: ServerResponse, principal: Principal): Promise<void> {
  if (o.metricsAuth && !principal.isAdmin) return sendError(res, 403, 'metrics need an admin token (--metrics-auth)');
  const text = await o.metrics.render();
  res.writeHead(200, { 'Content-Type': o.metrics.contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
