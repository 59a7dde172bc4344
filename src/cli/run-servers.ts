/**
 * `mcp-reverse-proxy connect`: run one ReverseProxyClient per server (one, or every entry
 * of a `servers:` list) until a signal or until every one has stopped.
 *
 * Each server is independent: its own child, tunnel and backoff. One failing (child crash
 * without restart, token rejected, --max-retries used up) is logged and leaves the others
 * running. Exit status: 0 when a signal stopped the process; otherwise, once all servers
 * have stopped, the highest status among them (exit-codes.ts). `--ready-file` is written
 * once every server is up and removed on the way out (ready-file.ts).
 */
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import type { ConnectOptions } from '../config/types.js';
import { ConfigError, errorMessage, ReverseProxyError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { redact } from '../observability/redact.js';
import type { ClientMetrics } from '../client/client-metrics.js';
import { ReverseProxyClient } from '../client/reverse-proxy-client.js';
import { ReadyFile } from '../client/ready-file.js';

export function exitCodeFor(err: unknown): ExitCodeValue {
  if (!(err instanceof ReverseProxyError)) return ExitCode.Failure;
  switch (err.code) {
    case 'ERR_CONFIG':
    case 'ERR_USAGE':
      return ExitCode.Usage;
    case 'ERR_AUTH_REJECTED':
    case 'ERR_PROXY_AUTH':
      return ExitCode.AuthRejected;
    case 'ERR_MAX_RETRIES':
      return ExitCode.MaxRetries;
    case 'ERR_LOCAL_SERVER':
    case 'ERR_LOCAL_SERVER_EXIT':
    case 'ERR_INIT_TIMEOUT':
      return ExitCode.LocalServer;
    default:
      return ExitCode.Failure;
  }
}

export async function runClient(options: ConnectOptions, logger: Logger): Promise<number> {
  return runServers([options], logger, options.metricsPort);
}

export async function runServers(list: ConnectOptions[], logger: Logger, metricsPort?: number): Promise<number> {
  const multi = list.length > 1;
  const clients = list.map((o) => new ReverseProxyClient({ ...o, logger: multi ? logger.child({ server: o.name }) : logger }));
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    logger.info({ event: 'shutdown', signal: sig }, `received ${sig}: shutting down`);
    for (const c of clients) void c.stop();
  };
  // Windows has no SIGTERM: Ctrl-Break (SIGBREAK) is its other console stop signal.
  const signals: NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK'] : ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, onSignal);
  let metrics: Awaited<ReturnType<ClientMetrics['listen']>> | undefined;
  // --ready-file is process-wide: the same for every entry (config/server-list.ts).
  const readyPath = list[0]?.readyFile;
  const ready = readyPath === undefined ? undefined : new ReadyFile(readyPath, list.map((o) => o.name), logger);
  try {
    ready?.prepare();
    clients.forEach((c, i) =>
      c.once('connected', (e) => ready?.serverUp({ name: list[i]!.name, endpoint: c.endpoint, sessionId: e.sessionId, transport: e.transport })),
    );
    if (metricsPort !== undefined) {
      // Loaded only when asked for: prom-client costs the client ~13 MB of RSS.
      const { ClientMetrics } = await import('../client/client-metrics.js');
      const m = new ClientMetrics();
      list.forEach((o, i) => m.add(o.name, clients[i]!));
      metrics = await m.listen(metricsPort).catch((err: unknown) => {
        throw new ConfigError(`cannot serve metrics on 127.0.0.1:${metricsPort} (--metrics-port): ${errorMessage(err)}`, { cause: err });
      });
      logger.info({ event: 'metrics_listening', url: metrics.url }, `metrics on ${metrics.url}`);
    }
    const codes = await Promise.all(
      clients.map(async (client, i): Promise<number> => {
        const name = list[i]!.name;
        try {
          await client.run();
          return ExitCode.Ok;
        } catch (err) {
          if (signalled) return ExitCode.Ok;
          const message = redact(errorMessage(err));
          logger.error({ event: 'fatal', server: name, err }, message);
          process.stderr.write(`mcp-reverse-proxy: error: ${multi ? `[${name}] ` : ''}${message}\n`);
          if (multi) logger.warn({ event: 'server_stopped', server: name }, `server "${name}" stopped; the other servers keep running`);
          return exitCodeFor(err);
        }
      }),
    );
    return signalled ? ExitCode.Ok : Math.max(ExitCode.Ok, ...codes);
  } finally {
    for (const s of signals) process.off(s, onSignal);
    ready?.remove();
    await metrics?.close();
  }
}
