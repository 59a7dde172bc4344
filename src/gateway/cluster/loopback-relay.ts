/**
 * Run a request whose body was already read on this replica's loopback listener, into a
 * sink: what a forwarding replica does when, after waiting, the new owner is itself.
 */
import type { ServerResponse } from 'node:http';
import type { ExchangeSink } from './exchange-forwarder.js';
import { forwardableResponseHeaders, type ExchangeRequest } from './exchange.js';
import type { Loopback } from './loopback.js';

export function relayLoopback(loopback: Loopback, x: ExchangeRequest, sink: ExchangeSink, res: ServerResponse): void {
  let ended = false;
  const cancel = loopback.run(
    x,
    (up) => {
      sink.head(up.statusCode ?? 502, forwardableResponseHeaders(up.headers));
      up.setEncoding('utf8');
      up.on('data', (text: string) => sink.data(text));
      up.on('end', () => {
        ended = true;
        sink.end();
      });
      up.on('close', () => {
        if (!ended) sink.lost('the local response ended early');
      });
    },
    (err) => sink.lost(err.message),
  );
  res.once('close', cancel);
}
