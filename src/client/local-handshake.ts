/**
 * The handshake `LocalServer.start()` performs on a fresh process: find the era
 * (era-probe.ts) unless `--server-era` says it, then `initialize` a 2025-era server.
 * LocalServer owns the process and the wire; this owns the decisions and their messages.
 */
import { LocalServerError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import { deriveServerName } from '../config/command.js';
import type { ServerEraMode } from '../config/types.js';
import { modernHandshake, probeEra, probeTimeoutMs, type Ask, type HandshakeResult } from './era-probe.js';
import { DEFAULT_CLIENT_INFO, initializeRequest, readInitializeResponse } from './initialize.js';

/** An id our own initialize uses; gateway-side ids are rewritten and never look like it. */
export const INIT_REQUEST_ID = 'mcp-reverse-proxy:init';

/**
 * The server exited while auto mode probed it with `server/discover` (rmcp-based servers
 * exit on any request before `initialize`). The process is gone; a new one started with
 * era `legacy` gets `initialize` first (ChildSupervisor does that).
 */
export class ProbeExitedError extends LocalServerError {
  constructor(message: string) {
    super('ERR_LOCAL_SERVER_EXIT', message);
  }
}

export interface HandshakeIo {
  ask: Ask;
  send: (msg: JsonRpcMessage) => void;
  /** True once the server answered a probe after the probe had given up on it. */
  answeredLate: () => boolean;
  log: Logger;
}

export interface HandshakeOptions {
  command: string;
  mode: ServerEraMode;
  initTimeoutMs: number;
  clientInfo?: { name: string; version: string } | undefined;
}

export async function handshake(io: HandshakeIo, o: HandshakeOptions): Promise<HandshakeResult> {
  let probed: string | undefined;
  if (o.mode !== 'legacy') {
    const timeoutMs = o.mode === 'auto' ? probeTimeoutMs(o.initTimeoutMs) : undefined;
    const outcome = await probeEra(io.ask, { timeoutMs, clientInfo: o.clientInfo ?? DEFAULT_CLIENT_INFO });
    if (outcome.kind === 'modern') return modernHandshake(outcome.version, outcome.discover, deriveServerName(o.command));
    const who = `local MCP server "${o.command}"`;
    if (o.mode === 'modern') {
      throw new LocalServerError(
        outcome.exited ? 'ERR_LOCAL_SERVER_EXIT' : 'ERR_LOCAL_SERVER',
        `${who} does not speak MCP 2026-07-28, as --server-era modern requires: ${outcome.why}. ` +
          'A 2025-era server needs --server-era auto (the default) or legacy',
      );
    }
    if (outcome.exited) throw new ProbeExitedError(`${who} ${outcome.why.replace(/^it /, '')}; it needs initialize first`);
    io.log.info({ event: 'server_era', era: 'legacy', reason: outcome.why }, `local MCP server is not a 2026-07-28 server (${outcome.why}): initializing it`);
    probed = outcome.why;
  }
  const reply = await io.ask(initializeRequest(INIT_REQUEST_ID, o.clientInfo), undefined);
  try {
    if (reply.kind !== 'answer') throw new LocalServerError('ERR_LOCAL_SERVER', `local MCP server did not answer initialize (${reply.kind})`);
    const init = readInitializeResponse(reply.msg);
    io.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return { ...init, era: 'legacy' };
  } catch (err) {
    if (probed === undefined || !(err instanceof LocalServerError)) throw err;
    // A 2026-07-28-only server refuses initialize: what it did with the probe is the useful part.
    const late = io.answeredLate()
      ? `; it did answer server/discover, but only after the probe gave up (${probeTimeoutMs(o.initTimeoutMs) / 1000} s): ` +
        'if it is a 2026-07-28 server that starts slowly, use --server-era modern'
      : '';
    throw new LocalServerError(err.code as 'ERR_LOCAL_SERVER', `${err.message}; asked server/discover before, ${probed}${late}`);
  }
}

