/** `mcp-reverse-proxy gateway`: the public side MCP clients and tunnel clients connect to. */
import { Command } from 'commander';
import { loadConfigFile } from '../config/config-file.js';
import { GATEWAY_SPECS as S, resolveGatewayOptions } from '../config/gateway-options.js';
import { GATEWAY_DEFAULTS as D } from '../config/types.js';
import { createLogger } from '../observability/logger.js';
import { ExitCode } from './exit-codes.js';
import { redactUrl } from '../observability/redact.js';
import { describer, OptionsCommand, PRECEDENCE_NOTE } from './help.js';

/** Option help with its env variable, config key and default (from the defaults table). */
const help = describer(D);

const EXAMPLES = `
Examples:
  $ JWT_SECRET_KEY=$(openssl rand -hex 32) mcp-reverse-proxy gateway --host 0.0.0.0 --port 4444
  $ mcp-reverse-proxy gateway --no-auth --port 0        # development only; prints the real port

On start it prints one line to stdout: "gateway listening on <url>".
${PRECEDENCE_NOTE}`;

export function gatewayCommand(action: (flags: Record<string, unknown>) => Promise<void>): Command {
  return new OptionsCommand('gateway')
    .description('run the gateway: accepts tunnels and serves their MCP servers over Streamable HTTP')
    .option('--host <host>', help('address to listen on', S.host))
    .option('--port <port>', help('port to listen on; 0 = any free port', S.port))
    .option('--jwt-secret <secret>', help('HS256 secret that signs client tokens (prefer the env variable)', S.jwtSecret))
    .option('--jwt-issuer <iss>', help('expected token issuer', S.jwtIssuer))
    .option('--jwt-audience <aud>', help('expected token audience', S.jwtAudience))
    .option('--no-auth', help('accept requests without a token (development only)', S.noAuth))
    .option('--resume-window <seconds>', help('how long a dropped tunnel may resume its session', S.resumeWindow))
    .option('--max-queue-bytes <size>', help('bound per session of the replay queue, of frames held from its client, and of unsent output per MCP session', S.maxQueueBytes))
    .option('--max-frame-bytes <size>', help('largest frame or HTTP body accepted', S.maxFrameBytes))
    .option('--request-timeout <seconds>', help('deadline for one MCP request through a tunnel', S.requestTimeout))
    .option('--mcp-session-idle <seconds>', help('close an MCP client session idle this long (no request, no open stream)', S.mcpSessionIdle))
    .option('--keepalive <seconds>', help('SSE keepalive comment / poll wait interval', S.keepalive))
    .logOptions(help, S.logLevel)
    .option('--tls-cert <pem>', help('serve HTTPS with this certificate (PEM)', S.tlsCert))
    .option('--tls-key <pem>', help('private key of --tls-cert (PEM)', S.tlsKey))
    .option('--tls-client-ca <pem>', help('require client certificates signed by this CA (PEM)', S.tlsClientCa))
    .option('--open-servers', help("let every authenticated user use every server's MCP endpoint (default: owner and admins)", S.openServers))
    .option(
      '--allowed-origins <list>',
      help('comma-separated browser origins allowed on the MCP endpoint, or * (loopback origins are allowed on a loopback bind)', S.allowedOrigins, 'none'),
    )
    .option('--max-links-per-user <n>', help('tunnel links (ws, sse, poll) one token subject may hold open', S.maxLinksPerUser))
    .option(
      '--max-pending-links-per-user <n>',
      help('tunnel links one token subject may hold before they register', S.maxPendingLinksPerUser),
    )
    .option('--max-sessions-per-user <n>', help('tunnel sessions one token subject may hold', S.maxSessionsPerUser))
    .option('--metrics-auth', help('GET /metrics needs an admin token (default: open, limited by --host)', S.metricsAuth))
    .option('--headers-timeout <seconds>', help("close a connection that has not sent a request's headers (or a first byte, or its TLS handshake) within this", S.headersTimeout))
    .option('--receive-timeout <seconds>', help('close a connection that has not sent a whole request (headers and body) within this; >= --headers-timeout', S.receiveTimeout))
    .option('--keep-alive-timeout <seconds>', help('close a kept-alive HTTP connection idle this long between requests', S.keepAliveTimeout))
    .option('--max-connections <n>', help('open TCP connections accepted at once; more are closed at accept (keep below ulimit -n)', S.maxConnections))
    .option('--max-mcp-sessions-per-user <n>', help('open MCP client sessions one token subject may hold (all servers)', S.maxMcpSessionsPerUser))
    .option('--mcp-resume-bytes <size>', help('SSE events kept per 2025-era MCP session for a client that reconnects with Last-Event-ID; 0 = no resuming', S.mcpResumeBytes))
    .option('--mrtr-wait <seconds>', help('how long a 2026-07-28 call that answered input_required waits for the retry before it is cancelled at the server', S.mrtrWait))
    .option('--cache-ttl <seconds>', help('ttlMs hint on cacheable results of 2025-era servers for 2026-07-28 clients', S.cacheTtl))
    .option('--cache-scope <scope>', help('cacheScope hint on those results: private or public', S.cacheScope))
    .option('--redis <url>', help('scale-out: run as one of several replicas sharing this Redis (docs/scale-out.md); unset = one in-memory gateway', S.redis, 'none'))
    .option('--cluster-secret <secret>', help('scale-out: secret the replicas sign their messages with (prefer the env variable)', S.clusterSecret, 'derived from the JWT secret'))
    .option('--config <file>', 'YAML or JSON config file (snake_case keys)')
    .checkConfigOption()
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
    const shown = {
      ...options,
      ...(options.jwtSecret !== undefined ? { jwtSecret: '***' } : {}),
      ...(options.clusterSecret !== undefined ? { clusterSecret: '***' } : {}),
      ...(options.redis !== undefined ? { redis: redactUrl(options.redis) } : {}),
    };
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
