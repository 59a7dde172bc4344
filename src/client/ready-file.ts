/**
 * `--ready-file <path>` (REVERSE_PROXY_READY_FILE, config `ready_file`): a file that
 * appears once the tunnel is up, for CI jobs that start the client in the background and
 * must wait for it. One file per process: with a servers: list it is written when every
 * server has registered for the first time. Content (JSON; no token):
 *   {"pid":1234,"servers":[{"name":"git","endpoint":"https://gw/servers/git/mcp",
 *     "sessionId":"…","transport":"ws"}]}
 * It is written atomically (a temporary file in the same directory, then rename), so a
 * reader never sees half of it. A file left by an earlier run is removed at start, and
 * the file is removed on exit (a signal, the servers stopping, a fatal error). It says
 * "was up", not "is up": a later reconnect does not touch it.
 */
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../observability/logger.js';

export interface ReadyServer {
  name: string;
  endpoint: string;
  sessionId: string;
  transport: string;
}

export class ReadyFile {
  private readonly up = new Map<string, ReadyServer>();
  private written = false;
  private readonly tmp: string;

  constructor(
    readonly path: string,
    /** Every server of this process, in order. */
    private readonly names: readonly string[],
    private readonly log: Logger,
  ) {
    this.tmp = `${path}.${process.pid}.tmp`;
  }

  /** Before connecting: the directory must exist, and a stale file must go (a waiting script would take it as ready). */
  prepare(): void {
    const dir = dirname(this.path);
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw new ConfigError(`--ready-file ${this.path}: the directory ${dir} does not exist`);
    try {
      rmSync(this.path, { force: true });
    } catch (err) {
      throw new ConfigError(`--ready-file ${this.path}: cannot remove the file left by an earlier run: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** A server registered; the file is written when the last one does, the first time. */
  serverUp(server: ReadyServer): void {
    if (this.written || this.up.has(server.name)) return;
    this.up.set(server.name, server);
    if (this.up.size < this.names.length) return;
    const servers = this.names.map((n) => this.up.get(n)!);
    try {
      writeFileSync(this.tmp, `${JSON.stringify({ pid: process.pid, servers })}\n`, { mode: 0o644 });
      renameSync(this.tmp, this.path);
      this.written = true;
      this.log.info({ event: 'ready_file', path: this.path }, `tunnel up: wrote ${this.path}`);
    } catch (err) {
      rmSync(this.tmp, { force: true });
      this.log.error({ event: 'ready_file_failed', path: this.path, err }, `cannot write --ready-file ${this.path}: ${errorMessage(err)}`);
    }
  }

  /** On exit. Never throws: the exit status is about the tunnel, not about this file. */
  remove(): void {
    try {
      rmSync(this.tmp, { force: true });
      if (this.written) rmSync(this.path, { force: true });
    } catch (err) {
      this.log.warn({ event: 'ready_file_failed', path: this.path, err }, `cannot remove --ready-file ${this.path}: ${errorMessage(err)}`);
    }
  }
}
