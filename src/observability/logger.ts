/**
 * pino on stderr: JSON, or pretty when stderr is a TTY. stdout belongs to the protocol
 * (and in the client, stdout of the *child* is the protocol), so nothing logs there.
 *
 * Levels follow the ContextForge CLI names (DEBUG, INFO, WARNING, ERROR, CRITICAL).
 * Secrets: tokens, Authorization headers and URL userinfo are redacted here (redact.ts),
 * once, for every log line, in addition to call sites passing already-redacted URLs.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { redact } from './redact.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

const PINO_LEVEL: Record<LogLevelName, LevelWithSilent> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'fatal',
};

export function toPinoLevel(level: LogLevelName): LevelWithSilent {
  return PINO_LEVEL[level];
}

const REDACT_PATHS = [
  'token',
  'password',
  'authorization',
  'Authorization',
  'headers.authorization',
  'headers.Authorization',
  'req.headers.authorization',
  'proxyAuthorization',
  '*.token',
  '*.password',
];

export interface LoggerOptions {
  level?: LogLevelName;
  name?: string;
  /** Force pretty (true) or JSON (false); default: pretty on a TTY. */
  pretty?: boolean;
  /** Destination stream (tests); default stderr. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = toPinoLevel(options.level ?? 'INFO');
  const base = {
    level,
    name: options.name ?? 'mcp-reverse-proxy',
    redact: { paths: REDACT_PATHS, censor: '***' },
    // Every string we log passes through redact(): messages and error texts alike.
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? redact(a) : a)),
        );
      },
    },
    serializers: {
      err: (err: unknown) => {
        if (!(err instanceof Error)) return err;
        const out: Record<string, unknown> = { type: err.name, message: redact(err.message) };
        const code = (err as { code?: unknown }).code;
        if (code !== undefined) out.code = code;
        return out;
      },
    },
  };
  const pretty = options.pretty ?? (options.destination === undefined && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(base, options.destination ?? pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything (library use, tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
