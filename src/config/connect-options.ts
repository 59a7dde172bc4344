/**
 * `connect` options from flags > environment (REVERSE_PROXY_*, the ContextForge names) >
 * config file (snake_case keys) > defaults. Pure: the caller loads `.env` and the config
 * file; this only picks, validates and reports.
 */
import { deriveServerName, parseCommand } from './command.js';
import { isValidServerName, SERVER_NAME_RULE } from '../protocol/server-name.js';
import { quote } from 'shell-quote';
import { ConfigError } from '../errors.js';
import { CONNECT_DEFAULTS, type ConnectOptions, type RestartMode, type ServerEraMode, type TransportMode } from './types.js';
import { chooseToken } from './token-file.js';
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
  type SourcesInput,
} from './option-sources.js';
import { readGatewayUrl, readPacLocation, readProxySetting } from './url-options.js';

/** Options whose values are never echoed (--check-config, messages). */
const SECRET_FLAGS: ReadonlySet<string> = new Set(['token', 'proxy-password']);

/**
 * A connect option's three names from its flag, by the one rule they follow
 * (`--reconnect-delay`, REVERSE_PROXY_RECONNECT_DELAY, `reconnect_delay`), so they cannot drift apart.
 */
function connectOption(flag: string): OptionSpec & { env: string } {
  const key = flag.replace(/-/g, '_');
  return { flag: `--${flag}`, env: `REVERSE_PROXY_${key.toUpperCase()}`, key, ...(SECRET_FLAGS.has(flag) ? { secret: true } : {}) };
}

/** The contract: flag, environment variable and config-file key of every connect option. */
export const CONNECT_SPECS = {
  localStdio: connectOption('local-stdio'),
  gateway: connectOption('gateway'),
  token: connectOption('token'),
  tokenFile: connectOption('token-file'),
  name: connectOption('name'),
  description: connectOption('description'),
  reconnectDelay: connectOption('reconnect-delay'),
  maxRetries: connectOption('max-retries'),
  keepalive: connectOption('keepalive'),
  logLevel: connectOption('log-level'),
  transport: connectOption('transport'),
  proxy: connectOption('proxy'),
  proxyUser: connectOption('proxy-user'),
  proxyPassword: connectOption('proxy-password'),
  proxyPac: connectOption('proxy-pac'),
  proxyPacRefresh: connectOption('proxy-pac-refresh'),
  caFile: connectOption('ca-file'),
  cert: connectOption('cert'),
  key: connectOption('key'),
  maxQueueBytes: connectOption('max-queue-bytes'),
  maxLineBytes: connectOption('max-line-bytes'),
  initTimeout: connectOption('init-timeout'),
  serverEra: connectOption('server-era'),
  handshakeTimeout: connectOption('handshake-timeout'),
  restart: connectOption('restart'),
  restartMax: connectOption('restart-max'),
  restartWindow: connectOption('restart-window'),
  metricsPort: connectOption('metrics-port'),
  reprobeInterval: connectOption('reprobe-interval'),
  firstEventTimeout: connectOption('first-event-timeout'),
  readyFile: connectOption('ready-file'),
} as const satisfies Record<keyof ConnectOptions, OptionSpec>;

export const TRANSPORT_MODES: readonly TransportMode[] = ['auto', 'ws', 'sse', 'poll'];
export const RESTART_MODES: readonly RestartMode[] = ['never', 'on-failure', 'always'];
export const SERVER_ERA_MODES: readonly ServerEraMode[] = ['auto', 'legacy', 'modern'];

export function resolveConnectOptions(input: SourcesInput): { options: ConnectOptions; warnings: string[] } {
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
    serverEra: readChoice(S.serverEra, src.pick(S.serverEra), SERVER_ERA_MODES) ?? CONNECT_DEFAULTS.serverEra,
    handshakeTimeout: readSeconds(S.handshakeTimeout, src.pick(S.handshakeTimeout)) ?? CONNECT_DEFAULTS.handshakeTimeout,
    restart: readChoice(S.restart, src.pick(S.restart), RESTART_MODES) ?? CONNECT_DEFAULTS.restart,
    restartMax: readInteger(S.restartMax, src.pick(S.restartMax), 1, 1000, 'a whole number of restarts 1-1000') ?? CONNECT_DEFAULTS.restartMax,
    restartWindow: readSeconds(S.restartWindow, src.pick(S.restartWindow)) ?? CONNECT_DEFAULTS.restartWindow,
    reprobeInterval: readSeconds(S.reprobeInterval, src.pick(S.reprobeInterval), { allowZero: true }) ?? CONNECT_DEFAULTS.reprobeInterval,
    firstEventTimeout: readSeconds(S.firstEventTimeout, src.pick(S.firstEventTimeout)) ?? CONNECT_DEFAULTS.firstEventTimeout,
    proxyPacRefresh: readSeconds(S.proxyPacRefresh, src.pick(S.proxyPacRefresh)) ?? CONNECT_DEFAULTS.proxyPacRefresh,
  };
  const tokens = chooseToken(S, src.pick(S.token), src.pick(S.tokenFile), input.file, input.platform);
  warnings.push(...tokens.warnings);
  const optional = {
    token: tokens.token,
    tokenFile: tokens.tokenFile,
    readyFile: readPath(S.readyFile, src.pick(S.readyFile), input.file),
    description: readString(S.description, src.pick(S.description)),
    proxy: readProxySetting(S.proxy, src.pick(S.proxy)),
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
