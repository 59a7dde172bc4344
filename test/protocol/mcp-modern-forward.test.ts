/**
 * forLegacyServer (protocol/mcp-modern.ts): what a 2025-era server gets of a 2026-07-28
 * request's params — the envelope and the MRTR fields removed, everything else kept, the
 * client's own params never changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forLegacyServer, META } from '../../src/protocol/mcp-modern.js';

const envelope = () => ({ [META.protocolVersion]: '2026-07-28', [META.clientCapabilities]: {}, [META.clientInfo]: { name: 'c', version: '1' } });

test('the envelope, inputResponses and requestState are removed; user _meta keys stay', () => {
  const params = { name: 'echo', arguments: { message: 'm' }, inputResponses: { a: {} }, requestState: 'x', _meta: { ...envelope(), progressToken: 7, 'example.com/k': 'v' } };
  assert.deepEqual(forLegacyServer(params), { name: 'echo', arguments: { message: 'm' }, _meta: { progressToken: 7, 'example.com/k': 'v' } });
});

test('a _meta holding only the envelope is dropped entirely', () => {
  assert.deepEqual(forLegacyServer({ name: 'echo', _meta: envelope() }), { name: 'echo' });
  assert.equal('_meta' in forLegacyServer({ name: 'echo', _meta: envelope() }), false);
});

test('every reserved io.modelcontextprotocol/ key goes, not only the envelope ones', () => {
  const out = forLegacyServer({ uri: 'u', _meta: { ...envelope(), [META.logLevel]: 'info', 'io.modelcontextprotocol/other': 1 } });
  assert.deepEqual(out, { uri: 'u' });
});

test("the client's params object is not changed (it is one copy)", () => {
  const params = { name: 'echo', requestState: 's', _meta: { ...envelope(), progressToken: 1 } };
  const before = structuredClone(params);
  const out = forLegacyServer(params);
  assert.deepEqual(params, before);
  assert.notEqual(out, params);
  assert.notEqual(out._meta, params._meta);
});

test('params without _meta, or with a _meta that is not an object, keep it as it is', () => {
  assert.deepEqual(forLegacyServer({ name: 'x' }), { name: 'x' });
  assert.deepEqual(forLegacyServer({ name: 'x', _meta: 'odd' }), { name: 'x', _meta: 'odd' });
});
