/**
 * One option, four sources: flag > environment > config file > default. Each value is
 * picked together with a description of where it came from, and every validator names
 * both the option and that source, so a user can tell which of the four to fix:
 *   invalid --reconnect-delay "abc" (from REVERSE_PROXY_RECONNECT_DELAY): expected a number of seconds > 0
 *
 * Secrets (tokens, JWT secrets) are never echoed; URLs are echoed without userinfo.
 */
import { isAbsolute, dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { LOG_LEVELS, type LogLevelName } from '../observability/logger.js';
import { redact } from '../observability/redact.js';
import { formatBytes, parseByteSize } from './sizes.js';
import type { ConfigFile } from './config-file.js';
import { envValue } from '../env-lookup.js';

export interface OptionSpec {
  /** Command-line flag, e.g. `--reconnect-delay`; flags are looked up by its camelCase name. */
  flag: string;
  env?: string;
  /** snake_case key in a config file. */
  key: string;
  /** Never echo the value. */
  secret?: boolean;
}

export interface Picked {
  value: unknown;
  /** `--reconnect-delay`, `REVERSE_PROXY_RECONNECT_DELAY` or `config file cfg.yaml key reconnect_delay`. */
  source: string;
  origin: 'flag' | 'env' | 'file';
}

export interface SourcesInput {
  /**
   * Raw values from the command line, keyed by the flag's camelCase name (commander's);
   * absent = not given. `verbose: true` means DEBUG; the gateway's `noAuth: true` is --no-auth.
   */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file?: ConfigFile;
  /** Whose rules variable names follow (env-lookup.ts); default process.platform. */
  platform?: NodeJS.Platform;
}

export class OptionSources {
  constructor(private readonly input: SourcesInput) {}

  get file(): ConfigFile | undefined {
    return this.input.file;
  }

  pick(spec: OptionSpec): Picked | undefined {
    const flagValue = this.input.flags[camelCase(spec.flag)];
    if (flagValue !== undefined) return { value: flagValue, source: spec.flag, origin: 'flag' };
    // An empty variable is unset: `.env` templates and `FOO= cmd` mean "nothing here".
    const value = spec.env === undefined ? undefined : envValue(this.input.env, spec.env, this.input.platform);
    if (value !== undefined && value !== '') return { value, source: spec.env!, origin: 'env' };
    const file = this.input.file;
    if (file && Object.hasOwn(file.data, spec.key) && file.data[spec.key] !== null) {
      return { value: file.data[spec.key], source: `config file ${file.path} key ${spec.key}`, origin: 'file' };
    }
    return undefined;
  }

  /** Warnings for config-file keys no option uses (typos should not pass silently). */
  unknownKeys(known: Iterable<string>): string[] {
    const file = this.input.file;
    if (!file) return [];
    const knownSet = new Set(known);
    return Object.keys(file.data)
      .filter((key) => !knownSet.has(key))
      .map((key) => {
        const guess = snakeCase(key);
        const hint = guess !== key && knownSet.has(guess) ? ` (did you mean ${guess}?)` : '';
        return `config file ${file.path}: unknown key "${key}" ignored${hint}`;
      });
  }
}

export function camelCase(flag: string): string {
  return flag.replace(/^-+/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function snakeCase(key: string): string {
  return key.replace(/-/g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The ConfigError for a value that does not validate. */
export function invalid(spec: OptionSpec, picked: Picked, expected: string): ConfigError {
  return new ConfigError(`invalid ${spec.flag}${shown(spec, picked.value)} (from ${picked.source}): ${expected}`);
}

function shown(spec: OptionSpec, value: unknown): string {
  if (spec.secret) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const short = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return ` "${redact(short)}"`;
}

function asText(picked: Picked): string | undefined {
  if (typeof picked.value === 'string') return picked.value.trim();
  if (typeof picked.value === 'number' && Number.isFinite(picked.value)) return String(picked.value);
  return undefined;
}

// ---- validators: each takes what pick() returned and gives a typed value or throws ----

export function readString(spec: OptionSpec, picked: Picked | undefined, what = 'a non-empty string'): string | undefined {
  if (!picked) return undefined;
  if (typeof picked.value !== 'string' || picked.value.trim() === '') throw invalid(spec, picked, `expected ${what}`);
  return picked.value.trim();
}

/** Seconds; `allowZero` for options where 0 means "off". */
export function readSeconds(spec: OptionSpec, picked: Picked | undefined, options: { allowZero?: boolean } = {}): number | undefined {
  if (!picked) return undefined;
  const text = asText(picked);
  const value = text !== undefined && /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !options.allowZero)) {
    throw invalid(spec, picked, `expected a number of seconds ${options.allowZero ? '>= 0' : '> 0'}`);
  }
  return value;
}

export function readInteger(spec: OptionSpec, picked: Picked | undefined, min: number, max: number, what: string): number | undefined {
  if (!picked) return undefined;
  const text = asText(picked);
  const value = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalid(spec, picked, `expected ${what}`);
  return value;
}

export function readByteSize(spec: OptionSpec, picked: Picked | undefined, min = 1): number | undefined {
  if (!picked) return undefined;
  const value = typeof picked.value === 'string' || typeof picked.value === 'number' ? parseByteSize(picked.value) : undefined;
  if (value === undefined || value < min) {
    throw invalid(spec, picked, `expected a size in bytes >= ${formatBytes(min)}, like 16777216, 16MiB, 512KiB or 1MB`);
  }
  return value;
}

export function readChoice<T extends string>(spec: OptionSpec, picked: Picked | undefined, choices: readonly T[]): T | undefined {
  if (!picked) return undefined;
  const text = asText(picked)?.toLowerCase();
  const match = choices.find((c) => c.toLowerCase() === text);
  if (match === undefined) throw invalid(spec, picked, `expected one of ${choices.join(', ')}`);
  return match;
}

/** DEBUG|INFO|WARNING|ERROR|CRITICAL in any case; WARN is accepted for WARNING. */
export function readLogLevel(spec: OptionSpec, picked: Picked | undefined): LogLevelName | undefined {
  if (!picked) return undefined;
  if (typeof picked.value === 'string' && picked.value.trim().toUpperCase() === 'WARN') return 'WARNING';
  return readChoice(spec, picked, LOG_LEVELS);
}

export function readBoolean(spec: OptionSpec, picked: Picked | undefined): boolean | undefined {
  if (!picked) return undefined;
  if (typeof picked.value === 'boolean') return picked.value;
  const text = asText(picked)?.toLowerCase();
  if (text !== undefined && ['true', '1', 'yes', 'on'].includes(text)) return true;
  if (text !== undefined && ['false', '0', 'no', 'off'].includes(text)) return false;
  throw invalid(spec, picked, 'expected true or false');
}

/** A file path; relative paths in a config file are relative to that file, not to the cwd. */
export function readPath(spec: OptionSpec, picked: Picked | undefined, file: ConfigFile | undefined): string | undefined {
  const path = readString(spec, picked, 'a file path');
  if (path === undefined || picked?.origin !== 'file' || !file || isAbsolute(path)) return path;
  return resolve(dirname(file.path), path);
}

/** The ConfigError for a required option that no source gave. */
export function missing(spec: OptionSpec, what: string): ConfigError {
  const where = [spec.flag, spec.env, `config file key ${spec.key}`].filter(Boolean).join(', ');
  return new ConfigError(`missing ${spec.flag}: ${what} (set ${where})`);
}
