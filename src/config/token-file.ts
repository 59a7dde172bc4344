/**
 * `--token-file <path>` (REVERSE_PROXY_TOKEN_FILE, config `token_file`): the gateway token
 * read from a file, so that it sits neither in argv (visible in `ps`) nor in the
 * environment (inherited, dumped by CI debug steps). The file holds the token alone;
 * surrounding whitespace (the trailing newline or CRLF that `echo` and editors write) is
 * dropped.
 *
 * With `--token` the rule is the usual flag > environment > config file, taken over the
 * pair: the stronger source wins (the other is reported as a warning); both from the same
 * source (two flags, two variables, two keys) is a configuration error naming both.
 *
 * Like ssh with a private key, a file that group or others can read is reported
 * (WARNING), not refused: CI runners write files with a 022 umask.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { ConfigFile } from './config-file.js';
import { readPath, readString, type OptionSpec, type Picked } from './option-sources.js';

/** A JWT is a few KiB at most; the bound stops a wrong path (a log, an image) early. */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024;

const RANK = { flag: 0, env: 1, file: 2 } as const;

export interface TokenChoice {
  token?: string;
  tokenFile?: string;
  warnings: string[];
}

/** Read a token file; throws ConfigError naming the file and where its path came from, never the content. */
export function readTokenFile(path: string, source: string, platform: NodeJS.Platform = process.platform): { token: string; warning?: string } {
  const where = `token file ${path} (from ${source})`;
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ConfigError(`${where} is not a regular file`);
    if (st.size > MAX_TOKEN_FILE_BYTES) throw new ConfigError(`${where} is larger than ${MAX_TOKEN_FILE_BYTES} bytes; it should hold the token alone`);
    mode = st.mode;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read ${where}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${where}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const token = text.replace(/^\uFEFF/, '').trim();
  if (token === '') throw new ConfigError(`${where} is empty`);
  // Whitespace inside would go into the Authorization header; say so instead of a 401 later.
  if (/\s/.test(token)) throw new ConfigError(`${where} must hold the token alone, on one line without spaces`);
  const exposed = platform !== 'win32' && (mode & 0o077) !== 0;
  return {
    token,
    ...(exposed ? { warning: `${where} can be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 ${path}` } : {}),
  };
}

/** The token from `--token` or `--token-file`, whichever source is stronger (see the file comment). */
export function chooseToken(
  specs: { token: OptionSpec; tokenFile: OptionSpec },
  token: Picked | undefined,
  tokenFile: Picked | undefined,
  file: ConfigFile | undefined,
  platform?: NodeJS.Platform,
): TokenChoice {
  const warnings: string[] = [];
  if (token && tokenFile) {
    if (RANK[token.origin] === RANK[tokenFile.origin]) {
      throw new ConfigError(
        `${specs.token.flag} (from ${token.source}) and ${specs.tokenFile.flag} (from ${tokenFile.source}) are both set: give the token one way only`,
      );
    }
    const [kept, dropped] = RANK[token.origin] < RANK[tokenFile.origin] ? [token, tokenFile] : [tokenFile, token];
    warnings.push(`the token from ${kept.source} is used; ${dropped.source} is ignored (the stronger source wins)`);
    if (kept === token) return { token: readString(specs.token, token, 'a non-empty token')!, warnings };
    token = undefined;
  }
  if (token) return { token: readString(specs.token, token, 'a non-empty token')!, warnings };
  if (!tokenFile) return { warnings };
  const path = readPath(specs.tokenFile, tokenFile, file)!;
  const read = readTokenFile(path, tokenFile.source, platform);
  if (read.warning) warnings.push(read.warning);
  return { token: read.token, tokenFile: path, warnings };
}
