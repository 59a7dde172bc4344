/** `mcp-reverse-proxy gateway`: the public side MCP clients and tunnel clients connect to. */
import { Command } from 'commander';
import { loadConfigFile } from '../config/config-file.js';
import { GATEWAY_SPECS as S, resolveGatewayOptions } from '../config/gateway-options.js';
import { formatBytes } from '../config/sizes.js';
import { GATEWAY_DEFAULTS as D } from '../config/types.js';
import { createLogger } from '../observability/logger.js';
import { ExitCode } from './exit-codes.js';
import { describe, PRECEDENCE_NOTE } from './help.js';

const EXAMPLES = `
Examples:
  $ JWT_SECRET_KEY=$(openssl rand -hex 32) mcp-reverse-proxy gateway --host 0.0.0.0 --port 4444
  $ mcp-reverse-proxy gateway --no-auth --port 0        # development only; prints the real port

On start it prints one line to stdout: "gateway listening on <url>".
${PRECEDENCE_NOTE}`;

export function gatewayCommand(action: (flags: Record<string, unknown>) => Promise<void>): Command {
  return new Command('gateway')
    .description('run the gateway: accepts tunnels and serves their MCP servers over Streamable HTTP')
    .option('--host <host>', describe('address to listen on', S.host, D.host))
    .option('--port <port>', describe('port to listen on; 0 = any free port', S.port, D.port))
    .option('--jwt-secret <secret>', describe('HS256 secret that signs client tokens (prefer the env variable)', S.jwtSecret))
    .option('--jwt-issuer <iss>', describe('expected token issuer', S.jwtIssuer, D.jwtIssuer))
    .option('--jwt-audience <aud>', describe('expected token audience', S.jwtAudience, D.jwtAudience))
    .option('--no-auth', describe('accept requests without a token (development only)', S.noAuth))
    .option('--resume-window <seconds>', describe('how long a dropped tunnel may resume its session', S.resumeWindow, D.resumeWindow))
    .option('--max-queue-bytes <size>', describe('bound per session of the replay queue, of frames held from its client, and of unsent output per MCP session', S.maxQueueBytes, formatBytes(D.maxQueueBytes)))
    .option('--max-frame-bytes <size>', describe('largest frame or HTTP body accepted', S.maxFrameBytes, formatBytes(D.maxFrameBytes)))
    .option('--request-timeout <seconds>', describe('deadline for one MCP request through a tunnel', S.requestTimeout, D.requestTimeout))
    .option('--mcp-session-idle <seconds>', describe('close an MCP client session idle this long (no request, no open stream)', S.mcpSessionIdle, D.mcpSessionIdle))
    .option('--keepalive <seconds>', describe('SSE keepalive comment / poll wait interval', S.keepalive, D.keepalive))
    .option('--log-level <level>', describe('DEBUG, INFO, WARNING, ERROR or CRITICAL', S.logLevel, D.logLevel))
    .option('--verbose', 'same as --log-level DEBUG (wins over it)')
    .option('--tls-cert <pem>', describe('serve HTTPS with this certificate (PEM)', S.tlsCert))
    .option('--tls-key <pem>', describe('private key of --tls-cert (PEM)', S.tlsKey))
    .option('--tls-client-ca <pem>', describe('require client certificates signed by this CA (PEM)', S.tlsClientCa))
    .option('--open-servers', describe("let every authenticated user use every server's MCP endpoint (default: owner and admins)", S.openServers))
    .option(
      '--allowed-origins <list>',
      describe('comma-separated browser origins allowed on the MCP endpoint, or * (loopback origins are allowed on a loopback bind)', S.allowedOrigins, 'none'),
    )
    .option('--max-links-per-user <n>', describe('tunnel links (ws, sse, poll) one token subject may hold open', S.maxLinksPerUser, D.maxLinksPerUser))
    .option(
      '--max-pending-links-per-user <n>',
      describe('tunnel links one token subject may hold before they register', S.maxPendingLinksPerUser, D.maxPendingLinksPerUser),
    )
    .option('--max-sessions-per-user <n>', describe('tunnel sessions one token subject may hold', S.maxSessionsPerUser, D.maxSessionsPerUser))
    .option('--metrics-auth', describe('GET /metrics needs an admin token (default: open, limited by --host)', S.metricsAuth))
    .option('--headers-timeout <seconds>', describe("close a connection that has not sent a request's headers (or a first byte, or its TLS handshake) within this", S.headersTimeout, D.headersTimeout))
    .option('--receive-timeout <seconds>', describe('close a connection that has not sent a whole request (headers and body) within this; >= --headers-timeout', S.receiveTimeout, D.receiveTimeout))
    .option('--keep-alive-timeout <seconds>', describe('close a kept-alive HTTP connection idle this long between requests', S.keepAliveTimeout, D.keepAliveTimeout))
    .option('--max-connections <n>', describe('open TCP connections accepted at once; more are closed at accept (keep below ulimit -n)', S.maxConnections, D.maxConnections))
    .option('--max-mcp-sessions-per-user <n>', describe('open MCP client sessions one token subject may hold (all servers)', S.maxMcpSessionsPerUser, D.maxMcpSessionsPerUser))
    .option('--mcp-resume-bytes <size>', describe('SSE events kept per 2025-era MCP session for a client that reconnects with Last-Event-ID; 0 = no resuming', S.mcpResumeBytes, formatBytes(D.mcpResumeBytes)))
    .option('--mrtr-wait <seconds>', describe('how long a 2026-07-28 call that answered input_required waits for the retry before it is cancelled at the server', S.mrtrWait, D.mrtrWait))
    .option('--cache-ttl <seconds>', describe('ttlMs hint on cacheable results of 2025-era servers for 2026-07-28 clients', S.cacheTtl, D.cacheTtl))
    .option('--cache-scope <scope>', describe('cacheScope hint on those results: private or public', S.cacheScope, D.cacheScope))
    .option('--config <file>', 'YAML or JSON config file (snake_case keys)')
    .option('--check-config', 'validate flags, environment and config file, print the resolved options as JSON (secrets masked) and exit')
    .addHelpText('after', EXAMPLES)
    .action(action);
}

/** Runs until SIGINT/SIGTERM, then closes the gateway; a second signal exits at once. */
export async function runGateway(rawFlags: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<number> {
  // Commander reports `--no-auth` as `auth: false` (and `auth: true` when absent).
  const { auth, checkConfig, ...flags } = rawFlags;
  if (auth === false) flags.noAuth = true;
  const file = typeof flags.config === 'string' ? loadConfigFile(flags.config) : undefined;
  const { options, warnings } = resolveGatewayOptions({ flags, env, file });
  if (checkConfig === true) {
    const shown = { ...options, ...(options.jwtSecret !== undefined ? { jwtSecret: '***' } : {}) };
    process.stdout.write(`${JSON.stringify({ command: 'gateway', options: shown, warnings }, null, 2)}\n`);
    return ExitCode.Ok;
  }
  const logger = createLogger({ level: options.logLevel });
  for (const warning of warnings) logger.warn(warning);

  // Listen for signals before announcing the URL: whoever reads the line may signal at once.
  let onSignal!: (signal: NodeJS.Signals) => void;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const { startGateway } = await import('../gateway/index.js');
  const gateway = await startGateway(options, logger);
  process.stdout.write(`gateway listening on ${gateway.url}\n`);

  const signal = await stopRequested;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  logger.info({ event: 'shutdown', signal }, `received ${signal}: closing the gateway`);
  const force = (): never => process.exit(ExitCode.Failure);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await gateway.close();
  return ExitCode.Ok;
}
