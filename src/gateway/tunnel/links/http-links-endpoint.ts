/**
 * The HTTP routes of the `sse` and `poll` transports (protocol.md §4.1): create links,
 * find them again by id for the stream reopen, the polls and the POSTs, and hand each new
 * link on (to TunnelEndpoint.acceptLink) — from there on a session neither knows nor cares
 * whether it rides a WebSocket or a series of HTTP requests.
 *
 * Links are bound to the token subject that opened them: another subject gets 403 (the
 * link id alone is not a credential). Unknown or forgotten ids get 404. A new link takes
 * a place in the subject's link quota (429 over it) until it is forgotten.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../../clock.js';
import type { Logger } from '../../../observability/logger.js';
import { linkRef } from '../../../protocol/constants.js';
import type { Principal } from '../../http/auth.js';
import type { LinkAcceptor } from './link.js';
import { readBody, sendError, sendJson } from '../../http/respond.js';
import { HttpLink } from './http-link.js';
import type { LinkQuota, LinkSlot } from './link-quota.js';
import { parseLastEventId, serveSseStream } from './sse-downstream.js';
import { parsePollQuery, servePoll } from './poll-downstream.js';

/**
 * A POST may carry this many maximum-size frames: the client coalesces what it produced
 * while its previous POST was in flight, so a batch is a few frames, rarely large ones.
 */
export const POST_BATCH_FACTOR = 4;

export interface HttpLinksEndpointOptions {
  /** Where each new link goes (TunnelEndpoint.acceptLink). */
  accept: LinkAcceptor;
  maxFrameBytes: number;
  /** Interval of `: keepalive` comments and the default poll wait (s). */
  keepaliveSeconds: number;
  logger: Logger;
  quota?: LinkQuota;
  /** The links' timers (tests: fake time). */
  clock?: Clock;
  /** Scale-out: link ids start with this replica's id, so any replica knows where a link lives. */
  linkIdPrefix?: string;
}

export class HttpLinksEndpoint {
  private readonly links = new Map<string, HttpLink>();
  private readonly slots = new Map<string, LinkSlot>();

  constructor(private readonly o: HttpLinksEndpointOptions) {}

  /** How many links exist (open or lingering); for tests and metrics. */
  get size(): number {
    return this.links.size;
  }

  /** `GET /reverse-proxy/sse[?link=<id>]`. */
  openSse(req: IncomingMessage, res: ServerResponse, principal: Principal): void {
    const linkId = query(req).get('link');
    if (linkId === null) {
      const link = this.create('sse', principal, res);
      if (link) serveSseStream(link, res, 0, postUrl(link), this.o.keepaliveSeconds * 1000);
      return;
    }
    const link = this.lookup(res, principal, linkId, 'sse');
    if (!link) return;
    const lastEventId = parseLastEventId(req.headers['last-event-id']);
    if (lastEventId === undefined) return sendError(res, 400, 'Last-Event-ID must be an event id (integer >= 0)');
    link.touch();
    this.o.logger.debug({ event: 'sse_reopened', linkId: link.id, lastEventId }, 'SSE stream reopened');
    serveSseStream(link, res, lastEventId, postUrl(link), this.o.keepaliveSeconds * 1000);
  }

  /** `GET /reverse-proxy/poll`: a new poll link, answered at once. */
  createPoll(_req: IncomingMessage, res: ServerResponse, principal: Principal): void {
    const link = this.create('poll', principal, res);
    if (!link) return;
    sendJson(res, 200, { linkId: link.id, postUrl: postUrl(link), pollUrl: pollUrl(link) }, { 'Cache-Control': 'no-store' });
  }

  /** `GET /reverse-proxy/links/{id}/poll?after=&wait=`. */
  poll(req: IncomingMessage, res: ServerResponse, principal: Principal, linkId: string): void {
    const link = this.lookup(res, principal, linkId, 'poll');
    if (!link) return;
    const q = parsePollQuery(query(req), this.o.keepaliveSeconds);
    if (typeof q === 'string') return sendError(res, 400, q);
    link.touch();
    servePoll(link, res, q);
  }

  /** `POST /reverse-proxy/links/{id}/messages`: an NDJSON batch, one envelope a line. */
  async postMessages(req: IncomingMessage, res: ServerResponse, principal: Principal, linkId: string): Promise<void> {
    const link = this.lookup(res, principal, linkId, undefined);
    if (!link) return;
    if (!link.open) return sendError(res, 404, 'link closed');
    link.touch();
    const limit = this.o.maxFrameBytes * POST_BATCH_FACTOR;
    const body = await readBody(req, limit);
    if (body.kind === 'too_large') return sendError(res, 413, `POST body larger than ${limit} bytes`);
    // The link may have closed while the body was arriving.
    if (!link.open) return sendError(res, 404, 'link closed');
    const received = link.receive(body.text);
    sendJson(res, 202, { received });
  }

  /** Gateway shutdown: end every stream and poll, forget every link. */
  close(): void {
    for (const link of this.links.values()) link.dispose('gateway shutting down');
    this.links.clear();
    for (const slot of this.slots.values()) slot.release();
    this.slots.clear();
  }

  /** A new link, or undefined once a 429 went out. */
  private create(kind: 'sse' | 'poll', principal: Principal, res: ServerResponse): HttpLink | undefined {
    const slot = this.o.quota?.acquire(principal.subject, kind);
    if (typeof slot === 'string') {
      sendError(res, 429, slot);
      return undefined;
    }
    const link = new HttpLink({ kind, owner: principal.subject, onGone: (l) => this.forget(l), ...(this.o.linkIdPrefix ? { idPrefix: this.o.linkIdPrefix } : {}), ...(this.o.clock ? { clock: this.o.clock } : {}) });
    this.links.set(link.id, link);
    if (slot) this.slots.set(link.id, slot);
    this.o.logger.debug({ event: 'link_opened', transport: kind, linkId: link.id, owner: principal.subject }, `${kind} link opened`);
    this.o.accept(link, principal, slot);
    return link;
  }

  private forget(link: HttpLink): void {
    this.links.delete(link.id);
    this.slots.get(link.id)?.release();
    this.slots.delete(link.id);
  }

  /** The link, or undefined once a 404/403/409 went out. */
  private lookup(res: ServerResponse, principal: Principal, linkId: string, kind: 'sse' | 'poll' | undefined): HttpLink | undefined {
    const link = this.links.get(linkId);
    if (!link) {
      sendError(res, 404, 'unknown link (expired, closed, or the gateway restarted)');
      return undefined;
    }
    if (link.owner !== principal.subject) {
      sendError(res, 403, 'this link belongs to another user');
      return undefined;
    }
    if (kind !== undefined && link.kind !== kind) {
      sendError(res, 409, `this is a ${link.kind} link`);
      return undefined;
    }
    return link;
  }
}

/*
 * URLs handed to the client are relative references (RFC 3986 §5), resolved against the
 * URL of the request that returned them (`new URL(postUrl, sseUrl)`): that keeps any path
 * prefix a reverse proxy in front of the gateway adds, which the gateway cannot see.
 */
function postUrl(link: HttpLink): string {
  return linkRef.messages(link.id);
}

function pollUrl(link: HttpLink): string {
  return linkRef.poll(link.id);
}

function query(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}
