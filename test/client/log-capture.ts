/** A real logger (createLogger) writing JSON lines into memory, for asserting on log events. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.js';

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const PINO_WARN = 40;
export const PINO_ERROR = 50;

export interface LogCapture {
  logger: Logger;
  records: LogRecord[];
  /** Resolves with the first record (already logged or future) that matches. */
  waitFor(match: (record: LogRecord) => boolean): Promise<LogRecord>;
}

export function captureLogs(): LogCapture {
  const records: LogRecord[] = [];
  const waiters: Array<{ match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const record = JSON.parse(line) as LogRecord;
        records.push(record);
        for (const waiter of waiters.filter((w) => w.match(record))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(record);
        }
      }
      done();
    },
  });
  return {
    logger: createLogger({ level: 'DEBUG', pretty: false, destination }),
    records,
    waitFor(match) {
      const seen = records.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
