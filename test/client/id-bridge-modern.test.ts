/**
 * IdBridge with a 2026-07-28 child: listen streams name our request inside messages
 * (`_meta["io.modelcontextprotocol/subscriptionId"]`), and the server may end them with
 * notifications/cancelled; both are renumbered back to the gateway's id.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IdBridge } from '../../src/client/id-bridge.js';
import type { ServerEra } from '../../src/protocol/discover-result.js';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.js';

const SUB = 'io.modelcontextprotocol/subscriptionId';
const listen = (id: string | number): JsonRpcMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'subscriptions/listen',
  params: { notifications: { toolsListChanged: true }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } },
});
const stamped = (method: string, sub: unknown, params: Record<string, unknown> = {}): JsonRpcMessage => ({
  jsonrpc: '2.0',
  method,
  params: { ...params, _meta: { [SUB]: sub, other: 1 } },
});
const cancelled = (requestId: unknown): JsonRpcMessage => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'r' } });

function bridge(era: ServerEra = 'modern'): IdBridge {
  return new IdBridge({ era: () => era });
}

describe('IdBridge, modern child', () => {
  test('listen stream notifications and its final result carry the gateway id again', () => {
    const b = bridge();
    const local = (b.toChild(listen('gw-7')) as { id: number }).id;
    assert.equal(typeof local, 'number');
    assert.deepEqual(b.fromChild(stamped('notifications/subscriptions/acknowledged', local, { notifications: { toolsListChanged: true } })), stamped('notifications/subscriptions/acknowledged', 'gw-7', { notifications: { toolsListChanged: true } }));
    assert.deepEqual(b.fromChild(stamped('notifications/tools/list_changed', local)), stamped('notifications/tools/list_changed', 'gw-7'));
    assert.equal(b.owedToGateway, 1, 'the stream stays open');
    const end = { jsonrpc: '2.0', id: local, result: { resultType: 'complete', _meta: { [SUB]: local } } } as JsonRpcMessage;
    assert.deepEqual(b.fromChild(end), { jsonrpc: '2.0', id: 'gw-7', result: { resultType: 'complete', _meta: { [SUB]: 'gw-7' } } });
    assert.equal(b.owedToGateway, 0);
    assert.equal(b.fromChild(stamped('notifications/tools/list_changed', local)), undefined, 'a stream that ended is nobody\'s');
  });

  test('notifications naming a subscription we do not know are dropped; others pass unchanged', () => {
    const b = bridge();
    assert.equal(b.fromChild(stamped('notifications/tools/list_changed', 999)), undefined);
    assert.equal(b.fromChild(stamped('notifications/tools/list_changed', 'gw-7')), undefined, 'not one of our (numeric) ids');
    const progress: JsonRpcMessage = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 5, progress: 1 } };
    assert.deepEqual(b.fromChild(progress), progress);
  });

  test('the server ending a stream with notifications/cancelled: renumbered, then the request is forgotten', () => {
    const b = bridge();
    const local = (b.toChild(listen(12)) as { id: number }).id;
    assert.deepEqual(b.fromChild(cancelled(local)), cancelled(12));
    assert.equal(b.owedToGateway, 0);
    assert.equal(b.fromChild(cancelled(local)), undefined, 'only once');
    assert.equal(b.fromChild(cancelled('gw')), undefined, 'not one of ours');
  });

  test('the gateway cancelling: forwarded renumbered, and nothing more is expected from the child', () => {
    const b = bridge();
    const local = (b.toChild(listen('L')) as { id: number }).id;
    assert.deepEqual(b.toChild(cancelled('L')), cancelled(local));
    assert.equal(b.owedToGateway, 0);
    assert.equal(b.fromChild(stamped('notifications/tools/list_changed', local)), undefined);
  });

  test('a fresh session: open streams of the old one are cancelled on the child and forgotten', () => {
    const b = bridge();
    const old = (b.toChild(listen('L')) as { id: number }).id;
    const { cancelsForChild, orphaned, errorsForChild } = b.newEpoch();
    assert.equal(orphaned, 1);
    assert.deepEqual(errorsForChild, []);
    assert.deepEqual(cancelsForChild, [
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: old, reason: 'the tunnel session this request came from was lost' } },
    ]);
    assert.equal(b.owedToGateway, 0);
    assert.equal(b.fromChild(stamped('notifications/tools/list_changed', old)), undefined);
    const fresh = (b.toChild(listen('L')) as { id: number }).id;
    assert.notEqual(fresh, old);
    assert.deepEqual(b.fromChild(stamped('notifications/tools/list_changed', fresh)), stamped('notifications/tools/list_changed', 'L'));
  });
});

describe('IdBridge, legacy child: bridged as before', () => {
  test('subscriptionId and server-sent cancellations pass unchanged; a fresh session cancels nothing', () => {
    const b = bridge('legacy');
    const local = (b.toChild(listen('L')) as { id: number }).id;
    assert.deepEqual(b.fromChild(stamped('notifications/x', local)), stamped('notifications/x', local));
    assert.deepEqual(b.fromChild(cancelled('s1')), cancelled('s1'), 'a legacy server cancels its own requests');
    b.toChild(cancelled('L'));
    assert.equal(b.owedToGateway, 1, 'a legacy server may still answer a cancelled request');
    const end = { jsonrpc: '2.0', id: local, result: { _meta: { [SUB]: local } } } as JsonRpcMessage;
    assert.deepEqual(b.fromChild(end), { jsonrpc: '2.0', id: 'L', result: { _meta: { [SUB]: local } } });
    b.toChild(listen('M'));
    assert.deepEqual(b.newEpoch().cancelsForChild, []);
    assert.equal(new IdBridge().newEpoch().cancelsForChild.length, 0, 'default era is legacy');
  });
});
