/**
 * The downstream of an `sse` link: `GET /reverse-proxy/sse` (new link) or
 * `GET /reverse-proxy/sse?link=<id>` with `Last-Event-ID` (reopen), protocol.md §4.1.
 *
 * What keeps the stream flowing through middleboxes (NETWORK-FACTS.md): no compression,
 * `no-transform` and `X-Accel-Buffering: no` (nginx), headers flushed at once, a 2 KiB
 * comment first so buffering proxies pass the start through, Nagle off so each event
 * leaves in its own segment, and `: keepalive` comments so idle-killers see traffic.
 */
import type { ServerResponse } from 'node:http';
import { SSE_EVENT } from '../../../protocol/constants.js';
import type { Downstream, HttpLink, LinkEvent } from './http-link.js';
import { sendError } from '../../http/respond.js';

/** Size of the leading padding comment. */
export const SSE_PADDING_BYTES = 2048;

/**
 * Serve the link's stream on `res`, starting after event `lastEventId`. Answers 409 when
 * those frames are gone, 404 when the link is closed and has nothing left to give.
 */
export function serveSseStream(link: HttpLink, res: ServerResponse, lastEventId: number, postUrl: string, keepaliveMs: number): void {
  const replay = link.buffer.after(lastEventId);
  if (replay.kind === 'gone') return sendError(res, 409, `cannot continue the stream: ${replay.message}`);
  if (!link.open && replay.events.length === 0) return sendError(res, 404, 'link closed');

  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  res.write(`:${' '.repeat(SSE_PADDING_BYTES - 2)}\n\n`);
  res.write(`event: ${SSE_EVENT.session}\ndata: ${JSON.stringify({ linkId: link.id, postUrl })}\n\n`);
  for (const ev of replay.events) res.write(formatEvent(ev));
  if (!link.open) {
    // Lingering closed link: hand over what was sent before the close, then end.
    res.end();
    return;
  }

  let ended = false;
  let keepalive: unknown;
  const comment = (): void => {
    keepalive = link.clock.setTimeout(() => {
      res.write(': keepalive\n\n');
      comment();
    }, keepaliveMs);
  };
  comment();
  const finish = (): void => {
    if (ended) return;
    ended = true;
    link.clock.clearTimeout(keepalive);
    res.off('close', onClose);
    res.off('drain', onDrain);
    detach();
  };
  const stream: Downstream = {
    push: (ev) => res.write(formatEvent(ev)),
    end: () => {
      finish();
      res.end();
    },
  };
  // The client went away (or a proxy cut the stream): the link lives on until it reopens, polls or times out.
  const onClose = (): void => finish();
  // res.write() said false (the client reads slower than we send): the link tells its session when to go on.
  const onDrain = (): void => link.drained();
  const detach = link.attach(stream);
  res.on('close', onClose);
  res.on('drain', onDrain);
}

/** One SSE event; a data line per text line, as the SSE format requires (envelopes are single-line JSON anyway). */
function formatEvent(ev: LinkEvent): string {
  const data = ev.data.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join('');
  return `event: ${SSE_EVENT.message}\nid: ${ev.id}\n${data}\n`;
}

/** `Last-Event-ID`: absent means "nothing seen yet". */
export function parseLastEventId(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return 0;
  return /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}
