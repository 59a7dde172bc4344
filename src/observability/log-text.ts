/**
 * Text a remote party chose (a `server_status` reason, an `error` frame's message, a bad
 * frame's parse error, register fields, close reasons) goes into a log line only through
 * `clip`: a peer must not be able to turn one frame into a 100 KB log line.
 */

/** Longest peer-supplied text kept in one log field (characters). */
export const LOG_TEXT_MAX_CHARS = 200;

/** `value` as bounded text; non-strings are JSON-encoded first. `undefined` stays absent. */
export function clip(value: unknown, max: number = LOG_TEXT_MAX_CHARS): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more chars]`;
}
