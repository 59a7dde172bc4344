/** Process exit statuses (documented in docs/cli.md). */
export const ExitCode = {
  Ok: 0,
  /** Unexpected runtime failure. */
  Failure: 1,
  /** Bad flags, environment or config file. */
  Usage: 2,
  /** Gateway rejected the token (401/403) or the proxy wants credentials (407). */
  AuthRejected: 3,
  /** --max-retries exceeded. */
  MaxRetries: 4,
  /** The local MCP server exited, or could not be started/initialized. */
  LocalServer: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
