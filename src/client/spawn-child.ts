/**
 * Starting and ending the local server's process, on every OS.
 *
 * Start: through `cross-spawn`, as the MCP SDK's own stdio client does. On Windows `npx`,
 * `uvx` and most MCP server launchers are `.cmd`/`.bat` shims, which Node refuses to
 * spawn without a shell since the April 2024 hardening (CVE-2024-27980), and Node does no
 * PATHEXT lookup of its own. cross-spawn finds the file along PATH/PATHEXT and runs a
 * shim through `cmd.exe /d /s /c` with every argument escaped for cmd.exe, so `--local-stdio`
 * still means "these words, no shell syntax". On Linux and macOS it is plain
 * `child_process.spawn` with the same arguments.
 *
 * End: a ladder of steps, each given `grace` ms to work (local-server.ts runs it).
 * POSIX: end stdin (the MCP stdio way to say goodbye), SIGTERM, SIGKILL. Windows has no
 * SIGTERM: Node's kill() there is TerminateProcess on the one process it started, which
 * for a shim is cmd.exe, leaving the real server (node, python) running and holding our
 * pipes. So: end stdin, then `taskkill /T /F /PID` on the whole tree, then
 * TerminateProcess as the last resort.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import crossSpawn from 'cross-spawn';

export interface SpawnChildOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The child with stdin/stdout piped (the protocol) and stderr inherited (its logs). */
export function spawnChild(file: string, args: string[], o: SpawnChildOptions): ChildProcess {
  return crossSpawn(file, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: o.env,
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    windowsHide: true,
  });
}

export type StopStep = 'end-stdin' | 'sigterm' | 'kill-tree' | 'sigkill';

/** The shutdown ladder for `platform` (see the file comment). */
export function stopSteps(platform: NodeJS.Platform): StopStep[] {
  return platform === 'win32' ? ['end-stdin', 'kill-tree', 'sigkill'] : ['end-stdin', 'sigterm', 'sigkill'];
}

/** What each step is called in logs, so a log reader sees what was done to the child. */
export const STEP_NAMES: Record<StopStep, string> = {
  'end-stdin': 'stdin EOF',
  sigterm: 'SIGTERM',
  'kill-tree': 'taskkill /T /F (the process tree)',
  sigkill: 'SIGKILL',
};

/** execFile's shape, injectable so that tests can see what would run. */
export type ExecFile = (
  file: string,
  args: string[],
  options: { windowsHide: boolean; timeout: number },
  callback: (err: Error | null) => void,
) => unknown;

/** taskkill itself must not hang the shutdown. */
const TASKKILL_TIMEOUT_MS = 5_000;

/**
 * `taskkill /T /F /PID <pid>`, run without a shell. Resolves either way: a tree that is
 * already gone makes taskkill fail, and the ladder's next step covers anything left.
 */
export function killTree(pid: number, exec: ExecFile = execFile as unknown as ExecFile): Promise<Error | null> {
  return new Promise((resolve) => {
    exec('taskkill', ['/T', '/F', '/PID', String(pid)], { windowsHide: true, timeout: TASKKILL_TIMEOUT_MS }, (err) => resolve(err ?? null));
  });
}

export interface StepDeps {
  exec?: ExecFile;
  /** Told when taskkill failed (the child may have gone already). */
  onerror?: (err: Error) => void;
}

/** Perform one step on the child. */
export async function runStopStep(step: StopStep, child: ChildProcess, deps: StepDeps = {}): Promise<void> {
  switch (step) {
    case 'end-stdin':
      child.stdin?.end();
      return;
    case 'sigterm':
      child.kill('SIGTERM');
      return;
    case 'sigkill':
      child.kill('SIGKILL');
      return;
    case 'kill-tree': {
      if (child.pid === undefined) return;
      const err = await killTree(child.pid, deps.exec);
      if (err) deps.onerror?.(err);
      return;
    }
  }
}
