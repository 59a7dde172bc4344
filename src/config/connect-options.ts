/**
 * `connect` options from flags > environment (REVERSE_PROXY_*, the ContextForge names) >
 * config file (snake_case keys) > defaults. Pure: the caller loads `.env` and the config
 * file; this only picks, validates and reports.
 */
import { deriveServerName, parseCommand } from './command.js';
import { isValidServerName, SERVER_NAME_RULE } from '../protocol/server-name.js';
import { quote } from 'shell-quote';
import { ConfigError } from '../errors.js';
import { CONNECT_DEFAULTS, type ConnectOptions, type RestartMode, type TransportMode } from './types.js';
import type { ConfigFile } from './config-file.js';
import {
  OptionSources,
  invalid,
  missing,
  readByteSize,
  readChoice,
  readInteger,
  readLogLevel,
  readPath,
  readSeconds,
  readString,
  type OptionSpec,
  type Picked,
} from './option-sources.js';
import { readGatewayUrl, readPacLocation, readProxyUrl } from './url-options.js';

/** The contract: flag, environment variable and config-file key of every connect option. */
export const CONNECT_SPECS = {
  localStdio: { flag: '--local-stdio', env: 'REVERSE_PROXY_LOCAL_STDIO', key: 'local_stdio' },
  gateway: { flag: '--gateway', env: 'REVERSE_PROXY_GATEWAY', key: 'gateway' },
  token: { flag: '--token', env: 'REVERSE_PROXY_TOKEN', key: 'token', secret: true },
  name: { flag: '--name', env: 'REVERSE_PROXY_NAME', key: 'name' },
  description: { flag: '--description', env: 'REVERSE_PROXY_DESCRIPTION', key: 'description' },
  reconnectDelay: { flag: '--reconnect-delay', env: 'REVERSE_PROXY_RECONNECT_DELAY', key: 'reconnect_delay' },
  maxRetries: { flag: '--max-retries', env: 'REVERSE_PROXY_MAX_RETRIES', key: 'max_retries' },
  keepalive: { flag: '--keepalive', env: 'REVERSE_PROXY_KEEPALIVE', key: 'keepalive' },
  logLevel: { flag: '--log-level', env: 'REVERSE_PROXY_LOG_LEVEL', key: 'log_level' },
  transport: { flag: '--transport', env: 'REVERSE_PROXY_TRANSPORT', key: 'transport' },
  proxy: { flag: '--proxy', env: 'REVERSE_PROXY_PROXY', key: 'proxy' },
  proxyUser: { flag: '--proxy-user', env: 'REVERSE_PROXY_PROXY_USER', key: 'proxy_user' },
  proxyPassword: { flag: '--proxy-password', env: 'REVERSE_PROXY_PROXY_PASSWORD', key: 'proxy_password', secret: true },
  proxyPac: { flag: '--proxy-pac', env: 'REVERSE_PROXY_PROXY_PAC', key: 'proxy_pac' },
  proxyPacRefresh: { flag: '--proxy-pac-refresh', env: 'REVERSE_PROXY_PROXY_PAC_REFRESH', key: 'proxy_pac_refresh' },
  caFile: { flag: '--ca-file', env: 'REVERSE_PROXY_CA_FILE', key: 'ca_file' },
  cert: { flag: '--cert', env: 'REVERSE_PROXY_CERT', key: 'cert' },
  key: { flag: '--key', env: 'REVERSE_PROXY_KEY', key: 'key' },
  maxQueueBytes: { flag: '--max-queue-bytes', env: 'REVERSE_PROXY_MAX_QUEUE_BYTES', key: 'max_queue_bytes' },
  maxLineBytes: { flag: '--max-line-bytes', env: 'REVERSE_PROXY_MAX_LINE_BYTES', key: 'max_line_bytes' },
  initTimeout: { flag: '--init-timeout', env: 'REVERSE_PROXY_INIT_TIMEOUT', key: 'init_timeout' },
  handshakeTimeout: { flag: '--handshake-timeout', env: 'REVERSE_PROXY_HANDSHAKE_TIMEOUT', key: 'handshake_timeout' },
  restart: { flag: '--restart', env: 'REVERSE_PROXY_RESTART', key: 'restart' },
  restartMax: { flag: '--restart-max', env: 'REVERSE_PROXY_RESTART_MAX', key: 'restart_max' },
  restartWindow: { flag: '--restart-window', env: 'REVERSE_PROXY_RESTART_WINDOW', key: 'restart_window' },
  metricsPort: { flag: '--metrics-port', env: 'REVERSE_PROXY_METRICS_PORT', key: 'metrics_port' },
  reprobeInterval: { flag: '--reprobe-interval', env: 'REVERSE_PROXY_REPROBE_INTERVAL', key: 'reprobe_interval' },
  firstEventTimeout: { flag: '--first-event-timeout', env: 'REVERSE_PROXY_FIRST_EVENT_TIMEOUT', key: 'first_event_timeout' },
} as const satisfies Record<keyof ConnectOptions, OptionSpec>;

export const TRANSPORT_MODES: readonly TransportMode[] = ['auto', 'ws', 'sse', 'poll'];
export const RESTART_MODES: readonly RestartMode[] = ['never', 'on-failure', 'always'];

export interface ResolveInput {
  /** Raw flag values keyed by camelCase flag name; absent = not given. `verbose: true` means DEBUG. */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file?: ConfigFile;
}

