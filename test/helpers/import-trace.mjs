/**
 * Preload (`NODE_OPTIONS=--import …/import-trace.mjs`): the process writes
 * `import-trace: <url>` to stderr, once, for every module it resolves whose URL contains
 * IMPORT_TRACE (an environment variable). Tests use it to see whether the real binary
 * loaded a package, which no public API of an ES-module process tells from outside.
 */
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const match = process.env.IMPORT_TRACE ?? '';
const { port1, port2 } = new MessageChannel();
const seen = new Set();
port1.on('message', (url) => {
  if (seen.has(url)) return;
  seen.add(url);
  process.stderr.write(`import-trace: ${url}\n`);
});
port1.unref();
register('./import-trace-hooks.mjs', import.meta.url, { data: { port: port2, match }, transferList: [port2] });
