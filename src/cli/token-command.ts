/** `mcp-reverse-proxy token`: mint a gateway token, like ContextForge's create_jwt_token. */
import { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { describe } from './help.js';

/** Shown in help only; gateway/http/auth.ts owns the actual default (ContextForge's 7 days). */
const DEFAULT_EXP_MINUTES = 10080;

export function tokenCommand(action: (flags: Record<string, unknown>) => Promise<void>): Command {
  return new Command('token')
    .description('print a signed HS256 token (JWT) for a user, for --token or an MCP client')
    .requiredOption('--username <name>', 'user the token is for (claims sub and username)')
    .option('--exp <minutes>', `lifetime in minutes; 0 = no expiry [default ${DEFAULT_EXP_MINUTES} = 7 days]`)
    .option('--secret <secret>', describe('HS256 signing secret (prefer the env variable)', { flag: '--secret', env: 'JWT_SECRET_KEY', key: 'jwt_secret' }))
    .option('--admin', 'mark the token as an administrator (claim is_admin)')
    .option('--issuer <iss>', 'issuer claim [default mcpgateway]')
    .option('--audience <aud>', 'audience claim [default mcpgateway-api]')
    .addHelpText('after', '\nExample:\n  $ JWT_SECRET_KEY=... mcp-reverse-proxy token --username alice@example.com --exp 60')
    .action(action);
}

export async function runToken(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<number> {
  const secret = (flags.secret as string | undefined) || env.JWT_SECRET_KEY || undefined;
  if (secret === undefined) throw new ConfigError('missing --secret: the token needs the gateway signing secret (set --secret or JWT_SECRET_KEY)');
  let expMinutes: number | undefined;
  if (flags.exp !== undefined) {
    const text = String(flags.exp).trim();
    if (!/^\d+$/.test(text)) throw new ConfigError(`invalid --exp "${text}" (from --exp): expected a whole number of minutes >= 0`);
    expMinutes = Number(text);
  }
  const { mintToken } = await import('../gateway/http/auth.js');
  const token = await mintToken({
    username: String(flags.username),
    secret,
    ...(expMinutes !== undefined ? { expMinutes } : {}),
    admin: flags.admin === true,
    ...(typeof flags.issuer === 'string' ? { issuer: flags.issuer } : {}),
    ...(typeof flags.audience === 'string' ? { audience: flags.audience } : {}),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
