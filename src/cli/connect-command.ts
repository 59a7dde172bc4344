/**
 * `mcp-reverse-proxy connect` (the default command): tunnel a local stdio MCP server to a
 * gateway. Commander only collects the raw strings (no commander defaults: a default would
 * hide whether a flag was given); resolveConnectOptions does precedence and validation.
 */
import { Command } from 'commander';
import { loadConfigFile } from '../config/config-file.js';
import { envValue } from '../env-lookup.js';
import { CONNECT_SPECS as S, resolveConnectOptions } from '../config/connect-options.js';
import { hasServerList, resolveServerList } from '../config/server-list.js';
import { CONNECT_DEFAULTS as D, type ConnectOptions } from '../config/types.js';
import { createLogger } from '../observability/logger.js';
import { redact } from '../observability/redact.js';
import { describer, OptionsCommand, PRECEDENCE_NOTE } from './help.js';

/** Option help with its env variable, config key and default (from the defaults table). */
const help = describer(D);

export const CONNECT_EXAMPLES = `
Examples:
  $ mcp-reverse-proxy --local-stdio "npx -y @modelcontextprotocol/server-everything stdio" \\
      --gateway https://gateway.example.com --token "$MY_TOKEN"
  $ export REVERSE_PROXY_GATEWAY=https://gateway.example.com REVERSE_PROXY_TOKEN=...
  $ mcp-reverse-proxy --local-stdio "uvx mcp-server-git" --transport sse --proxy http://proxy:3128
  $ mcp-reverse-proxy --config reverse-proxy.yaml --verbose
  $ mcp-reverse-proxy --local-stdio "npx -y @modelcontextprotocol/server-everything stdio" \
      --gateway "$GATEWAY" --token-file "$RUNNER_TEMP/token" --ready-file "$RUNNER_TEMP/tunnel.json" &

${PRECEDENCE_NOTE}
The command runs without a shell; for pipes or variables use --local-stdio "sh -c '...'".
A config file with a servers: list runs several servers in one process (see docs/cli.md).
Exit codes: 0 ok (or stopped by a signal), 1 failure, 2 usage or config error,
3 token or proxy authentication rejected, 4 --max-retries used up, 5 local server failed;
with several servers, the highest of theirs.`;

