/** `mcp-reverse-proxy connect`: run a ReverseProxyClient until a signal or a fatal error. */
import { ExitCode, type ExitCodeValue } from '../cli/exit-codes.js';
import type { ConnectOptions } from '../config/types.js';
import { errorMessage, ReverseProxyError } from '../errors.js';
import { redact, type Logger } from '../observability/logger.js';
import { ReverseProxyClient } from './reverse-proxy-client.js';

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
  const client = new ReverseProxyClient({ ...options, logger });
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    logger.info({ event: 'shutdown', signal: sig }, `received ${sig}: shutting down`);
    void client.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await client.run();
    return ExitCode.Ok;
  } catch (err) {
    if (signalled) return ExitCode.Ok;
    const message = redact(errorMessage(err));
    logger.error({ event: 'fatal', err }, message);
    process.stderr.write(`mcp-reverse-proxy: error: ${message}\n`);
    return exitCodeFor(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
