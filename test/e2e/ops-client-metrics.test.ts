/**
 * --metrics-port: the client's Prometheus endpoint on 127.0.0.1, scraped after real
 * traffic, a child crash + restart and a gateway restart (reconnect).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMcp, fixture, restartGateway, spawnBin, startGateway, stopAll, waitFor, waitForServer } from '../helpers/system.js';

/** `name{labels} value` → value, for one exact series. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('client metrics', () => {
  after(stopAll);

  test('GET /metrics on 127.0.0.1 exposes connection, transport, queue, replay and child series', async () => {
    let gw = await startGateway(['--no-auth']);
    const client = spawnBin([
      '--local-stdio', `node ${fixture('crash-server.mjs')}`, '--gateway', gw.url, '--name', 'metered',
      '--restart', 'on-failure', '--metrics-port', '0', '--reconnect-delay', '0.2',
    ]);
    const url = await waitFor(() => /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(client.stderr())?.[1], 'the metrics URL in the log');
    await waitForServer(gw.url, undefined, 'metered');
    const scrape = async (): Promise<string> => {
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      return res.text();
    };
    const S = (name: string, labels = 'server="metered"') => `mcp_reverse_proxy_client_${name}{${labels}}`;

    const mcp = await connectMcp(gw.url, 'metered');
    await mcp.listTools();
    await assert.rejects(mcp.callTool({ name: 'crash', arguments: {} }));
    await waitFor(async () => sample(await scrape(), S('child_restarts_total')) === 1, 'child_restarts_total to reach 1');
    let text = await scrape();
    assert.equal(sample(text, S('connected')), 1);
    assert.equal(sample(text, S('transport', 'server="metered",transport="ws"')), 1);
    assert.equal(sample(text, S('transport', 'server="metered",transport="sse"')), 0);
    assert.equal(sample(text, S('child_exits_total')), 1);
    assert.equal(sample(text, S('child_available')), 1);
    assert.ok(sample(text, S('frames_sent_total'))! >= 2, 'answers went up the tunnel');
    assert.ok(sample(text, S('outbox_frames')) !== undefined);
    assert.ok(sample(text, S('outbox_bytes')) !== undefined);
    assert.equal(sample(text, S('reconnects_total')), 0);
    assert.equal(sample(text, S('frames_replayed_total')), 0);
    await mcp.close();

    // Lose the gateway: the client reconnects to the new one.
    const port = gw.port;
    await gw.stop('SIGKILL');
    await waitFor(async () => sample(await scrape(), S('connected')) === 0, 'connected to drop to 0');
    gw = await restartGateway(port, ['--no-auth']);
    await waitFor(async () => sample(await scrape(), S('connected')) === 1, 'connected to be back at 1');
    text = await scrape();
    assert.equal(sample(text, S('reconnects_total')), 1);

    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
    assert.equal(new URL(url).hostname, '127.0.0.1');
  });
});
