/**
 * `--local-stdio` is one string, split like Python's `shlex.split` (the ContextForge
 * client does the same), and run WITHOUT a shell: no pipes, redirections, globs or
 * variable expansion. A user who wants those wraps the command in `sh -c '…'` themselves,
 * which keeps what runs visible in the command line.
 */
import { parse, type ParseEntry } from 'shell-quote';
import { ConfigError } from '../errors.js';

export interface ParsedCommand {
  file: string;
  args: string[];
}

/** Split `cmd` into an executable and its arguments; throws ConfigError for shell syntax. */
export function parseCommand(cmd: string): ParsedCommand {
  if (cmd.trim() === '') throw new ConfigError('--local-stdio is empty: give the command that starts the local MCP server');
  // shell-quote expands $VAR by calling env(); handing back "$NAME" keeps it literal, as
  // shlex does. (`${NAME}` comes back as `$NAME`: same meaning to any later shell.)
  const entries = parse(cmd, (name: string) => `$${name}`) as ParseEntry[];
  const words: string[] = [];
  for (const entry of entries) {
    if (typeof entry === 'string') {
      words.push(entry);
      continue;
    }
    throw new ConfigError(
      `--local-stdio runs the command without a shell; ${describe(entry)} is not supported — wrap it: --local-stdio "sh -c '…'"`,
    );
  }
  const [file, ...args] = words;
  if (file === undefined || file === '') throw new ConfigError('--local-stdio has no command: give the command that starts the local MCP server');
  return { file, args };
}

function describe(entry: Exclude<ParseEntry, string>): string {
  if ('comment' in entry) return "'#' (a shell comment; quote it if it is part of an argument)";
  if (entry.op === 'glob') return `the glob '${entry.pattern}' (quote it to pass it literally)`;
  return `'${entry.op}'`;
}

/** Words that start a package runner rather than name the server. */
const RUNNERS = new Set(['npx', 'uvx', 'node', 'nodejs', 'bunx', 'bun', 'pnpm', 'yarn', 'deno', 'uv', 'pipx', 'tsx', 'ts-node', 'env', 'exec', 'docker', 'podman']);
/** Sub-commands of those runners (`pnpm dlx`, `deno run`, `uv tool run`, `bun x`). */
const RUNNER_VERBS = new Set(['dlx', 'run', 'exec', 'x', 'tool']);
/** Runner flags that take a value in the next word, so that word is not the server. */
const VALUE_FLAGS = new Set([
  '--import', '-r', '--require', '--loader', '--experimental-loader', '-p', '--package',
  '--from', '--with', '--python', '-X', '-W', '--spec', '--config', '-c',
  // docker/podman run
  '-e', '--env', '--env-file', '-v', '--volume', '--mount', '--name', '--network', '-w', '--workdir', '--entrypoint',
]);
/** File names that say nothing about the server; the directory above them does. */
const GENERIC_NAMES = new Set(['index', 'main', 'server', 'cli', 'app', '__main__']);
const BUILD_DIRS = new Set(['dist', 'build', 'lib', 'src', 'bin', 'out', 'dist-cjs', 'dist-esm', 'esm', 'cjs']);
const EXTENSIONS = /\.(?:m?[jt]s|c[jt]s|py|pyz|exe|sh|bat|cmd|jar|rb|pl)$/i;

/**
 * A default `--name` from the command: the package, module or script it runs.
 * `npx -y @modelcontextprotocol/server-everything stdio` → `server-everything`,
 * `python -m my_server` → `my_server`, `node fixtures/echo-server.js` → `echo-server`.
 */
export function deriveServerName(cmd: string): string {
  const { file, args } = parseCommand(cmd);
  const words = [file, ...args];
  let candidate: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const base = baseName(word);
    // Runners may chain (`uv run python -m x`); `FOO=bar` comes from `env FOO=bar server`.
    if (isRunner(base) || (i > 0 && RUNNER_VERBS.has(word)) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue;
    if (word === '-m') {
      candidate = words[i + 1];
      break;
    }
    if (word.startsWith('-')) {
      if (VALUE_FLAGS.has(word)) i++;
      continue;
    }
    candidate = word;
    break;
  }
  return sanitize(nameOf(candidate ?? file));
}

function isRunner(base: string): boolean {
  return RUNNERS.has(base) || /^python[0-9.]*$/.test(base);
}

function baseName(word: string): string {
  return (word.split(/[/\\]/).pop() ?? word).replace(EXTENSIONS, '');
}

/** Package spec, image or path → bare name: drop scope, version, directories and extension. */
function nameOf(word: string): string {
  const parts = word.replace(/\/+$/, '').split(/[/\\]/).filter((p) => p !== '');
  let i = parts.length - 1;
  let name = stripVersion(parts[i] ?? word).replace(EXTENSIONS, '');
  // `node path/to/my-server/dist/index.js` → `my-server`
  while (GENERIC_NAMES.has(name.toLowerCase()) && i > 0) {
    i--;
    while (i > 0 && BUILD_DIRS.has(parts[i]!.toLowerCase())) i--;
    const dir = parts[i]!;
    if (dir === '.' || dir === '..' || BUILD_DIRS.has(dir.toLowerCase())) break;
    name = dir;
  }
  return name;
}

/** `pkg@1.2` (npm, uvx), `image:tag` (docker). */
function stripVersion(word: string): string {
  const at = word.indexOf('@', 1);
  const name = at > 0 ? word.slice(0, at) : word.replace(/^@/, '');
  return name.replace(/:.*$/, '');
}

function sanitize(name: string): string {
  const clean = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '')
    .slice(0, 64);
  return clean === '' ? 'mcp-server' : clean;
}
