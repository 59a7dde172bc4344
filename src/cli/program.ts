/**
 * The commander program: `connect` (default), `gateway`, `token`. Commander parses and
 * prints help; the run* functions do the work and return an exit code. Usage errors from
 * commander become CommanderError (exitOverride) so main() owns every exit status.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { CONNECT_EXAMPLES, connectCommand, runConnect } from './connect-command.js';
import { gatewayCommand, runGateway } from './gateway-command.js';
import { runToken, tokenCommand } from './token-command.js';

export const PROGRAM_NAME = 'mcp-reverse-proxy';

/** package.json is two levels up from both src/cli and dist/cli. */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** `result.code` is set by whichever command ran. */
export function buildProgram(env: NodeJS.ProcessEnv, result: { code: number }): Command {
  const program = new Command(PROGRAM_NAME)
    .description('Tunnel a local stdio MCP server out to a remote gateway, through proxies and firewalls.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${PROGRAM_NAME}: ${text}`) });
  const connect = connectCommand(async (flags) => {
    result.code = await runConnect(flags, env);
  });
  const gateway = gatewayCommand(async (flags) => {
    result.code = await runGateway(flags, env);
  });
  const token = tokenCommand(async (flags) => {
    result.code = await runToken(flags, env);
  });
  // addCommand(), unlike command(), does not copy exitOverride/configureOutput over.
  for (const cmd of [connect, gateway, token]) program.addCommand(cmd.copyInheritedSettings(program), { isDefault: cmd === connect });
  program.addHelpText('after', () => `\nDefault command:\n\n${connect.helpInformation()}${CONNECT_EXAMPLES}`);
  return program;
}
