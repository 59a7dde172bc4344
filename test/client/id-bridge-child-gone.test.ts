import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdBridge } from '../../src/client/id-bridge.js';

describe('IdBridge.childGone', () => {
  it('fails every request the dead child owed the gateway, with the gateway ids', () => {
    const b = new IdBridge();
    const a = b.toChild({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: {} }) as { id: number };
    b.toChild({ jsonrpc: '2.0', id: 'x', method: 'tools/list' });
    assert.ok(b.fromChild({ jsonrpc: '2.0', id: a.id, result: {} }), 'one answered before the crash');
    const errors = b.childGone('local server restarting');
    assert.deepEqual(errors, [{ jsonrpc: '2.0', id: 'x', error: { code: -32001, message: 'local server restarting' } }]);
    assert.equal(b.owedToGateway, 0);
  });

  it('forgets requests the dead child sent: their late answers are dropped', () => {
    const b = new IdBridge();
    b.fromChild({ jsonrpc: '2.0', id: 1, method: 'sampling/createMessage', params: {} });
    b.childGone('gone');
    assert.equal(b.toChild({ jsonrpc: '2.0', id: 1, result: {} }), undefined);
  });

  it('requests of an earlier tunnel session are not failed twice (the gateway already did)', () => {
    const b = new IdBridge();
    b.toChild({ jsonrpc: '2.0', id: 1, method: 'tools/call' });
    b.newEpoch();
    assert.deepEqual(b.childGone('gone'), []);
  });

  it('ids keep counting across children: a late line of the old child never matches a new request', () => {
    const b = new IdBridge();
    const first = b.toChild({ jsonrpc: '2.0', id: 1, method: 'a' }) as { id: number };
    b.childGone('gone');
    const second = b.toChild({ jsonrpc: '2.0', id: 1, method: 'b' }) as { id: number };
    assert.notEqual(first.id, second.id);
    assert.equal(b.fromChild({ jsonrpc: '2.0', id: first.id, result: {} }), undefined);
    assert.deepEqual(b.fromChild({ jsonrpc: '2.0', id: second.id, result: {} }), { jsonrpc: '2.0', id: 1, result: {} });
  });
});
