/**
 * Which replica serves a request (docs/scale-out.md, "Forwarding"), for the routes that
 * address something a replica owns: `/servers/{name}/mcp` (the replica holding the name's
 * tunnel), the admin calls on `/reverse-proxy/sessions/{id}` (the session's), the HTTP
 * tunnel links' POSTs, polls and stream reopens (the link's id names its replica), and the
 * lists (every live replica, merged: fan-out.ts). Anything else, and anything owned here,
 * is served here as on one gateway.
 *
 * When the owner does not answer (its process died), a server name or a session may be
 * taken over by another replica as soon as its tunnel client reconnects: the request waits
 * for that, up to `failoverWaitMs`, and goes to the new owner — it had not reached the old
 * one, so sending it again cannot run it twice.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../observability/logger.js';
import { nameKey } from '../../protocol/server-name.js';
import { rpcError, RpcErrorCode } from '../../protocol/jsonrpc.js';
import type { Principal } from '../http/auth.js';
import { readBody, sendError, sendJson } from '../http/respond.js';
import type { ExchangeForwarder } from './exchange-forwarder.js';
import type { Loopback } from './loopback.js';
import { forwardableRequestHeaders, type ExchangeRequest } from './exchange.js';
import type { Ownership } from './ownership.js';
import { requestIdOf, ResponseSink } from './response-sink.js';
import { relayLoopback } from './loopback-relay.js';

/** What a route addresses, for placement. */
export type Placement = { kind: 'server'; name: string } | { kind: 'session'; id: string } | { kind: 'link'; id: string };

/** A link id minted here starts with the replica's id: `<replica>.<random>`. */
export function linkReplica(linkId: string): string | undefined {
  const dot = linkId.indexOf('.');
  return dot > 0 ? linkId.slice(0, dot) : undefined;
}

export interface ClusterRouterOptions {
  ownership: Ownership;
  forwarder: ExchangeForwarder;
  loopback: Loopback;
  /** Largest request body forwarded (the routes' own limits apply again at the owner). */
  maxBodyBytes: number;
  failoverWaitMs: number;
  logger: Logger;
}

const POLL_OWNER_MS = 250;

export class ClusterRouter {
  constructor(private readonly o: ClusterRouterOptions) {}

  /**
   * Serve here (false: the caller goes on as on one gateway), or forward to the owner
   * (true: the response is taken care of).
   */
  async route(req: IncomingMessage, res: ServerResponse, principal: Principal, where: Placement): Promise<boolean> {
    const self = this.o.ownership.replica;
    let owner: string | undefined;
    try {
      owner = await this.ownerOf(where);
    } catch (err) {
      this.unavailable(res, err);
      return true;
    }
    if (owner === undefined || owner === self) return false;
    const read = await readBody(req, this.o.maxBodyBytes);
    if (read.kind === 'too_large') {
      sendJson(res, 413, rpcError(null, RpcErrorCode.MessageTooLarge, `request body exceeds the maximum of ${read.limit} bytes`));
      return true;
    }
    const body = req.method === 'POST' || read.text !== '' ? read.text : undefined;
    const request: Omit<ExchangeRequest, 'x' | 'principal'> = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: forwardableRequestHeaders(req.headers),
      ...(body !== undefined ? { body } : {}),
    };
    const sink = new ResponseSink(res, where.kind === 'server' ? requestIdOf(parse(body)) : undefined);
    const deadline = Date.now() + this.o.failoverWaitMs;
    for (let tried = owner; ; ) {
      try {
        const { outcome, cancel } = await this.o.forwarder.forward(tried, principal, request, sink);
        if (outcome === 'sent') {
          res.once('close', cancel);
          return true;
        }
      } catch (err) {
        this.unavailable(res, err);
        return true;
      }
      if (where.kind === 'link') {
        sendError(res, 404, 'unknown link (the gateway replica that held it is gone)');
        return true;
      }
      // The owner is gone: wait for its tunnel to be taken over by a live replica.
      const next = await this.waitForNewOwner(where, tried, deadline).catch(() => undefined);
      if (next === undefined) {
        sink.lost(`the replica holding ${where.kind === 'server' ? `server ${where.name}` : `session ${where.id}`} is gone and no other replica took its tunnel over within ${Math.round(this.o.failoverWaitMs / 1000)} s`);
        return true;
      }
      if (next === self) {
        relayLoopback(this.o.loopback, { x: 'local', principal, ...request }, sink, res);
        return true;
      }
      tried = next;
    }
  }

  private async ownerOf(where: Placement): Promise<string | undefined> {
    if (where.kind === 'link') return linkReplica(where.id);
    if (where.kind === 'server') return (await this.o.ownership.nameHolder(nameKey(where.name)))?.replica;
    return this.o.ownership.sessionReplica(where.id);
  }

  private async waitForNewOwner(where: Placement, gone: string, deadline: number): Promise<string | undefined> {
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_OWNER_MS));
      const owner = await this.ownerOf(where);
      if (owner === undefined) return this.o.ownership.replica;
      if (owner !== gone) return owner;
    }
    return undefined;
  }

  private unavailable(res: ServerResponse, err: unknown): void {
    const message = `the gateway cannot reach its cluster store (Redis): ${err instanceof Error ? err.message : String(err)}`;
    this.o.logger.warn({ event: 'cluster_unavailable', err: message }, message);
    sendJson(res, 503, rpcError(null, RpcErrorCode.TunnelUnavailable, message), { 'Retry-After': '2' });
  }
}

function parse(body: string | undefined): unknown {
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
