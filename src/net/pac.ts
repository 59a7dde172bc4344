/**
 * Proxy auto-config (PAC) files: `--proxy-pac <url|file>`. The file's FindProxyForURL()
 * runs in a QuickJS sandbox (pac-resolver, the PAC engine of the proxy-agents family,
 * which npm's own stack uses; QuickJS compiled to WebAssembly via quickjs-wasi, as
 * pac-proxy-agent does), so the PAC script sees the standard PAC functions and nothing of
 * Node: no `process`, no `require`, no file or network access of its own. Each call is
 * bounded in time and memory.
 *
 * The answer (`PROXY a:3128; PROXY b:8080; DIRECT`) becomes an ordered list of routes;
 * the network path tries them in that order when a proxy does not answer. The file is
 * fetched directly (never through a proxy, as browsers do), at most MAX_PAC_BYTES, and
 * again after `refreshMs`; when a refresh fails, the last good file stays in use. A file
 * that cannot be fetched at all is retried with the reconnect backoff (TransportError);
 * one that cannot be read or is not a PAC script stops the client (ConfigError).
 * pac-resolver and QuickJS are loaded with the first PAC file: a client without one does
 * not carry them (about 10 MB of modules).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { QuickJS } from 'quickjs-wasi';
import { Agent, request } from 'undici';
import { ConfigError, TransportError } from '../errors.js';

/** PAC files are small scripts; corporate ones are a few KiB. */
const MAX_PAC_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
/** One FindProxyForURL() call; PAC functions that resolve names are awaited outside this. */
const EVAL_TIMEOUT_MS = 2_000;
const EVAL_MEMORY_BYTES = 32 * 1024 * 1024;

export type PacRoute = { kind: 'proxy'; url: string; label: string } | { kind: 'direct'; label: 'DIRECT' };

export interface PacOptions {
  /** http(s):// or file:// URL, or a path. */
  location: string;
  refreshMs: number;
  /** CA certificates for an https:// PAC URL (--ca-file). */
  ca?: string[];
  /** Where PAC-file problems that do not stop us go (a failed refresh, unusable entries). */
  warn?: (message: string) => void;
  now?: () => number;
}

type Resolver = (url: string) => Promise<string>;

/** `PROXY a:1; HTTPS b:2; SOCKS c:3; DIRECT` → routes we can use, in order. */
export function parsePacResult(result: string, warn?: (m: string) => void): PacRoute[] {
  const routes: PacRoute[] = [];
  for (const raw of String(result ?? '').split(';')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [type = '', hostPort = ''] = entry.split(/\s+/);
    const kind = type.toUpperCase();
    if (kind === 'DIRECT') routes.push({ kind: 'direct', label: 'DIRECT' });
    else if ((kind === 'PROXY' || kind === 'HTTP' || kind === 'HTTPS') && /^[^\s/@]+:\d+$|^[^\s/@:]+$/.test(hostPort)) {
      const scheme = kind === 'HTTPS' ? 'https' : 'http';
      routes.push({ kind: 'proxy', url: `${scheme}://${hostPort}`, label: `${kind} ${hostPort}` });
    } else warn?.(`PAC entry "${entry.slice(0, 80)}" ignored (only PROXY, HTTP, HTTPS and DIRECT are supported)`);
  }
  // An empty answer means DIRECT (PAC semantics).
  return routes.length > 0 || result.trim() !== '' ? routes : [{ kind: 'direct', label: 'DIRECT' }];
}

export class PacFile {
  private readonly opts: PacOptions;
  private loadedAt = -Infinity;
  private code: string | undefined;
  private resolver: Resolver | undefined;
  private vm: QuickJS | undefined;
  private deadline = 0;
  private loading: Promise<void> | undefined;

  constructor(opts: PacOptions) {
    this.opts = opts;
  }

