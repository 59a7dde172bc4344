/**
 * The local stdio MCP server as a child process, and the one MCP session the client holds
 * with it (ARCHITECTURE.md: "the client owns the local server's MCP session"). `start()`
 * spawns the child, finds out which MCP era it speaks (era-probe.ts: `server/discover`
 * first, unless told) and performs `initialize` itself for a 2025-era server; a 2026-07-28
 * server has no handshake. After that the class is a pipe of JSON-RPC messages: `send()`
 * writes to stdin, `onmessage` gets stdout, `pause()`/`resume()` apply backpressure to
 * stdout when the tunnel's queue is full.
 *
 * stdout is the protocol, so only JSON-RPC 2.0 objects are forwarded; anything else a
 * server prints there is logged and skipped. stderr is inherited: the server's own logs
 * reach the user unchanged.
 */
import type { ChildProcess } from 'node:child_process';
import { realClock, type Clock } from '../clock.js';
import { LocalServerError } from '../errors.js';
import { classify, type JsonRpcId, type JsonRpcMessage, type JsonRpcRequest } from '../protocol/jsonrpc.js';
import type { Logger } from '../observability/logger.js';
import { childEnv } from './child-env.js';
import { parseCommand } from '../config/command.js';
import { LineSplitter } from './line-splitter.js';
import { runStopStep, spawnChild, STEP_NAMES, stopSteps } from './spawn-child.js';
import type { ServerEraMode } from '../config/types.js';
import { DISCOVER_REQUEST_IDS, type HandshakeResult, type ProbeReply } from './era-probe.js';
import { handshake } from './local-handshake.js';

export type { InitializeResult } from './initialize.js';
export type { HandshakeResult } from './era-probe.js';
export type { ServerEraMode } from '../config/types.js';
export { INIT_REQUEST_ID, ProbeExitedError } from './local-handshake.js';
export type LocalServerState = 'idle' | 'starting' | 'running' | 'stopping' | 'exited';
export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface LocalServerOptions {
  command: string;
  maxLineBytes: number;
  initTimeoutMs: number;
  logger: Logger;
  /** Parent environment; tunnel secrets are removed from it (see childEnv). Default process.env. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  clientInfo?: { name: string; version: string };
  /** Each step of stop() (spawn-child.ts: stdin EOF, SIGTERM, SIGKILL; on Windows taskkill of the tree). Default 2000 ms. */
  stopGraceMs?: number;
  /** Which shutdown ladder to use (tests); default process.platform. */
  platform?: NodeJS.Platform;
  /** `auto` (default) probes with server/discover; `legacy` initializes at once; `modern` requires a DiscoverResult. */
  era?: ServerEraMode;
  /** The initialize deadline and the stop steps (tests: fake time). */
  clock?: Clock;
}

/** One of our own requests (server/discover, initialize) waiting for its answer. */
interface OwnRequest {
  id: JsonRpcId;
  method: string;
  answer: (msg: JsonRpcMessage) => void;
  fail: (err: Error) => void;
  /** Set when an exit is an answer too (the probe); otherwise the exit fails the request. */
  exited?: (how: string) => void;
}

const LOG_EXCERPT_CHARS = 200;

export class LocalServer {
  onexit?: (info: ExitInfo) => void;
  /** stdin drained after send() returned false. */
  ondrain?: () => void;

  private readonly options: LocalServerOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private child?: ChildProcess;
  private _state: LocalServerState = 'idle';
  private _onmessage?: (msg: JsonRpcMessage) => void;
  /** Messages read before start() resolved or before a handler was set, in order. */
  private backlog: Array<{ msg: JsonRpcMessage; bytes: number }> = [];
  private backlogBytes = 0;
  private pending?: OwnRequest;
  /** Why start() can no longer succeed (exit, deadline, stop, spawn error), once known. */
  private startError?: Error;
  /** The server answered a probe after the probe had given up (for the error message if initialize fails). */
  private answeredLate = false;
  private started = false;
  private paused = false;
  private stdinCorked = false;
  private exitInfo?: ExitInfo;
  private exited!: Promise<void>;
  private markExited!: () => void;
  private stopping?: Promise<void>;

