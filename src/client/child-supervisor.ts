/**
 * ChildSupervisor: the local MCP server across restarts. It owns one LocalServer at a time
 * (a LocalServer is single-use: one process, one MCP session) and, per the RestartPolicy,
 * starts a fresh one after an exit, probing its era and re-running `initialize` (a 2025-era
 * server). The tunnel does not notice: it keeps its session; the orchestrator hears
 * `down`/`up` and tells the gateway. A server that exits when probed with `server/discover`
 * is started once more and initialized at once (no restart is spent on that).
 *
 *   starting ──▶ running ──exit──▶ restarting ──initialized──▶ running ...
 *                   │                  │
 *                   └── exit, no restart (policy or budget) ──▶ failed      stop() ──▶ stopped
 */
import { EventEmitter } from 'node:events';
import { realClock, wait, type Clock } from '../clock.js';
import { errorMessage, LocalServerError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { JsonRpcMessage } from '../protocol/jsonrpc.js';
import { LocalServer, ProbeExitedError, type ExitInfo, type HandshakeResult, type LocalServerOptions } from './local-server.js';
import type { ServerEra } from './era-probe.js';
import { RestartBudget, type RestartPolicy } from './restart-policy.js';

export type SupervisorState = 'idle' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

export interface ChildSupervisorEvents {
  message: [JsonRpcMessage];
  /** The child exited (every exit, restarted or not). */
  'child-exit': [ExitInfo];
  /** The child is gone and a restart is scheduled. */
  down: [{ exit: ExitInfo; reason: string; delayMs: number; attempt: number }];
  /** A restarted child answered initialize (or server/discover). */
  up: [{ init: HandshakeResult; restarts: number }];
  /** The child's stdin took what was queued for it after `stdinCongested`. */
  drain: [];
}

export interface ChildSupervisorOptions {
  server: Omit<LocalServerOptions, 'logger'>;
  policy: RestartPolicy;
  logger: Logger;
  /** Restart delays and the restart budget's window (tests: fake time). */
  clock?: Clock;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

export class ChildSupervisor extends EventEmitter<ChildSupervisorEvents> {
  private readonly budget: RestartBudget;
  private readonly log: Logger;
  private readonly clock: Clock;
  private current: LocalServer | undefined;
  private state_: SupervisorState = 'idle';
  private paused = false;
  private restarts_ = 0;
  private era_: ServerEra = 'legacy';
  private cancelWait: (() => void) | undefined;
  private rejectFailed!: (err: Error) => void;
  /** Rejects once the child is gone for good (not restarted). Never resolves. */
  readonly failed: Promise<never>;

  constructor(private readonly o: ChildSupervisorOptions) {
    super();
    this.log = o.logger;
    this.clock = o.clock ?? realClock;
    this.budget = new RestartBudget(o.policy);
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined);
  }

  get state(): SupervisorState {
    return this.state_;
  }
  /** True while a child is initialized and takes messages. */
  get available(): boolean {
    return this.state_ === 'running';
  }
  get restarts(): number {
    return this.restarts_;
  }
  get pid(): number | undefined {
    return this.current?.pid;
  }
  /** The era of the running child (of the last one while restarting); legacy before the first start. */
  get era(): ServerEra {
    return this.era_;
  }

  /** First start. A child that cannot start at all is a configuration problem: no restart. */
  async start(): Promise<HandshakeResult> {
    if (this.state_ !== 'idle') throw new LocalServerError('ERR_LOCAL_SERVER', `start() called in state ${this.state_}`);
    this.state_ = 'starting';
    return this.spawn();
  }

  /** False when no child is running (the message is not sent). */
  send(msg: JsonRpcMessage): boolean {
    if (!this.available || !this.current) return false;
    return this.current.send(msg);
  }

  /** The running child's stdin is full: send no more until 'drain'. */
  get stdinCongested(): boolean {
    return this.available && (this.current?.stdinCongested ?? false);
  }

  pause(): void {
    this.paused = true;
    this.current?.pause();
  }

  resume(): void {
    this.paused = false;
    this.current?.resume();
  }

  async stop(): Promise<void> {
    if (this.state_ === 'stopped') return;
    this.state_ = 'stopped';
    this.cancelWait?.();
    await this.current?.stop();
  }

  private async spawn(): Promise<HandshakeResult> {
    let local = new LocalServer({ clock: this.clock, ...this.o.server, logger: this.log });
    this.current = local;
    let init: HandshakeResult;
    try {
      init = await local.start();
    } catch (err) {
      if (!(err instanceof ProbeExitedError) || this.isStopped()) throw err;
      this.log.info({ event: 'probe_exit_respawn' }, `${err.message}: starting it again and initializing it without a probe`);
      local = new LocalServer({ clock: this.clock, ...this.o.server, era: 'legacy', logger: this.log });
      this.current = local;
      init = await local.start();
    }
    if (this.state_ === 'stopped') {
      await local.stop();
      throw new LocalServerError('ERR_LOCAL_SERVER', 'stopped while the local server was starting');
    }
    this.era_ = init.era;
    local.onexit = (info) => void this.exited(local, info);
    local.onmessage = (msg) => this.emit('message', msg);
    local.ondrain = () => this.emit('drain');
    if (this.paused) local.pause();
    this.state_ = 'running';
    return init;
  }

  private async exited(local: LocalServer, exit: ExitInfo): Promise<void> {
    if (local !== this.current) return;
    this.emit('child-exit', exit);
    if (this.state_ === 'stopped') return;
    let last: { exit: ExitInfo; why: string } = { exit, why: `local MCP server exited (${describeExit(exit)})` };
    // Bounded by the budget: every iteration consumes one restart or ends the loop.
    for (;;) {
      const decision = this.budget.decide(last.exit, this.clock.now());
      if (!decision.restart) {
        this.state_ = 'failed';
        const not = this.o.policy.mode === 'never' ? '' : `; not restarted: ${decision.reason}`;
        this.rejectFailed(new LocalServerError('ERR_LOCAL_SERVER_EXIT', `${last.why}${not}`));
        return;
      }
      this.state_ = 'restarting';
      const reason = `${last.why}; restart ${decision.attempt} of ${this.o.policy.maxRestarts} in ${decision.delayMs} ms`;
      this.log.warn({ event: 'child_restarting', exit: last.exit, delayMs: decision.delayMs, attempt: decision.attempt }, reason);
      this.emit('down', { exit: last.exit, reason: last.why, delayMs: decision.delayMs, attempt: decision.attempt });
      await this.wait(decision.delayMs);
      if (this.isStopped()) return;
      try {
        const init = await this.spawn();
        this.restarts_++;
        this.log.info({ event: 'child_restarted', restarts: this.restarts_, childPid: this.pid }, 'local MCP server restarted and initialized');
        this.emit('up', { init, restarts: this.restarts_ });
        return;
      } catch (err) {
        if (this.isStopped()) return;
        const failed = this.current?.exitStatus ?? { code: null, signal: null };
        last = { exit: failed, why: `local MCP server failed to restart: ${errorMessage(err)}` };
      }
    }
  }

  /** A method, not an inline check: the state changes across awaits, which narrowing cannot see. */
  private isStopped(): boolean {
    return this.state_ === 'stopped';
  }

  /** No child runs while this waits: the ref'd timer keeps the process alive. */
  private wait(ms: number): Promise<void> {
    const delay = wait(this.clock, ms, { ref: true });
    this.cancelWait = delay.cancel;
    return delay.done;
  }
}