export function connectCommand(action: (flags: Record<string, unknown>) => Promise<void>): Command {
  const cmd = new OptionsCommand('connect')
    .description('run a local stdio MCP server and publish it through a gateway (default command)')
    .option('--local-stdio <command>', help('command line of the local stdio MCP server (required)', S.localStdio))
    .option('--gateway <url>', help('gateway URL, http(s):// or ws(s):// (required)', S.gateway))
    .option('--token <jwt>', help('bearer token for the gateway; prefer the env variable or --token-file (flags show in ps)', S.token))
    .option('--token-file <path>', help('read the token from this file (one line; trailing newline dropped); the stronger source of --token and --token-file wins, both from one source is an error', S.tokenFile))
    .option('--name <name>', help('name to publish the server under', S.name, 'derived from the command'))
    .option('--description <text>', help('description shown in the gateway catalog', S.description))
    .option('--reconnect-delay <seconds>', help('first reconnect delay; backs off exponentially to 60 s', S.reconnectDelay))
    .option('--max-retries <n>', help('give up after n failed reconnects; 0 = never', S.maxRetries))
    .option('--keepalive <seconds>', help('heartbeat interval', S.keepalive))
    .logOptions(help, S.logLevel)
    .option('--config <file>', 'YAML or JSON config file [env REVERSE_PROXY_CONFIG]')
    .option('--transport <mode>', help('auto, ws, sse or poll; auto tries ws, then sse, then poll', S.transport))
    .option('--proxy <url-or-system>', help('HTTP(S) proxy, or system (Windows/macOS proxy settings; on Linux the environment); overrides --proxy-pac and HTTPS_PROXY/HTTP_PROXY/NO_PROXY', S.proxy, 'system when no proxy is configured'))
    .option('--proxy-pac <url-or-file>', help('PAC file (http(s):// URL or path) choosing the proxy per gateway URL (PROXY a; PROXY b; DIRECT tried in order)', S.proxyPac))
    .option('--proxy-pac-refresh <seconds>', help('fetch the PAC file again this often', S.proxyPacRefresh))
    .option('--proxy-user <user>', help('proxy user (DOMAIN\\user for NTLM); scheme chosen from the 407: Negotiate, NTLM, Basic', S.proxyUser))
    .option('--proxy-password <password>', help('proxy password; prefer the env variable (flags show in ps)', S.proxyPassword))
    .option('--ca-file <pem>', help('extra CA certificates to trust (PEM)', S.caFile))
    .option('--cert <pem>', help('client certificate for mutual TLS (PEM)', S.cert))
    .option('--key <pem>', help('private key of --cert (PEM)', S.key))
    .option('--max-queue-bytes <size>', help('bound of the replay queue and of messages held for a server that is not reading, e.g. 16MiB', S.maxQueueBytes))
    .option('--max-line-bytes <size>', help("largest line accepted from the server's stdout", S.maxLineBytes))
    .option('--init-timeout <seconds>', help('deadline for the local server to answer initialize (and the era probe)', S.initTimeout))
    .option(
      '--server-era <era>',
      help('MCP era of the local server: auto (probe with server/discover, else initialize), legacy (2025: initialize) or modern (2026-07-28)', S.serverEra),
    )
    .option('--handshake-timeout <seconds>', help('deadline for the WebSocket handshake', S.handshakeTimeout))
    .option('--first-event-timeout <seconds>', help('deadline for the first SSE event; longer means the path buffers (then poll)', S.firstEventTimeout))
    .option('--reprobe-interval <seconds>', help('while on sse/poll (auto), retry WebSocket this often; 0 = never', S.reprobeInterval))
    .option('--restart <policy>', help('restart the local server when it exits: never, on-failure or always', S.restart))
    .option('--restart-max <n>', help('at most n restarts within --restart-window, then give up', S.restartMax))
    .option('--restart-window <seconds>', help('sliding window of the restart budget', S.restartWindow))
    .option('--ready-file <path>', help('write this JSON file (endpoint, session, transport, pid; no token) once every server is registered; removed on exit', S.readyFile))
    .option('--metrics-port <port>', help('serve Prometheus metrics on http://127.0.0.1:<port>/metrics; 0 = any free port', S.metricsPort, 'off'))
    .checkConfigOption()
    .addHelpText('after', CONNECT_EXAMPLES)
    .action(action);
  return cmd;
}

export async function runConnect(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<number> {
  const configFlag = typeof flags.config === 'string' ? flags.config : undefined;
  const configPath = configFlag ?? (envValue(env, 'REVERSE_PROXY_CONFIG') || undefined);
  const file = configPath === undefined ? undefined : loadConfigFile(configPath, configFlag ? '--config' : 'REVERSE_PROXY_CONFIG');
  const { checkConfig, ...optionFlags } = flags;
  const { servers, warnings } = hasServerList(file)
    ? resolveServerList({ flags: optionFlags, env, file })
    : (({ options, warnings: w }) => ({ servers: [options], warnings: w }))(resolveConnectOptions({ flags: optionFlags, env, file }));
  const first = servers[0]!;
  if (checkConfig === true) {
    process.stdout.write(`${JSON.stringify(checkConfigReport(servers, warnings), null, 2)}\n`);
    return 0;
  }
  const logger = createLogger({ level: first.logLevel });
  for (const warning of warnings) logger.warn(warning);
  // Loaded only when connecting, so --help and config errors do not pay for the client.
  const [{ runServers }, { compileWasmSmall }] = await Promise.all([import('./run-servers.js'), import('../client/wasm-tier.js')]);
  compileWasmSmall();
  return runServers(servers, logger, first.metricsPort);
}

/** What --check-config prints: the options each server would run with, secrets masked. */
export function checkConfigReport(servers: ConnectOptions[], warnings: string[]): Record<string, unknown> {
  const mask = (o: ConnectOptions): Record<string, unknown> => ({
    ...o,
    ...(o.token !== undefined ? { token: '***' } : {}),
    ...(o.proxy !== undefined ? { proxy: redact(o.proxy) } : {}),
    ...(o.proxyPassword !== undefined ? { proxyPassword: '***' } : {}),
  });
  return { command: 'connect', servers: servers.map(mask), warnings };
}
