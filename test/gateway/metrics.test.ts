/**
 * GatewayMetrics in process: the request series (counted through label children bound once
 * per server) and their removal when a server name is forgotten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayMetrics } from '../../src/gateway/metrics.js';

const source = { tunnelSessions: () => [], mcpSessions: () => 0 };

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const OK_A = 'mcp_reverse_proxy_mcp_requests_total{server="a",outcome="ok"}';
const ERR_A = 'mcp_reverse_proxy_mcp_requests_total{server="a",outcome="error"}';
const OK_B = 'mcp_reverse_proxy_mcp_requests_total{server="b",outcome="ok"}';
const COUNT_A = 'mcp_reverse_proxy_mcp_request_duration_seconds_count{server="a"}';

test('requests are counted per server and outcome, latency per server', async () => {
  const m = new GatewayMetrics(source);
  m.request({ server: 'a', method: 'tools/call', outcome: 'ok', seconds: 0.002 });
  m.request({ server: 'a', method: 'tools/call', outcome: 'ok', seconds: 0.003 });
  m.request({ server: 'a', method: 'tools/call', outcome: 'error', seconds: 0.001 });
  m.request({ server: 'b', method: 'tools/list', outcome: 'ok', seconds: undefined });
  const text = await m.render();
  assert.equal(sample(text, OK_A), 2);
  assert.equal(sample(text, ERR_A), 1);
  assert.equal(sample(text, OK_B), 1);
  assert.equal(sample(text, COUNT_A), 3);
  assert.equal(sample(text, 'mcp_reverse_proxy_mcp_request_duration_seconds_count{server="b"}'), undefined);
});

test('a forgotten server loses its series, and counts afresh when it comes back', async () => {
  const m = new GatewayMetrics(source);
  m.request({ server: 'a', method: 'tools/call', outcome: 'ok', seconds: 0.002 });
  m.request({ server: 'b', method: 'tools/call', outcome: 'ok', seconds: 0.002 });
  m.forgetServer('a');
  let text = await m.render();
  assert.equal(sample(text, OK_A), undefined);
  assert.equal(sample(text, COUNT_A), undefined);
  assert.equal(sample(text, OK_B), 1);
  m.request({ server: 'a', method: 'tools/call', outcome: 'ok', seconds: 0.004 });
  text = await m.render();
  assert.equal(sample(text, OK_A), 1);
  assert.equal(sample(text, COUNT_A), 1);
});
