/**
 * LocalServer tests with real child processes: the fixtures' command lines, and servers
 * started through `localServer` stopped after each test.
 */
import { afterEach } from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from 'shell-quote';
import { LocalServer, type LocalServerOptions } from '../../src/client/local-server.js';
import { captureLogs } from './log-capture.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** The command line that runs fixtures/<name> with this Node. */
export const fixture = (name: string, ...args: string[]): string => quote([process.execPath, join(FIXTURES, name), ...args]);

/** Call at the top of a test file: what `running` holds (and what `localServer` starts) is stopped after each test. */
export function localServerHarness() {
  const running: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });
  const localServer = (command: string, options: Partial<LocalServerOptions> = {}) => {
    const logs = captureLogs();
    const server = new LocalServer({ command, maxLineBytes: 1024 * 1024, initTimeoutMs: 20_000, logger: logs.logger, stopGraceMs: 200, ...options });
    running.push(server);
    return { server, logs };
  };
  return { running, localServer };
}
