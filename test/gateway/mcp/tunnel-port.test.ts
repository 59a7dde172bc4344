/**
 * sendSoon (tunnel-port.ts): how the Multiplexer hands a message to a client port — later
 * than the caller, in call order, with a throw or a rejection reported, never lost silently
 * and never escaping as an uncaught exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendSoon, type McpClientPort } from '../../../src/gateway/mcp/tunnel-port.js';
import type { JsonRpcMessage } from '../../../src/protocol/jsonrpc.js';

const msg = (id: number): JsonRpcMessage => ({ jsonrpc: '2.0', id, result: {} });

function port(send: McpClientPort['send']): McpClientPort {
  return { id: 'c1', principal: 'alice', send };
}

test('delivery happens after the caller returns, in call order, with the related id', async () => {
  const got: Array<[unknown, unknown]> = [];
  const p = port((m, related) => void got.push([(m as { id: number }).id, related]));
  for (let i = 1; i <= 3; i++) sendSoon(p, msg(i), i * 10, () => assert.fail('no failure expected'));
  assert.deepEqual(got, []);
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(got, [
    [1, 10],
    [2, 20],
    [3, 30],
  ]);
});

test('a port that throws, or whose send rejects, is reported to failed', async () => {
  const failures: string[] = [];
  const failed = (err: unknown): void => void failures.push((err as Error).message);
  sendSoon(port(() => { throw new Error('sync'); }), msg(1), undefined, failed);
  sendSoon(port(() => Promise.reject(new Error('async'))), msg(2), undefined, failed);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(failures.sort(), ['async', 'sync']);
});
