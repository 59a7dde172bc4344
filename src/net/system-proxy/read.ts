/**
 * Reading the OS proxy settings: `reg.exe query` on Windows, `scutil --proxy` on macOS,
 * each by absolute path and without a shell (a `reg.exe` in the working directory must not
 * be the one that runs), bounded in time and output. Linux has no such store that every
 * program shares: there the environment (HTTPS_PROXY, …) is the system setting, read by
 * src/net/proxy.ts as before.
 *
 * A query that fails or takes longer than `timeoutMs` never stops the client: the result
 * says why, the caller logs a WARNING and connects directly.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { macosProxySettings, parseScutil, SCUTIL } from './macos-scutil.js';
import type { SystemProxySettings } from './settings.js';
import { INTERNET_SETTINGS_KEY, parseRegQuery, windowsProxySettings } from './windows-registry.js';

/** Runs a program (no shell) and resolves with its stdout; rejects on failure or timeout. */
export type RunCommand = (file: string, args: string[], timeoutMs: number) => Promise<string>;

export const SYSTEM_PROXY_TIMEOUT_MS = 3_000;
/** Both outputs are a few KiB; the bound only stops a runaway program. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

export type SystemProxyResult =
  /** Linux and the rest: the environment is the system setting. */
  | { kind: 'environment' }
  | { kind: 'settings'; settings: SystemProxySettings }
  /** The query failed: why, for the WARNING. */
  | { kind: 'failed'; reason: string };

export const runCommand: RunCommand = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true, encoding: 'utf8' },
      (err, stdout) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
        if (e.killed && e.signal === 'SIGKILL') reject(new Error(`no answer within ${timeoutMs} ms`));
        else reject(err);
      },
    );
  });

/** The command that prints the settings on `platform`, or undefined where the environment rules. */
export function systemProxyCommand(platform: NodeJS.Platform, env: NodeJS.ProcessEnv = process.env): { file: string; args: string[] } | undefined {
  if (platform === 'win32') {
    // %SystemRoot%\System32\reg.exe: by full path, so no other reg.exe on PATH or in the cwd runs.
    const root = env.SystemRoot ?? env.SYSTEMROOT ?? env.windir ?? 'C:\\Windows';
    return { file: join(root, 'System32', 'reg.exe'), args: ['query', INTERNET_SETTINGS_KEY] };
  }
  if (platform === 'darwin') return { file: SCUTIL, args: ['--proxy'] };
  return undefined;
}

export interface ReadOptions {
  platform: NodeJS.Platform;
  run?: RunCommand;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export async function readSystemProxy(o: ReadOptions): Promise<SystemProxyResult> {
  const command = systemProxyCommand(o.platform, o.env);
  if (!command) return { kind: 'environment' };
  const timeoutMs = o.timeoutMs ?? SYSTEM_PROXY_TIMEOUT_MS;
  const run = o.run ?? runCommand;
  const shown = `${command.file} ${command.args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`;
  let timer: NodeJS.Timeout | undefined;
  try {
    // A second bound besides execFile's own: a program whose children keep our pipes
    // open would otherwise hold the answer back after it was killed.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 500);
      timer.unref();
    });
    const output = await Promise.race([run(command.file, command.args, timeoutMs), deadline]);
    const settings = o.platform === 'win32' ? windowsProxySettings(parseRegQuery(output)) : macosProxySettings(parseScutil(output));
    return { kind: 'settings', settings };
  } catch (err) {
    return { kind: 'failed', reason: `${shown}: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}` };
  } finally {
    clearTimeout(timer);
  }
}
