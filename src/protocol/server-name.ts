/**
 * Server names (docs/gateway.md, "Server names"). A name becomes a URL path segment
 * (`/servers/{name}/mcp`), a field of every log line and a key of `GET /servers`, so it is
 * held to a small ASCII charset: no `/`, no spaces, no control or zero-width characters,
 * never `.` or `..` (a path segment that URL normalisation would eat). The same rule runs
 * in the client's configuration (early, naming the field) and in the gateway's `register`.
 *
 * Two names that differ only by case would be told apart by the gateway's routes but not
 * by the people reading a catalog or a log: the gateway compares live names by `nameKey`.
 */

export const SERVER_NAME_MAX_LENGTH = 64;

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The rule, worded for error messages. */
export const SERVER_NAME_RULE = `1-${SERVER_NAME_MAX_LENGTH} ASCII letters, digits, ".", "_" or "-", starting with a letter or digit`;

export function isValidServerName(name: unknown): name is string {
  return typeof name === 'string' && SERVER_NAME.test(name);
}

/** The key under which a name is unique among live servers: case does not make a new name. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}
