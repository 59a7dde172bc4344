/**
 * NDJSON framing of the child's stdout, as the MCP stdio transport defines it: one
 * JSON-RPC message a line, `\n`-terminated (a trailing `\r` is tolerated and stripped).
 *
 * Bounds: a line is held as a list of chunk slices and joined once, so a line that
 * arrives in many chunks costs O(n), not O(n²). A line longer than `maxLineBytes` is never
 * held in full: as soon as it crosses the bound its bytes are released and everything up
 * to the next `\n` is discarded; `onOversize` fires once for it and the next line is read
 * normally. Bytes are counted, not characters (the bound protects memory).
 */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface LineSplitterOptions {
  maxLineBytes?: number;
  /** One complete, non-empty line (without its terminator), UTF-8 decoded. */
  onLine: (line: string) => void;
  /** A line crossed the bound; `seenBytes` is how much of it had arrived by then. */
  onOversize?: (error: Error, seenBytes: number) => void;
}

export class LineSplitter {
  readonly maxLineBytes: number;
  private readonly onLine: (line: string) => void;
  private readonly onOversize: (error: Error, seenBytes: number) => void;
  /** Slices of the current, not yet terminated line. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** True while skipping the rest of an oversized line. */
  private discarding = false;

  constructor(options: LineSplitterOptions) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.onLine = options.onLine;
    this.onOversize = options.onOversize ?? (() => {});
  }

  /** Bytes currently held for an unterminated line (never more than maxLineBytes). */
  get bufferedBytes(): number {
    return this.partBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.append(chunk.subarray(start));
        return;
      }
      this.append(chunk.subarray(start, newline));
      this.endLine();
      start = newline + 1;
    }
  }

  /** End of stream: a last line without its `\n` is still delivered. */
  end(): void {
    this.endLine();
  }

  private append(slice: Buffer): void {
    if (slice.length === 0) return;
    if (this.discarding) return;
    const total = this.partBytes + slice.length;
    if (total > this.maxLineBytes) {
      // A trailing \r is not part of the line; don't let it tip a line over the bound.
      if (!(total === this.maxLineBytes + 1 && slice[slice.length - 1] === CARRIAGE_RETURN)) {
        this.parts = [];
        this.partBytes = 0;
        this.discarding = true;
        this.onOversize(
          new Error(`child stdout line of at least ${total} bytes exceeds --max-line-bytes ${this.maxLineBytes}; dropped`),
          total,
        );
        return;
      }
    }
    this.parts.push(slice);
    this.partBytes = total;
  }

  private endLine(): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (this.partBytes === 0) return;
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    const end = bytes[bytes.length - 1] === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length;
    const line = bytes.toString('utf8', 0, end);
    if (line.trim() === '') return;
    this.onLine(line);
  }
}