  constructor(options: LocalServerOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'local-server' });
    this.clock = options.clock ?? realClock;
  }

  get state(): LocalServerState {
    return this._state;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  /** How the child ended, once it has. */
  get exitStatus(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Every JSON-RPC message the server writes. Messages read while none is set are kept and delivered once it is. */
  get onmessage(): ((msg: JsonRpcMessage) => void) | undefined {
    return this._onmessage;
  }
  set onmessage(handler: ((msg: JsonRpcMessage) => void) | undefined) {
    this._onmessage = handler;
    if (handler && this.started && this.backlog.length > 0) queueMicrotask(() => this.flushBacklog());
  }

  /** Spawn, then the handshake (probe and/or initialize), all within --init-timeout. */
  async start(): Promise<HandshakeResult> {
    if (this._state !== 'idle') throw new LocalServerError('ERR_LOCAL_SERVER', `start() called in state ${this._state}`);
    const { file, args } = parseCommand(this.options.command);
    this._state = 'starting';
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    const timer = this.clock.setTimeout(() => this.failInit(this.initTimeoutError()), this.options.initTimeoutMs, { ref: true });
    try {
      this.startProcess(file, args);
      const io = { ask: this.ask.bind(this), send: (m: JsonRpcMessage) => void this.send(m), answeredLate: () => this.answeredLate, log: this.log };
      const result = await handshake(io, { command: this.options.command, mode: this.options.era ?? 'auto', initTimeoutMs: this.options.initTimeoutMs, clientInfo: this.options.clientInfo });
      this._state = 'running';
      this.started = true;
      const what = result.era === 'modern' ? 'local MCP server speaks MCP 2026-07-28 (no initialize)' : 'local MCP server initialized';
      this.log.info({ childPid: this.pid, era: result.era, serverInfo: result.serverInfo, protocolVersion: result.protocolVersion }, what);
      // After the caller's `await start()` continuation, so a handler it sets right away sees them.
      setImmediate(() => this.flushBacklog());
      return result;
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      this.clock.clearTimeout(timer);
      this.pending = undefined;
    }
  }

  /**
   * Send one of our own requests; resolves with its answer, a timeout (only with `timeoutMs`:
   * the probe) or, for the probe, the exit. An answer that comes after the timeout is
   * dropped by handleLine: it never reaches `onmessage`.
   */
  private ask(req: JsonRpcRequest, timeoutMs: number | undefined): Promise<ProbeReply> {
    return new Promise<ProbeReply>((resolve, reject) => {
      if (this.startError) return reject(this.startError);
      const timer = timeoutMs === undefined ? undefined : this.clock.setTimeout(() => settle({ kind: 'timeout', ms: timeoutMs }), timeoutMs, { ref: true });
      const settle = (reply: ProbeReply | Error): void => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        if (this.pending === own) this.pending = undefined;
        if (reply instanceof Error) reject(reply);
        else resolve(reply);
      };
      const own: OwnRequest = {
        id: req.id,
        method: req.method,
        answer: (msg) => settle({ kind: 'answer', msg }),
        fail: (err) => settle(err),
        ...(req.method === 'server/discover' ? { exited: (how: string) => settle({ kind: 'exited', how }) } : {}),
      };
      this.pending = own;
      this.send(req);
    });
  }

  send(msg: JsonRpcMessage): boolean {
    const stdin = this.child?.stdin;
    if (!stdin || this._state === 'exited' || !stdin.writable) {
      this.log.debug({ state: this._state }, 'local server stdin is closed; message not sent');
      return false;
    }
    // One write to the child per tick, however many messages the tunnel delivered in it.
    if (!this.stdinCorked) {
      this.stdinCorked = true;
      stdin.cork();
      process.nextTick(() => {
        this.stdinCorked = false;
        stdin.uncork();
      });
    }
    return stdin.write(`${JSON.stringify(msg)}\n`);
  }

  /** True while stdin holds more than its high-water mark: wait for `ondrain` before sending more. */
  get stdinCongested(): boolean {
    return this.child?.stdin?.writableNeedDrain ?? false;
  }

  /** Stop reading the child's stdout (the pipe fills and the child blocks on write). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.child?.stdout?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.child?.stdout?.resume();
  }

  /** The shutdown ladder of spawn-child.ts, each step after stopGraceMs; resolves once the child is gone. */
  stop(): Promise<void> {
    const child = this.child;
    if (!child || this._state === 'exited') {
      if (this._state === 'idle') this._state = 'exited';
      return Promise.resolve();
    }
    if (this.stopping) return this.stopping;
    this._state = 'stopping';
    this.failInit(new LocalServerError('ERR_LOCAL_SERVER', 'local MCP server was stopped before initialize completed'));
    // Output the child writes while exiting must not stay stuck behind a pause.
    this.resume();
    const grace = this.options.stopGraceMs ?? 2000;
    const steps = stopSteps(this.options.platform ?? process.platform);
    this.stopping = (async () => {
      for (const [i, step] of steps.entries()) {
        if (i > 0) {
          const level = i === steps.length - 1 ? 'warn' : 'debug';
          this.log[level]({ childPid: child.pid }, `local server ignored ${STEP_NAMES[steps[i - 1]!]}; sending ${STEP_NAMES[step]}`);
        }
        await runStopStep(step, child, { onerror: (err) => this.log.debug({ err }, 'taskkill failed') });
        if (i === steps.length - 1) break;
        if (await this.waitExit(grace)) return;
      }
      await this.exited;
    })();
    return this.stopping;
  }

  private startProcess(file: string, args: string[]): void {
    const child = spawnChild(file, args, {
      env: childEnv(this.options.env ?? process.env),
      ...(this.options.cwd !== undefined ? { cwd: this.options.cwd } : {}),
    });
    this.child = child;
    const splitter = new LineSplitter({
      maxLineBytes: this.options.maxLineBytes,
      onLine: (line) => this.handleLine(line),
      onOversize: (err, seenBytes) => this.log.error({ bytes: seenBytes }, err.message),
    });
    child.stdout!.on('data', (chunk: Buffer) => splitter.push(chunk));
    child.stdout!.on('end', () => splitter.end());
    // EPIPE after the child exits is expected; the 'exit' event reports what matters.
    child.stdin!.on('error', (err) => this.log.debug({ err }, 'local server stdin error'));
    child.stdin!.on('drain', () => this.ondrain?.());
    child.on('error', (err: NodeJS.ErrnoException) => this.handleSpawnError(file, err));
    child.on('exit', (code, signal) => this.handleExit({ code, signal }));
    // 'close' comes after stdout is drained, so every message the child wrote is delivered before onexit.
    child.on('close', () => {
      if (this.started && this.exitInfo) this.onexit?.(this.exitInfo);
      this.started = false;
    });
  }

  private handleSpawnError(file: string, err: NodeJS.ErrnoException): void {
    if (this._state !== 'starting' && this._state !== 'stopping') {
      this.log.error({ err }, 'local server process error');
      return;
    }
    const message =
      err.code === 'ENOENT'
        ? `command not found: ${file} (check --local-stdio and PATH)`
        : err.code === 'EACCES'
          ? `permission denied running ${file}`
          : `cannot start ${file}: ${err.message}`;
    this.failInit(new LocalServerError('ERR_LOCAL_SERVER', message, { cause: err }));
    // A failed spawn emits no 'exit'; settle the process side here.
    this.handleExit({ code: null, signal: null });
  }

  private handleExit(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    this._state = 'exited';
    const how = info.signal ? `killed by ${info.signal}` : `exit code ${info.code}`;
    const method = this.pending?.method ?? 'initialize';
    this.failInit(new LocalServerError('ERR_LOCAL_SERVER_EXIT', `local MCP server "${this.options.command}" exited before answering ${method} (${how})`), how);
    this.log[this.started && !this.stopping ? 'warn' : 'debug']({ childPid: this.child?.pid, ...info }, `local MCP server exited (${how})`);
    this.markExited();
  }

  private handleLine(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.log.warn(`skipped a non-JSON line on the local server's stdout: ${excerpt(line)}`);
      return;
    }
    if (classify(parsed) === 'invalid') {
      this.log.warn(`skipped JSON that is not a JSON-RPC 2.0 message on the local server's stdout: ${excerpt(line)}`);
      return;
    }
    const msg = parsed as JsonRpcMessage;
    if ('id' in msg && !('method' in msg)) {
      if (this.pending && msg.id === this.pending.id) return this.pending.answer(msg);
      if ((DISCOVER_REQUEST_IDS as readonly unknown[]).includes(msg.id)) {
        // Our probe gave up on it already: the server is being initialized. Never forwarded.
        this.answeredLate ||= 'result' in msg;
        this.log.debug({ id: msg.id }, 'late answer to server/discover ignored');
        return;
      }
    }
    if (this.started && this._onmessage && this.backlog.length === 0) {
      this._onmessage(msg);
      return;
    }
    this.hold(msg, line.length);
  }

  /**
   * Bound on the backlog: maxLineBytes. Only a server chatting before initialize completes,
   * or a caller that never sets onmessage, reaches it; later messages are dropped with a warning.
   */
  private hold(msg: JsonRpcMessage, bytes: number): void {
    if (this.backlogBytes + bytes > this.options.maxLineBytes) {
      this.log.warn({ bytes }, 'dropped a local server message: too much output before a message handler was ready');
      return;
    }
    this.backlog.push({ msg, bytes });
    this.backlogBytes += bytes;
  }

  private flushBacklog(): void {
    while (this._onmessage && this.backlog.length > 0) {
      const { msg, bytes } = this.backlog.shift()!;
      this.backlogBytes -= bytes;
      this._onmessage(msg);
    }
  }

  /** Start cannot succeed: fail our waiting request (an exit, `how`, answers a probe instead). */
  private failInit(err: Error, how?: string): void {
    this.startError ??= err;
    const pending = this.pending;
    this.pending = undefined;
    if (pending?.exited && how !== undefined) pending.exited(how);
    else pending?.fail(err);
  }

  private initTimeoutError(): LocalServerError {
    const seconds = this.options.initTimeoutMs / 1000;
    return new LocalServerError(
      'ERR_INIT_TIMEOUT',
      `local MCP server "${this.options.command}" did not answer ${this.pending?.method ?? 'initialize'} within ${seconds} s (--init-timeout); ` +
        'check that it speaks MCP over stdio: newline-delimited JSON-RPC on stdout, logs on stderr',
    );
  }

  /** True if the child exited within `ms`. The timer is unref'd: it never holds the process open. */
  private waitExit(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), ms);
      void this.exited.then(() => {
        this.clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

function excerpt(line: string): string {
  return line.length > LOG_EXCERPT_CHARS ? `${line.slice(0, LOG_EXCERPT_CHARS)}… (${line.length} chars)` : line;
}
