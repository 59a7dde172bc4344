/**
 * `--config <file>`: YAML (.yaml/.yml) or JSON (.json) by extension; anything else is
 * read as YAML, which also accepts JSON. The file holds a mapping of snake_case option
 * names to values; validation happens with the other sources (see option-sources.ts), so
 * that a bad value names the file and key it came from.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import { ConfigError, errorMessage } from '../errors.js';

export interface ConfigFile {
  /** The path as the user gave it (messages name it so). */
  path: string;
  data: Record<string, unknown>;
}

/** `source` says where the path came from (`--config`, `REVERSE_PROXY_CONFIG`) for messages. */
export function loadConfigFile(path: string, source = '--config'): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
    throw new ConfigError(`cannot read config file "${path}" (from ${source}): ${why}`, { cause: err });
  }
  return { path, data: parseConfigText(text, path) };
}

export function parseConfigText(text: string, path: string): Record<string, unknown> {
  const json = extname(path).toLowerCase() === '.json';
  let data: unknown;
  try {
    data = json ? JSON.parse(text) : yaml().parse(text);
  } catch (err) {
    // First line only: YAML errors carry a multi-line source excerpt, which may hold a secret.
    const first = errorMessage(err).split('\n')[0];
    throw new ConfigError(`config file "${path}" is not valid ${json ? 'JSON' : 'YAML'}: ${first}`, { cause: err });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`config file "${path}" must contain a mapping of option names to values (like "gateway: https://…")`);
  }
  return data as Record<string, unknown>;
}

/** The YAML parser, loaded with the first YAML file (a run without one does not carry it: ~3 MB). */
function yaml(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}
