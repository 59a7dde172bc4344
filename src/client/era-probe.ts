/**
 * Which MCP era the local server speaks, found the way the 2026-07-28 stdio binding says
 * (S/basic/transports/stdio, "Backward Compatibility"): send `server/discover` first with
 * our preferred modern version in `_meta`, then
 * - a usable `DiscoverResult` naming a version we speak → modern;
 * - `-32022` UnsupportedProtocolVersion whose `data.supported` names a modern version we
 *   speak → ask once more with that version;
 * - anything else (another error, a result we cannot use, no answer in time, the process
 *   exiting) → legacy: `initialize` as before. The fallback is deliberately not keyed to
 *   one error code: legacy servers answer unknown pre-`initialize` requests in many ways.
 * This file is the pure part (request, verdict); local-server.ts sends and waits.
 */
import { discoverServerInfo, readDiscoverResult, type DiscoverResultLike, type ServerEra } from '../protocol/discover-result.js';
import type { JsonRpcMessage, JsonRpcRequest } from '../protocol/jsonrpc.js';
import { isModernVersion, LATEST_MODERN_VERSION, META, ModernErrorCode, MODERN_PROTOCOL_VERSIONS } from '../protocol/mcp-modern.js';
import type { InitializeResult } from './initialize.js';

export type { ServerEra } from '../protocol/discover-result.js';
/** `--server-era`: probe (auto), or take the answer as given. */
export type { ServerEraMode } from '../config/types.js';

/** Ids of our own probes; gateway-side ids are renumbered and never look like these. */
export const DISCOVER_REQUEST_IDS = ['mcp-reverse-proxy:discover', 'mcp-reverse-proxy:discover-2'] as const;
/** How long auto mode waits for a probe's answer: 2 s, or half of --init-timeout when that is shorter. */
export const PROBE_TIMEOUT_MS = 2000;

export function probeTimeoutMs(initTimeoutMs: number): number {
  return Math.min(PROBE_TIMEOUT_MS, Math.floor(initTimeoutMs / 2));
}

/**
 * What a 2026-07-28 request tells the server we can handle: sampling, elicitation and roots
 * (the gateway routes them to an MCP client that declared them), as our `initialize` does.
 * `roots.listChanged` is gone: the revision removed `notifications/roots/list_changed`.
 */
export const MODERN_CLIENT_CAPABILITIES = { sampling: {}, elicitation: {}, roots: {} };

export function discoverRequest(id: string, version: string, clientInfo: { name: string; version: string }): JsonRpcRequest {
  return {
    jsonrpc: '2.0',
    id,
    method: 'server/discover',
    params: {
      _meta: {
        [META.protocolVersion]: version,
        [META.clientCapabilities]: MODERN_CLIENT_CAPABILITIES,
        [META.clientInfo]: clientInfo,
      },
    },
  };
}

export type ProbeReply = { kind: 'answer'; msg: JsonRpcMessage } | { kind: 'timeout'; ms: number } | { kind: 'exited'; how: string };

export type ProbeVerdict =
  | { kind: 'modern'; version: string; discover: DiscoverResultLike }
  /** Ask again, once, with this version. */
  | { kind: 'retry'; version: string; why: string }
  /** Not modern; `why` says what the server did (for logs and for error messages). */
  | { kind: 'legacy'; why: string };

/** The verdict on one probe answer. `ours`: the modern versions we speak, newest first. */
export function judgeProbe(reply: ProbeReply, ours: readonly string[] = MODERN_PROTOCOL_VERSIONS): ProbeVerdict {
  if (reply.kind === 'timeout') return { kind: 'legacy', why: `it did not answer server/discover within ${reply.ms / 1000} s` };
  if (reply.kind === 'exited') return { kind: 'legacy', why: `it exited when asked server/discover (${reply.how})` };
  const msg = reply.msg;
  if ('error' in msg) {
    const { code, message, data } = msg.error;
    const said = `it answered server/discover with JSON-RPC error ${code} (${String(message).slice(0, 200)})`;
    if (code !== ModernErrorCode.UnsupportedProtocolVersion) return { kind: 'legacy', why: said };
    const supported = (data as { supported?: unknown } | undefined)?.supported;
    const list = Array.isArray(supported) ? supported.filter((v): v is string => typeof v === 'string') : [];
    const mutual = ours.find((v) => list.includes(v));
    if (mutual !== undefined) return { kind: 'retry', version: mutual, why: `${said}; it supports ${mutual}` };
    const modern = list.filter(isModernVersion);
    return { kind: 'legacy', why: modern.length > 0 ? `${said}; it speaks only ${modern.join(', ')}, none of which this client speaks` : said };
  }
  if (!('result' in msg)) return { kind: 'legacy', why: 'it answered server/discover with something that is not a JSON-RPC response' };
  const discover = readDiscoverResult(msg.result);
  if (typeof discover === 'string') return { kind: 'legacy', why: `its server/discover answer is not usable: ${discover}` };
  const version = ours.find((v) => discover.supportedVersions.includes(v));
  if (version === undefined) {
    return {
      kind: 'legacy',
      why: `its DiscoverResult lists ${discover.supportedVersions.slice(0, 8).join(', ')}, none of which this client speaks (${ours.join(', ')})`,
    };
  }
  return { kind: 'modern', version, discover };
}

/** Sends one of our requests to the server and waits (`timeoutMs` undefined: the start deadline only). */
export type Ask = (req: JsonRpcRequest, timeoutMs: number | undefined) => Promise<ProbeReply>;

export type ProbeOutcome =
  | { kind: 'modern'; version: string; discover: DiscoverResultLike }
  /** `exited`: the process is gone (some servers exit on any request before initialize). */
  | { kind: 'legacy'; why: string; exited: boolean };

/** The probe, with at most one corrective retry (a second -32022 is not worth a third). */
export async function probeEra(ask: Ask, o: { timeoutMs: number | undefined; clientInfo: { name: string; version: string } }): Promise<ProbeOutcome> {
  let version = LATEST_MODERN_VERSION;
  let retried: string | undefined;
  for (const id of DISCOVER_REQUEST_IDS) {
    const reply = await ask(discoverRequest(id, version, o.clientInfo), o.timeoutMs);
    const verdict = judgeProbe(reply);
    if (verdict.kind === 'modern') return verdict;
    if (verdict.kind === 'retry' && retried === undefined) {
      retried = verdict.why;
      version = verdict.version;
      continue;
    }
    const why = retried === undefined ? verdict.why : `${retried}; asked again with ${version}: ${verdict.why.replace(/^it /, '')}`;
    return { kind: 'legacy', why, exited: reply.kind === 'exited' };
  }
  return { kind: 'legacy', why: 'no probe was sent', exited: false };
}

/** What `LocalServer.start()` learned: an InitializeResult's fields (for either era), and the era. */
export interface HandshakeResult extends InitializeResult {
  era: ServerEra;
  /** Modern only: the server's DiscoverResult, as it sent it. */
  discover?: DiscoverResultLike;
}

/**
 * A modern server described with the fields of an InitializeResult too, so that a gateway
 * that knows nothing of eras sees something sensible. `serverInfo` SHOULD be in the result's
 * `_meta`; without it the server is named after its command.
 */
export function modernHandshake(version: string, discover: DiscoverResultLike, fallbackName: string): HandshakeResult {
  const out: HandshakeResult = {
    era: 'modern',
    protocolVersion: version,
    capabilities: discover.capabilities,
    serverInfo: discoverServerInfo(discover) ?? { name: fallbackName, version: '' },
    discover,
  };
  if (discover.instructions !== undefined) out.instructions = discover.instructions;
  return out;
}
