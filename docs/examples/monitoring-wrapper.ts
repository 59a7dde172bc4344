/**
 * Monitoring wrapper: embed the tunnel client in your own program and watch it through its
 * typed events (the TypeScript version of the seed's "monitoring wrapper" example).
 *
 *   REVERSE_PROXY_GATEWAY=https://gateway.example.com REVERSE_PROXY_TOKEN=… \
 *   MCP_SERVER_COMMAND="npx -y @modelcontextprotocol/server-everything stdio" \
 *   npx tsx monitoring-wrapper.ts
 *
 * Prints one JSON line per lifecycle event on stdout; Ctrl-C stops it cleanly.
 */
import { CONNECT_DEFAULTS, createLogger, errorMessage, ReverseProxyClient, type ReverseProxyClientEvents } from 'mcp-reverse-proxy';

const gateway = process.env.REVERSE_PROXY_GATEWAY;
if (!gateway) throw new Error('set REVERSE_PROXY_GATEWAY to the gateway URL');

const client = new ReverseProxyClient({
  ...CONNECT_DEFAULTS,
  localStdio: process.env.MCP_SERVER_COMMAND ?? 'npx -y @modelcontextprotocol/server-everything stdio',
  gateway,
  name: process.env.MCP_SERVER_NAME ?? 'monitored-server',
  restart: 'on-failure',
  ...(process.env.REVERSE_PROXY_TOKEN ? { token: process.env.REVERSE_PROXY_TOKEN } : {}),
  logger: createLogger({ level: 'WARNING' }),
});

let disconnects = 0;
function report(event: keyof ReverseProxyClientEvents | 'stopped' | 'failed', data: object = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...data })}\n`);
}

client.on('connected', ({ sessionId, transport, resumed }) => report('connected', { sessionId, transport, resumed }));
client.on('disconnected', ({ reason, transport }) => {
  disconnects++;
  report('disconnected', { reason, transport, disconnects });
  // A real wrapper would page someone here after, say, five disconnects in an hour.
});
client.on('transport-changed', ({ from, to }) => report('transport-changed', { from, to }));
client.on('replayed', ({ count, sessionId }) => report('replayed', { count, sessionId }));
client.on('child-exit', ({ code, signal }) => report('child-exit', { code, signal }));
client.on('child-restart', ({ restarts, pid }) => report('child-restart', { restarts, pid }));

const stop = (): void => void client.stop();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

try {
  await client.run();
  report('stopped', { stats: client.stats() });
} catch (err) {
  report('failed', { error: errorMessage(err) });
  process.exitCode = 1;
}
