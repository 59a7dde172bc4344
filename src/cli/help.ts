/** Help-text pieces shared by the commands: every option says its env variable and default. */
import type { OptionSpec } from '../config/option-sources.js';

export function describe(text: string, spec: OptionSpec, defaultValue?: string | number): string {
  const notes: string[] = [];
  if (spec.env) notes.push(`env ${spec.env}`);
  notes.push(`config ${spec.key}`);
  if (defaultValue !== undefined) notes.push(`default ${defaultValue}`);
  return `${text} [${notes.join('; ')}]`;
}

export const PRECEDENCE_NOTE =
  'Each option is read from, in order: the flag, the environment (a ./.env file is loaded first,\n' +
  'without overriding real variables), the --config file (YAML or JSON, snake_case keys), the default.';
