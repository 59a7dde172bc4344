/**
 * Multi-server config files: the seed's `servers:` list. One process runs every entry.
 *
 *   reconnect_delay: 2            # top-level keys: defaults for every entry
 *   token: ${…}                   # (any connect option except the per-server identity)
 *   servers:
 *     - name: git
 *       command: uvx mcp-server-git       # `command` is an alias of `local_stdio`
 *       gateway: https://gw1.example.com
 *     - name: files
 *       local_stdio: [npx, -y, "@modelcontextprotocol/server-filesystem", /data]
 *       gateway: https://gw2.example.com
 *       token: …                  # per-server override
 *
 * Precedence for each entry, most specific first:
 *   flag  >  the entry's own key  >  environment variable  >  top-level key  >  default
 * Flags are what the operator typed for this run, so they win everywhere; an entry's own
 * key beats the environment because it names one server, while REVERSE_PROXY_* are
 * process-wide defaults (a token from a Kubernetes Secret fills in entries without one).
 * The identity of a server (local_stdio/command, name, description) comes only from its
 * entry: the flags for them are refused, their variables ignored with a warning.
 * Process-wide keys (log_level, metrics_port, ready_file) are read from flags, env and the
 * top level only; in an entry they are ignored with a warning. `token` and `token_file`
 * are one setting given two ways: an entry that sets either replaces both.
 */
import { ConfigError } from '../errors.js';
import type { ConfigFile } from './config-file.js';
import { CONNECT_SPECS, resolveConnectOptions } from './connect-options.js';
import { camelCase } from './option-sources.js';
import type { ConnectOptions } from './types.js';
import { nameKey } from '../protocol/server-name.js';
import { deleteEnv, envValue } from '../env-lookup.js';

export interface ServerListInput {
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file: ConfigFile;
  platform?: NodeJS.Platform;
}

export interface ResolvedServerList {
  servers: ConnectOptions[];
  warnings: string[];
}

const IDENTITY = [CONNECT_SPECS.localStdio, CONNECT_SPECS.name, CONNECT_SPECS.description];
const PROCESS_WIDE_KEYS = new Set<string>([CONNECT_SPECS.logLevel.key, CONNECT_SPECS.metricsPort.key, CONNECT_SPECS.readyFile.key]);
/** One setting given two ways: an entry that sets either replaces both (env and top level). */
const TOKEN_SPECS = [CONNECT_SPECS.token, CONNECT_SPECS.tokenFile];

export function hasServerList(file: ConfigFile | undefined): file is ConfigFile {
  return file !== undefined && Object.hasOwn(file.data, 'servers') && file.data.servers !== null;
}

export function resolveServerList(input: ServerListInput): ResolvedServerList {
  const { file } = input;
  const list = file.data.servers;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(`config file ${file.path}: "servers" must be a non-empty list of servers (each with name, command, gateway, …)`);
  }
  for (const spec of IDENTITY) {
    if (input.flags[camelCase(spec.flag)] !== undefined) {
      throw new ConfigError(`${spec.flag} cannot be combined with the servers: list in ${file.path}; set ${spec.key} in each entry instead`);
    }
  }
  const { servers: _list, ...defaults } = file.data;
  for (const key of ['local_stdio', 'command', 'name']) {
    if (Object.hasOwn(defaults, key)) {
      throw new ConfigError(`config file ${file.path}: top-level "${key}" cannot be combined with servers:; set it in each entry`);
    }
  }
  const warnings = new Set<string>();
  const env = { ...input.env };
  for (const spec of IDENTITY) {
    if (envValue(env, spec.env, input.platform)) warnings.add(`${spec.env} is ignored: ${file.path} has a servers: list, whose entries set ${spec.key}`);
    deleteEnv(env, spec.env, input.platform);
  }

  const servers: ConnectOptions[] = [];
  const names = new Map<string, { index: number; name: string }>();
  list.forEach((raw: unknown, i) => {
    const where = `${file.path} servers[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ConfigError(`config file ${where}: each server must be a mapping (name, command, gateway, …)`);
    }
    const entry: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
    if (Object.hasOwn(entry, 'command')) {
      if (Object.hasOwn(entry, 'local_stdio')) throw new ConfigError(`config file ${where}: give command or local_stdio, not both`);
      entry.local_stdio = entry.command;
      delete entry.command;
    }
    for (const key of Object.keys(entry)) {
      if (!PROCESS_WIDE_KEYS.has(key)) continue;
      warnings.add(`config file ${where}: "${key}" applies to the whole process; set it at the top level (ignored here)`);
      delete entry[key];
    }
    // The entry beats the environment: hide the variables of the keys it sets.
    const entryEnv = { ...env };
    for (const spec of Object.values(CONNECT_SPECS)) {
      if (Object.hasOwn(entry, spec.key)) deleteEnv(entryEnv, spec.env, input.platform);
    }
    const entryDefaults: Record<string, unknown> = { ...defaults };
    if (TOKEN_SPECS.some((spec) => Object.hasOwn(entry, spec.key))) {
      for (const spec of TOKEN_SPECS) {
        delete entryDefaults[spec.key];
        deleteEnv(entryEnv, spec.env, input.platform);
      }
    }
    const label = typeof entry.name === 'string' ? `${where} ("${entry.name}")` : where;
    let resolved: ReturnType<typeof resolveConnectOptions>;
    try {
      resolved = resolveConnectOptions({
        flags: input.flags,
        env: entryEnv,
        file: { path: file.path, data: { ...entryDefaults, ...entry } },
        ...(input.platform ? { platform: input.platform } : {}),
      });
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${label}: ${err.message}`, { cause: err });
      throw err;
    }
    resolved.warnings.forEach((w) => warnings.add(w));
    const { options } = resolved;
    // The gateway refuses a name that differs from a live one only by case (protocol/server-name.ts).
    const clash = names.get(nameKey(options.name));
    if (clash !== undefined) {
      throw new ConfigError(
        `${label}: the name "${options.name}" is already used by servers[${clash.index}]${clash.name === options.name ? '' : ` ("${clash.name}", names are compared without regard to case)`}; every server needs its own name`,
      );
    }
    names.set(nameKey(options.name), { index: i, name: options.name });
    servers.push(options);
  });
  return { servers, warnings: [...warnings] };
}
