/** Help-text pieces shared by the commands: every option says its env variable and default. */
import { Command } from 'commander';
import { camelCase, type OptionSpec } from '../config/option-sources.js';
import { formatBytes } from '../config/sizes.js';

/** A commander Command with the options the `connect` and `gateway` commands share. */
export class OptionsCommand extends Command {
  /** `--log-level` and `--verbose` (`describe`: the help of --log-level, from describer()). */
  logOptions(describe: (text: string, spec: OptionSpec) => string, spec: OptionSpec): this {
    return this.option('--log-level <level>', describe('DEBUG, INFO, WARNING, ERROR or CRITICAL', spec)).option('--verbose', 'same as --log-level DEBUG (wins over it)');
  }

  /** `--check-config`. */
  checkConfigOption(): this {
    return this.option('--check-config', 'validate flags, environment and config file, print the resolved options as JSON (secrets masked) and exit');
  }
}

export function describe(text: string, spec: OptionSpec, defaultValue?: string | number): string {
  const notes: string[] = [];
  if (spec.env) notes.push(`env ${spec.env}`);
  notes.push(`config ${spec.key}`);
  if (defaultValue !== undefined) notes.push(`default ${defaultValue}`);
  return `${text} [${notes.join('; ')}]`;
}

/**
 * describe() with each option's default taken from `defaults` (CONNECT_DEFAULTS,
 * GATEWAY_DEFAULTS), so the help cannot drift from the real default. Numbers and strings
 * are shown (byte sizes as sizes); `shown` overrides, for defaults that are not values.
 */
export function describer(defaults: Readonly<Record<string, unknown>>): (text: string, spec: OptionSpec, shown?: string) => string {
  return (text, spec, shown) => {
    const value = defaults[camelCase(spec.flag.slice(2))];
    const fromDefaults = typeof value === 'number' ? (spec.key.endsWith('_bytes') ? formatBytes(value) : value) : typeof value === 'string' ? value : undefined;
    return describe(text, spec, shown ?? fromDefaults);
  };
}

export const PRECEDENCE_NOTE =
  'Each option is read from, in order: the flag, the environment (a ./.env file is loaded first,\n' +
  'without overriding real variables), the --config file (YAML or JSON, snake_case keys), the default.';
