/**
 * `subscriptions/listen` (S/basic/patterns/subscriptions): a long-lived SSE response that
 * carries the change notifications a modern client opted in to, from a 2025-era server's
 * broadcasts. As the Multiplexer sees it, an MCP client that takes part in fan-out; the
 * resources it lists are subscribed at the server like a 2025 client's `resources/subscribe`
 * (reference-counted with everyone else's, shared-server-state.ts).
 *
 * First message: `notifications/subscriptions/acknowledged` with the filter the server can
 * honour; every message carries `_meta["io.modelcontextprotocol/subscriptionId"]` = the
 * listen request's id; `:` comments keep it alive; a graceful end (gateway shutdown) is the
 * listen request's result.
 */
import type { JsonRpcId, JsonRpcMessage } from '../../protocol/jsonrpc.js';
import { META } from '../../protocol/mcp-modern.js';
import type { McpClientPort } from '../mcp/tunnel-port.js';
import type { ResponseWriter } from './response-writer.js';

export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

const LIST_CHANGED: Readonly<Record<string, { filter: keyof ListenFilter; capability: string }>> = {
  'notifications/tools/list_changed': { filter: 'toolsListChanged', capability: 'tools' },
  'notifications/prompts/list_changed': { filter: 'promptsListChanged', capability: 'prompts' },
  'notifications/resources/list_changed': { filter: 'resourcesListChanged', capability: 'resources' },
};
/** Resource URIs one listen may name (each is a subscription at the server). */
export const MAX_LISTEN_RESOURCES = 256;

/** The filter from the request, or a sentence saying what is wrong with it. */
export function readFilter(params: Record<string, unknown> | undefined): ListenFilter | string {
  const n = params?.notifications;
  if (n === undefined) return {};
  if (typeof n !== 'object' || n === null || Array.isArray(n)) return 'params.notifications must be an object';
  const f = n as Record<string, unknown>;
  const out: ListenFilter = {};
  for (const k of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const) {
    if (f[k] === undefined) continue;
    if (typeof f[k] !== 'boolean') return `params.notifications.${k} must be a boolean`;
    out[k] = f[k] as boolean;
  }
  const uris = f.resourceSubscriptions;
  if (uris !== undefined) {
    if (!Array.isArray(uris) || uris.some((u) => typeof u !== 'string')) return 'params.notifications.resourceSubscriptions must be an array of strings';
    if (uris.length > MAX_LISTEN_RESOURCES) return `params.notifications.resourceSubscriptions names more than ${MAX_LISTEN_RESOURCES} resources`;
    out.resourceSubscriptions = [...new Set(uris as string[])];
  }
  return out;
}

/** The part of `wanted` a server with these capabilities can deliver (the acknowledgement). */
export function honoured(wanted: ListenFilter, capabilities: Record<string, unknown>): ListenFilter {
  const cap = (name: string, flag: string): boolean => {
    const c = capabilities[name] as Record<string, unknown> | undefined;
    return typeof c === 'object' && c !== null && c[flag] === true;
  };
  const out: ListenFilter = {};
  for (const { filter, capability } of Object.values(LIST_CHANGED)) {
    if (wanted[filter] === true && cap(capability, 'listChanged')) (out as Record<string, unknown>)[filter] = true;
  }
  if (wanted.resourceSubscriptions?.length && cap('resources', 'subscribe')) out.resourceSubscriptions = wanted.resourceSubscriptions;
  return out;
}

let counter = 0;

export class ListenStream implements McpClientPort {
  readonly id = `listen-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  readonly notificationsOnly = true;
  private readonly uris: ReadonlySet<string>;

  constructor(
    readonly principal: string,
    /** The listen request's id: the subscription id on every message. */
    readonly subscriptionId: JsonRpcId,
    readonly filter: ListenFilter,
    private readonly writer: ResponseWriter,
  ) {
    this.uris = new Set(filter.resourceSubscriptions ?? []);
  }

  get open(): boolean {
    return this.writer.open;
  }

  get buffered(): number {
    return this.writer.buffered;
  }

  /** Open the stream: the acknowledgement goes first (S/…/subscriptions, "Acknowledgment"). */
  acknowledge(): void {
    this.writer.startStream();
    this.writer.event({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: this.filter, _meta: { [META.subscriptionId]: this.subscriptionId } },
    });
  }

  /** Requests that subscribe this stream's resources at the server, through the Multiplexer. */
  subscribeRequests(): JsonRpcMessage[] {
    return [...this.uris].map((uri, i) => ({ jsonrpc: '2.0', id: `${this.id}:subscribe:${i}`, method: 'resources/subscribe', params: { uri } }));
  }

  send(msg: JsonRpcMessage): void {
    const n = msg as { method?: string; params?: Record<string, unknown> };
    if (typeof n.method !== 'string' || 'id' in msg) return; // answers to our subscribes; server requests never come here
    const kind = LIST_CHANGED[n.method];
    const wanted = kind ? this.filter[kind.filter] === true : n.method === 'notifications/resources/updated' && this.uris.has(String(n.params?.uri));
    if (!wanted) return;
    const meta = { ...((n.params?._meta as Record<string, unknown> | undefined) ?? {}), [META.subscriptionId]: this.subscriptionId };
    this.writer.event({ jsonrpc: '2.0', method: n.method, params: { ...n.params, _meta: meta } });
  }

  keepalive(): void {
    this.writer.comment();
  }

  /** Graceful end (S/…/subscriptions, "Graceful Closure"): the listen request's result, then close. */
  complete(): void {
    this.writer.finish({ jsonrpc: '2.0', id: this.subscriptionId, result: { resultType: 'complete', _meta: { [META.subscriptionId]: this.subscriptionId } } });
  }

  close(): void {
    this.writer.end();
  }
}