  get location(): string {
    return this.opts.location;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** The routes the PAC file gives for `target` (a gateway URL), in order. */
  async routes(target: string): Promise<PacRoute[]> {
    if (!this.resolver || this.now() - this.loadedAt >= this.opts.refreshMs) {
      this.loading ??= this.load().finally(() => (this.loading = undefined));
      await this.loading;
    }
    const resolver = this.resolver!;
    // PAC scripts see the http(s) URL a browser would ask for, never a ws(s):// one.
    const url = new URL(target);
    if (url.protocol === 'ws:') url.protocol = 'http:';
    if (url.protocol === 'wss:') url.protocol = 'https:';
    this.deadline = this.now() + EVAL_TIMEOUT_MS;
    let result: string;
    try {
      result = await resolver(url.href);
    } catch (err) {
      throw new ConfigError(`PAC file ${this.location}: FindProxyForURL() failed for ${url.host}: ${(err as Error).message.slice(0, 200)}`);
    }
    return parsePacResult(typeof result === 'string' ? result : '', this.opts.warn);
  }

  private async load(): Promise<void> {
    let code: string;
    try {
      code = await this.fetchCode();
    } catch (err) {
      if (!this.resolver) throw err;
      this.opts.warn?.(`${(err as Error).message}; keeping the PAC file loaded before`);
      this.loadedAt = this.now();
      return;
    }
    this.loadedAt = this.now();
    if (code === this.code && this.resolver) return;
    const wasm = await readFile(createRequire(import.meta.url).resolve('quickjs-wasi/quickjs.wasm'));
    const [{ createPacResolver }, { QuickJS }] = await Promise.all([import('pac-resolver'), import('quickjs-wasi')]);
    const vm = await QuickJS.create({ wasm, memoryLimit: EVAL_MEMORY_BYTES, interruptHandler: () => this.now() > this.deadline });
    let resolver: Resolver;
    try {
      this.deadline = this.now() + EVAL_TIMEOUT_MS;
      // `alert()` in a PAC file would print to our stdout: send it to the warning log.
      resolver = createPacResolver(vm, code, { filename: 'proxy.pac', sandbox: { alert: (m = '') => this.opts.warn?.(`PAC alert: ${String(m).slice(0, 200)}`) } }) as Resolver;
    } catch (err) {
      vm.dispose();
      const e = new ConfigError(`PAC file ${this.location} is not a usable PAC script: ${(err as Error).message.slice(0, 200)}`);
      if (!this.resolver) throw e;
      this.opts.warn?.(`${e.message}; keeping the PAC file loaded before`);
      return;
    }
    this.vm?.dispose();
    this.vm = vm;
    this.code = code;
    this.resolver = resolver;
  }

  private async fetchCode(): Promise<string> {
    const loc = this.location;
    if (!/^https?:\/\//i.test(loc)) {
      const file = /^file:\/\//i.test(loc) ? fileURLToPath(loc) : loc;
      let buf: Buffer;
      try {
        buf = await readFile(file);
      } catch (err) {
        throw new ConfigError(`cannot read PAC file ${file}: ${(err as Error).message}`);
      }
      if (buf.length > MAX_PAC_BYTES) throw new ConfigError(`PAC file ${file} is larger than ${MAX_PAC_BYTES} bytes`);
      return buf.toString('utf8');
    }
    // Direct, never through a proxy: the PAC file is how we learn about proxies.
    const dispatcher = new Agent({ connect: this.opts.ca ? { ca: this.opts.ca } : {}, headersTimeout: FETCH_TIMEOUT_MS, bodyTimeout: FETCH_TIMEOUT_MS });
    try {
      const res = await request(loc, { dispatcher, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/x-ns-proxy-autoconfig, */*' } });
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => undefined);
        throw new TransportError(`PAC file ${loc} answered HTTP ${res.statusCode}`, { status: res.statusCode, origin: 'network' });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_PAC_BYTES) {
          res.body.destroy();
          throw new ConfigError(`PAC file ${loc} is larger than ${MAX_PAC_BYTES} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      if (err instanceof ConfigError || err instanceof TransportError) throw err;
      // Retried with the reconnect backoff: the PAC server may be back in a moment.
      throw new TransportError(`cannot fetch PAC file ${loc}: ${(err as Error).message}`, { origin: 'network', cause: err });
    } finally {
      void dispatcher.close().catch(() => undefined);
    }
  }

  dispose(): void {
    this.vm?.dispose();
    this.vm = undefined;
    this.resolver = undefined;
  }
}
