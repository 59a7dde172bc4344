import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IdBridge } from '../../src/client/id-bridge.js';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.js';

const req = (id: number | string, method = 'tools/call'): JsonRpcMessage => ({ jsonrpc: '2.0', id, method });
const res = (id: number | string, result: Record<string, unknown> = {}): JsonRpcMessage => ({ jsonrpc: '2.0', id, result });

describe('IdBridge', () => {
  test('gateway ids are renumbered for the child and restored on the way back', () => {
    const b = new IdBridge();
    const a = b.toChild(req('x-1')) as { id: number };
    const c = b.toChild(req(7)) as { id: number };
    assert.equal(typeof a.id, 'number');
    assert.notEqual(a.id, c.id);
    assert.deepEqual(b.fromChild(res(c.id, { n: 2 })), res(7, { n: 2 }));
    assert.deepEqual(b.fromChild(res(a.id, { n: 1 })), res('x-1', { n: 1 }));
    assert.equal(b.owedToGateway, 0);
  });

  test('a response to an unknown id is dropped', () => {
    const b = new IdBridge();
    assert.equal(b.fromChild(res(42)), undefined);
  });

  test('notifications/cancelled is rewritten to the child id, and dropped once answered', () => {
    const b = new IdBridge();
    const local = (b.toChild(req(5)) as { id: number }).id;
    const cancel: JsonRpcMessage = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'user' } };
    assert.deepEqual(b.toChild(cancel), { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: local, reason: 'user' } });
    b.fromChild(res(local));
    assert.equal(b.toChild(cancel), undefined);
  });

  test('server→client requests pass through; their answers reach the child once', () => {
    const b = new IdBridge();
    assert.deepEqual(b.fromChild(req(3, 'sampling/createMessage')), req(3, 'sampling/createMessage'));
    assert.deepEqual(b.toChild(res(3)), res(3));
    assert.equal(b.toChild(res(3)), undefined, 'a second answer is dropped');
  });

  test('a fresh session: old answers are dropped, new ids never collide, child requests get errors', () => {
    const b = new IdBridge();
    const oldLocal = (b.toChild(req(1)) as { id: number }).id;
    b.fromChild(req('s1', 'roots/list'));
    const { errorsForChild, orphaned } = b.newEpoch();
    assert.equal(orphaned, 1);
    assert.equal(errorsForChild.length, 1);
    assert.deepEqual((errorsForChild[0] as { id: string; error: { code: number } }).id, 's1');
    assert.equal((errorsForChild[0] as { error: { code: number } }).error.code, -32005);
    // The new session reuses gateway id 1: it must map to a different child id.
    const newLocal = (b.toChild(req(1)) as { id: number }).id;
    assert.notEqual(newLocal, oldLocal);
    assert.equal(b.fromChild(res(oldLocal)), undefined, 'late answer of the old session dropped');
    assert.equal(b.staleDropped, 1);
    assert.deepEqual(b.fromChild(res(newLocal, { ok: true })), res(1, { ok: true }));
    assert.equal(b.toChild(res('s1')), undefined, 'answer for a request of the old session is dropped');
  });

  test('invalid messages are dropped in both directions', () => {
    const b = new IdBridge();
    assert.equal(b.toChild({ foo: 1 } as unknown as JsonRpcMessage), undefined);
    assert.equal(b.fromChild({ jsonrpc: '2.0' } as unknown as JsonRpcMessage), undefined);
  });
});
