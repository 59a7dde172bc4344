/**
 * Environment variable names are case-sensitive on Linux and macOS and case-insensitive on
 * Windows, where `Path`, `PATH`, `https_proxy` and `HTTPS_PROXY` name one variable.
 * Node's process.env follows that rule on Windows, but a copy of it (`{ ...process.env }`,
 * an environment merged for a server list, one handed in by an embedder) is a plain
 * object that does not. Every lookup of a variable by name goes through here, so that a
 * copy keeps Windows' rule there and the exact-name rule everywhere else.
 */

/** The variable's value, or undefined; on win32 a name differing only in case matches. */
export function envValue(env: NodeJS.ProcessEnv, name: string, platform: NodeJS.Platform = process.platform): string | undefined {
  return envEntry(env, name, platform)?.value;
}

/** The variable as it is spelled in `env`, with its value. */
export function envEntry(env: NodeJS.ProcessEnv, name: string, platform: NodeJS.Platform = process.platform): { name: string; value: string } | undefined {
  const exact = env[name];
  if (exact !== undefined) return { name, value: exact };
  if (platform !== 'win32') return undefined;
  const wanted = name.toUpperCase();
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && key.toUpperCase() === wanted) return { name: key, value };
  }
  return undefined;
}

/** Remove the variable (every spelling of it on win32). */
export function deleteEnv(env: NodeJS.ProcessEnv, name: string, platform: NodeJS.Platform = process.platform): void {
  delete env[name];
  if (platform !== 'win32') return;
  const wanted = name.toUpperCase();
  for (const key of Object.keys(env)) if (key.toUpperCase() === wanted) delete env[key];
}