export function resolveConnectOptions(input: ResolveInput): { options: ConnectOptions; warnings: string[] } {
  const src = new OptionSources(input);
  const S = CONNECT_SPECS;
  if (input.file && input.file.data.servers !== undefined && input.file.data.servers !== null) {
    // Multi-server files go through resolveServerList (server-list.ts), which calls back here per entry.
    throw new ConfigError(`config file ${input.file.path} has a servers: list; resolve it with resolveServerList`);
  }
  const warnings = src.unknownKeys(Object.values(S).map((s) => s.key));

  const localStdio = readCommand(S.localStdio, src.pick(S.localStdio));
  if (localStdio === undefined) throw missing(S.localStdio, 'the command that starts the local stdio MCP server');
  const gateway = readGatewayUrl(S.gateway, src.pick(S.gateway));
  if (gateway === undefined) throw missing(S.gateway, 'the URL of the gateway');

  const namePicked = src.pick(S.name);
  const name = readString(S.name, namePicked) ?? deriveServerName(localStdio);
  // The name is a URL path segment (`/servers/{name}/mcp`): the gateway refuses what this refuses.
  if (!isValidServerName(name)) {
    const expected = `expected ${SERVER_NAME_RULE}`;
    if (namePicked) throw invalid(S.name, namePicked, expected);
    throw new ConfigError(`cannot derive a server name from --local-stdio; set --name (${expected})`);
  }

  const options: ConnectOptions = {
    localStdio,
    gateway,
    name,
    reconnectDelay: readSeconds(S.reconnectDelay, src.pick(S.reconnectDelay)) ?? CONNECT_DEFAULTS.reconnectDelay,
    maxRetries:
      readInteger(S.maxRetries, src.pick(S.maxRetries), 0, Number.MAX_SAFE_INTEGER, 'a whole number >= 0 (0 = retry forever)') ??
      CONNECT_DEFAULTS.maxRetries,
    keepalive: readSeconds(S.keepalive, src.pick(S.keepalive)) ?? CONNECT_DEFAULTS.keepalive,
    logLevel: input.flags.verbose === true ? 'DEBUG' : (readLogLevel(S.logLevel, src.pick(S.logLevel)) ?? CONNECT_DEFAULTS.logLevel),
    transport: readChoice(S.transport, src.pick(S.transport), TRANSPORT_MODES) ?? CONNECT_DEFAULTS.transport,
    maxQueueBytes: readByteSize(S.maxQueueBytes, src.pick(S.maxQueueBytes), 1024) ?? CONNECT_DEFAULTS.maxQueueBytes,
    maxLineBytes: readByteSize(S.maxLineBytes, src.pick(S.maxLineBytes), 1024) ?? CONNECT_DEFAULTS.maxLineBytes,
    initTimeout: readSeconds(S.initTimeout, src.pick(S.initTimeout)) ?? CONNECT_DEFAULTS.initTimeout,
    handshakeTimeout: readSeconds(S.handshakeTimeout, src.pick(S.handshakeTimeout)) ?? CONNECT_DEFAULTS.handshakeTimeout,
    restart: readChoice(S.restart, src.pick(S.restart), RESTART_MODES) ?? CONNECT_DEFAULTS.restart,
    restartMax: readInteger(S.restartMax, src.pick(S.restartMax), 1, 1000, 'a whole number of restarts 1-1000') ?? CONNECT_DEFAULTS.restartMax,
    restartWindow: readSeconds(S.restartWindow, src.pick(S.restartWindow)) ?? CONNECT_DEFAULTS.restartWindow,
    reprobeInterval: readSeconds(S.reprobeInterval, src.pick(S.reprobeInterval), { allowZero: true }) ?? CONNECT_DEFAULTS.reprobeInterval,
    firstEventTimeout: readSeconds(S.firstEventTimeout, src.pick(S.firstEventTimeout)) ?? CONNECT_DEFAULTS.firstEventTimeout,
    proxyPacRefresh: readSeconds(S.proxyPacRefresh, src.pick(S.proxyPacRefresh)) ?? CONNECT_DEFAULTS.proxyPacRefresh,
  };
  const optional = {
    token: readString(S.token, src.pick(S.token), 'a non-empty token'),
    description: readString(S.description, src.pick(S.description)),
    proxy: readProxyUrl(S.proxy, src.pick(S.proxy)),
    proxyUser: readString(S.proxyUser, src.pick(S.proxyUser), 'a user name (DOMAIN\\user for NTLM)'),
    proxyPassword: readString(S.proxyPassword, src.pick(S.proxyPassword), 'a non-empty password'),
    proxyPac: readPacLocation(S.proxyPac, src.pick(S.proxyPac), input.file),
    caFile: readPath(S.caFile, src.pick(S.caFile), input.file),
    cert: readPath(S.cert, src.pick(S.cert), input.file),
    key: readPath(S.key, src.pick(S.key), input.file),
    metricsPort: readInteger(S.metricsPort, src.pick(S.metricsPort), 0, 65535, 'a port number 0-65535 (0 = any free port)'),
  };
  for (const [field, value] of Object.entries(optional)) {
    if (value !== undefined) (options as unknown as Record<string, unknown>)[field] = value;
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new ConfigError('--cert and --key go together: a client certificate needs its private key (and the other way round)');
  }
  return { options, warnings };
}

/** A command string, or (config file only) a list of words, which is quoted back into one. */
function readCommand(spec: OptionSpec, picked: Picked | undefined): string | undefined {
  if (!picked) return undefined;
  let command: string;
  if (Array.isArray(picked.value) && picked.origin === 'file' && picked.value.every((w) => typeof w === 'string')) {
    command = quote(picked.value as string[]);
  } else if (typeof picked.value === 'string') {
    command = picked.value.trim();
  } else {
    throw invalid(spec, picked, 'expected a command line (or, in a config file, a list of words)');
  }
  try {
    parseCommand(command);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${err.message} (from ${picked.source})`);
    throw err;
  }
  return command;
}
