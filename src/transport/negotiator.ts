/**
 * TransportNegotiator: opens the first transport that works through this network and
 * remembers it for reconnects (docs/protocol.md §5). Authentication and proxy-credential
 * failures are never "try the next transport": they are thrown as they are.
 */
import type { Dispatcher } from 'undici';
import type { Logger } from '../observability/logger.js';
import type { TransportMode } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { WebSocketTransport } from './websocket.js';
import { endpointUrl } from './urls.js';
import type { Transport, TransportKind } from './transport.js';

export interface NegotiatorOptions {
  mode: TransportMode;
  gateway: string;
  token?: string;
  dispatcher: Dispatcher;
  handshakeTimeoutMs: number;
  /** Redacted proxy URL in the path, if any. */
  proxy?: string;
  logger: Logger;
}

export class TransportNegotiator {
  private readonly opts: NegotiatorOptions;
  /** The transport that worked last; reconnects start there. */
  current: TransportKind | undefined;

  constructor(opts: NegotiatorOptions) {
    this.opts = opts;
    if (opts.mode === 'sse' || opts.mode === 'poll') {
      throw new ConfigError(`--transport ${opts.mode} is not available in this build`);
    }
  }

  create(kind: TransportKind): Transport {
    const o = this.opts;
    if (kind !== 'ws') throw new ConfigError(`transport ${kind} is not available in this build`);
    return new WebSocketTransport({
      url: endpointUrl(o.gateway, 'ws'),
      dispatcher: o.dispatcher,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      ...(o.token ? { token: o.token } : {}),
      ...(o.proxy ? { proxy: o.proxy } : {}),
    });
  }

  /** Open a transport; handlers are attached by the caller before start() via `prepare`. */
  async open(prepare: (t: Transport) => void): Promise<Transport> {
    const t = this.create('ws');
    this.opts.logger.debug({ event: 'transport_open', transport: t.kind }, `opening ${t.kind} transport`);
    prepare(t);
    await t.start();
    if (this.current !== t.kind) this.opts.logger.info({ transport: t.kind }, `using transport ${t.kind}`);
    this.current = t.kind;
    return t;
  }
}
