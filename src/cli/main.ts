#!/usr/bin/env node
/**
 * The `mcp-reverse-proxy` binary. stdout carries only what a command prints on purpose
 * (a token, the gateway's "listening" line); logs go to stderr. Exit statuses: exit-codes.ts.
 */
import { CommanderError } from 'commander';
import { config as loadDotenv } from 'dotenv';
import { ConfigError, errorMessage } from '../errors.js';
import { redact } from '../observability/redact.js';
import { ExitCode } from './exit-codes.js';
import { buildProgram, PROGRAM_NAME } from './program.js';

async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const result = { code: ExitCode.Ok as number };
  try {
    await buildProgram(env, result).parseAsync(argv);
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (or the help / version text).
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    process.stderr.write(`${PROGRAM_NAME}: error: ${redact(errorMessage(err))}\n`);
    return err instanceof ConfigError ? ExitCode.Usage : ExitCode.Failure;
  }
}

// ./.env fills in variables the real environment does not set (dotenv never overrides).
// `quiet`: dotenv 17 otherwise announces itself on stdout.
loadDotenv({ quiet: true });
const code = await main(process.argv);
// Let stdout drain (it is asynchronous for pipes on some platforms), then exit even if a
// library left a handle open: the command is done.
process.stdout.write('', () => process.exit(code));
