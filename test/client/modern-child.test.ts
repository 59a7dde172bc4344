/**
 * A 2026-07-28 child behind the client's IdBridge, with the real SDK v2 fixture: listen
 * streams, MRTR rounds (new id, same params plus inputResponses) and progress reach the
 * gateway with the gateway's own ids; a cancelled stream stays quiet.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from 'shell-quote';
import { IdBridge } from '../../src/client/id-bridge.js';
import { LocalServer } from '../../src/client/local-server.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.js';

const MODERN = quote([process.execPath, join(fileURLToPath(new URL('../../fixtures/', import.meta.url)), 'modern-server.mjs')]);
const SUB = 'io.modelcontextprotocol/subscriptionId';
const meta = (extra: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {}, sampling: {} },
  ...extra,
});

describe('a modern child behind the IdBridge', () => {
  let server: LocalServer;
  const bridge = new IdBridge({ era: () => 'modern' });
  const toGateway: JsonRpcMessage[] = [];
  const waiters: Array<{ match: (m: any) => boolean; resolve: (m: any) => void }> = [];
  const gateway = {
    send: (m: JsonRpcMessage) => {
      const out = bridge.toChild(m);
      if (out) server.send(out);
    },
    next: (match: (m: any) => boolean): Promise<any> => {
      const seen = toGateway.find(match);
      if (seen) {
        toGateway.splice(toGateway.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };

  before(async () => {
    server = new LocalServer({ command: MODERN, maxLineBytes: 1 << 20, initTimeoutMs: 20_000, logger: silentLogger, stopGraceMs: 200 });
    assert.equal((await server.start()).era, 'modern');
    server.onmessage = (msg) => {
      const out = bridge.fromChild(msg);
      if (!out) return;
      const w = waiters.find((x) => x.match(out));
      if (w) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(out);
      } else toGateway.push(out);
    };
  });
  after(() => server.stop());

  it('a listen stream: acknowledged and notified under the gateway id, quiet once cancelled', async () => {
    gateway.send({ jsonrpc: '2.0', id: 'gw-listen', method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: meta() } });
    const ack = await gateway.next((m) => m.method === 'notifications/subscriptions/acknowledged');
    assert.equal(ack.params._meta[SUB], 'gw-listen');
    gateway.send({ jsonrpc: '2.0', id: 'gw-add', method: 'tools/call', params: { name: 'add-tool', arguments: { name: 'extra' }, _meta: meta() } });
    const changed = await gateway.next((m) => m.method === 'notifications/tools/list_changed');
    assert.deepEqual(changed.params._meta, { [SUB]: 'gw-listen' });
    assert.equal((await gateway.next((m) => m.id === 'gw-add')).result.content[0].text, 'added extra');

    gateway.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'gw-listen' } });
    assert.equal(bridge.owedToGateway, 0);
    gateway.send({ jsonrpc: '2.0', id: 'gw-add2', method: 'tools/call', params: { name: 'add-tool', arguments: { name: 'extra2' }, _meta: meta() } });
    await gateway.next((m) => m.id === 'gw-add2');
    assert.ok(!toGateway.some((m: any) => m.method === 'notifications/tools/list_changed'), 'no notification for a cancelled stream');
  });

  it('MRTR: input_required, then the retry with a new id and inputResponses completes', async () => {
    gateway.send({ jsonrpc: '2.0', id: 'r1', method: 'tools/call', params: { name: 'confirm', arguments: {}, _meta: meta() } });
    const first = await gateway.next((m) => m.id === 'r1');
    assert.equal(first.result.resultType, 'input_required');
    assert.equal(first.result.inputRequests.confirm.method, 'elicitation/create');
    gateway.send({
      jsonrpc: '2.0',
      id: 'r2',
      method: 'tools/call',
      params: { name: 'confirm', arguments: {}, inputResponses: { confirm: { action: 'accept', content: { ok: true } } }, _meta: meta() },
    });
    const done = await gateway.next((m) => m.id === 'r2');
    assert.equal(done.result.resultType, 'complete');
    assert.equal(done.result.content[0].text, 'elicitation accept: {"ok":true}');
  });

  it('progress travels with the gateway token', async () => {
    gateway.send({ jsonrpc: '2.0', id: 'p1', method: 'tools/call', params: { name: 'count', arguments: { steps: 2 }, _meta: meta({ progressToken: 77 }) } });
    const a = await gateway.next((m) => m.method === 'notifications/progress' && m.params.progress === 1);
    assert.equal(a.params.progressToken, 77);
    assert.equal((await gateway.next((m) => m.id === 'p1')).result.content[0].text, 'counted 2');
  });
});
