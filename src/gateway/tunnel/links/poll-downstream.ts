/**
 * The downstream of a `poll` link: `GET {pollUrl}?after=<n>&wait=<s>`, protocol.md §4.1.
 * Answers `{"next", "frames"}` as soon as frames with id > after exist, or an empty list
 * after `wait` seconds (at most POLL_MAX_WAIT_S, well under the common 30–60 s proxy read
 * timeouts). `after` doubles as the acknowledgement: frames up to it leave the buffer.
 *
 * At most one poll is pending per link: a new one answers the old one with an empty list
 * (the client gave up on it, or a proxy retried it).
 */
import type { ServerResponse } from 'node:http';
import { POLL_MAX_WAIT_S } from '../../../protocol/constants.js';
import type { Downstream, HttpLink, LinkEvent } from './http-link.js';
import { sendError } from '../../http/respond.js';

export interface PollQuery {
  after: number;
  waitMs: number;
}

/** Parse `after`/`wait`; `wait` defaults to the gateway keepalive, both capped. A string is a 400 message. */
export function parsePollQuery(params: URLSearchParams, defaultWaitS: number): PollQuery | string {
  const afterText = params.get('after') ?? '0';
  if (!/^\d+$/.test(afterText) || !Number.isSafeInteger(Number(afterText))) return `"after" must be an event id (integer >= 0), got "${afterText}"`;
  const waitText = params.get('wait');
  const wait = waitText === null ? defaultWaitS : Number(waitText);
  if (waitText !== null && (waitText.trim() === '' || !Number.isFinite(wait) || wait < 0)) {
    return `"wait" must be a number of seconds >= 0, got "${waitText}"`;
  }
  return { after: Number(afterText), waitMs: Math.round(Math.min(wait, POLL_MAX_WAIT_S) * 1000) };
}

/** Serve one long poll on `res`. */
export function servePoll(link: HttpLink, res: ServerResponse, q: PollQuery): void {
  const replay = link.buffer.after(q.after);
  if (replay.kind === 'gone') return sendError(res, 409, `cannot poll: ${replay.message}`);
  link.ackThrough(q.after);
  if (replay.events.length > 0) return answer(res, q.after, replay.events);
  if (!link.open) return sendError(res, 404, 'link closed');
  if (q.waitMs === 0) return answer(res, q.after, []);

  let state: 'waiting' | 'answering' | 'done' = 'waiting';
  const finish = (): void => {
    state = 'done';
    link.clock.clearTimeout(timer);
    res.off('close', onClose);
    detach();
  };
  // Everything with id > after, taken at answer time so frames sent in the same tick share one response.
  const answerNow = (): void => {
    if (state === 'done') return;
    finish();
    const r = link.buffer.after(q.after);
    answer(res, q.after, r.kind === 'ok' ? r.events : []);
  };
  const pending: Downstream = {
    push: () => {
      if (state === 'waiting') {
        state = 'answering';
        setImmediate(answerNow);
      }
      return true;
    },
    end: (why) => {
      if (state === 'done') return;
      if (why === 'replaced') {
        finish();
        answer(res, q.after, []);
      } else {
        // The link closed: hand over what it sent last (an error frame saying why), at once.
        answerNow();
      }
    },
  };
  const timer = link.clock.setTimeout(answerNow, q.waitMs);
  const onClose = (): void => {
    if (state !== 'done') finish();
  };
  const detach = link.attach(pending);
  res.on('close', onClose);
}

/** `{"next","frames"}`, built from the stored JSON texts without re-parsing them. */
function answer(res: ServerResponse, after: number, events: LinkEvent[]): void {
  if (res.headersSent || res.destroyed) return;
  const next = events.length > 0 ? events[events.length - 1]!.id : after;
  const body = `{"next":${next},"frames":[${events.map((e) => e.data).join(',')}]}`;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
