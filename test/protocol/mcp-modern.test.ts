import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  asLegacyResult,
  asModernResult,
  classifyMcpHttp,
  decodeHeaderValue,
  encodeHeaderValue,
  META,
  ModernErrorCode,
  stripEnvelope,
  withEnvelope,
  type McpHttpRequest,
} from '../../src/protocol/mcp-modern.js';

const meta = (v = '2026-07-28') => ({ [META.protocolVersion]: v, [META.clientCapabilities]: {}, [META.clientInfo]: { name: 't', version: '1' } });
const modern = (over: Partial<McpHttpRequest> & { body?: unknown } = {}): McpHttpRequest => ({
  httpMethod: 'POST',
  protocolVersionHeader: '2026-07-28',
  mcpMethodHeader: 'tools/list',
  hasSessionId: false,
  body: { jsonrpc: '2.0', id: 7, method: 'tools/list', params: { _meta: meta() } },
  ...over,
});

test('a request with the modern envelope and matching headers is modern', () => {
  const r = classifyMcpHttp(modern());
  assert.equal(r.era, 'modern');
  if (r.era === 'modern') {
    assert.equal(r.kind, 'request');
    assert.equal(r.envelope.protocolVersion, '2026-07-28');
  }
});

test('initialize, session traffic, GET/DELETE and bodies without an envelope are legacy', () => {
  const legacyBody = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
  assert.equal(classifyMcpHttp(modern({ protocolVersionHeader: undefined, mcpMethodHeader: undefined, body: legacyBody })).era, 'legacy');
  assert.equal(classifyMcpHttp(modern({ hasSessionId: true })).era, 'legacy');
  assert.equal(classifyMcpHttp(modern({ httpMethod: 'GET', body: undefined })).era, 'legacy');
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
  assert.equal(classifyMcpHttp(modern({ protocolVersionHeader: undefined, body: init })).era, 'legacy');
  assert.equal(classifyMcpHttp(modern({ protocolVersionHeader: '2025-11-25', mcpMethodHeader: undefined, body: legacyBody })).era, 'legacy');
});

function refusal(r: ReturnType<typeof classifyMcpHttp>): { status: number; code: number; id: unknown; data: unknown } {
  assert.equal(r.era, 'refused');
  if (r.era !== 'refused') throw new Error('unreachable');
  return { status: r.refusal.status, code: r.refusal.error.error.code, id: r.refusal.error.id, data: r.refusal.error.error.data };
}

test('header/body disagreement and missing required headers are -32020 with the request id', () => {
  assert.deepEqual(refusal(classifyMcpHttp(modern({ protocolVersionHeader: '2026-07-29' }))).code, ModernErrorCode.HeaderMismatch);
  const m = refusal(classifyMcpHttp(modern({ mcpMethodHeader: 'tools/call' })));
  assert.equal(m.code, ModernErrorCode.HeaderMismatch);
  assert.equal(m.status, 400);
  assert.equal(m.id, 7);
  assert.equal(refusal(classifyMcpHttp(modern({ mcpMethodHeader: undefined }))).code, ModernErrorCode.HeaderMismatch);
  assert.equal(refusal(classifyMcpHttp(modern({ protocolVersionHeader: undefined }))).code, ModernErrorCode.HeaderMismatch);
  const call = { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: meta() } };
  assert.equal(refusal(classifyMcpHttp(modern({ mcpMethodHeader: 'tools/call', body: call }))).code, ModernErrorCode.HeaderMismatch);
  assert.equal(refusal(classifyMcpHttp(modern({ mcpMethodHeader: 'tools/call', mcpNameHeader: 'other', body: call }))).code, ModernErrorCode.HeaderMismatch);
  assert.equal(classifyMcpHttp(modern({ mcpMethodHeader: 'tools/call', mcpNameHeader: 'echo', body: call })).era, 'modern');
  assert.equal(classifyMcpHttp(modern({ mcpMethodHeader: 'tools/call', mcpNameHeader: encodeHeaderValue('echo'), body: call })).era, 'modern');
  const initModern = { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} };
  assert.equal(refusal(classifyMcpHttp(modern({ mcpMethodHeader: 'initialize', body: initModern }))).code, ModernErrorCode.HeaderMismatch);
});

test('a missing or malformed envelope is -32602; an unknown version is -32022 listing what is supported', () => {
  const noCaps = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: { [META.protocolVersion]: '2026-07-28' } } };
  const r = refusal(classifyMcpHttp(modern({ body: noCaps })));
  assert.equal(r.code, -32602);
  assert.equal(r.status, 400);
  const headerOnly = { jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} };
  assert.equal(refusal(classifyMcpHttp(modern({ body: headerOnly }))).code, -32602);
  const future = { jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: meta('2027-01-01') } };
  const u = refusal(classifyMcpHttp(modern({ protocolVersionHeader: '2027-01-01', body: future })));
  assert.equal(u.code, ModernErrorCode.UnsupportedProtocolVersion);
  assert.deepEqual(u.data, { supported: ['2026-07-28'], requested: '2027-01-01' });
});

test('a batch holding a modern request is refused; a plain batch is legacy', () => {
  const m = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta() } };
  assert.equal(refusal(classifyMcpHttp(modern({ body: [m] }))).code, -32600);
  assert.equal(classifyMcpHttp(modern({ protocolVersionHeader: undefined, body: [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }] })).era, 'legacy');
});

test('header values: plain ASCII as is, anything else with the Base64 sentinel, both ways', () => {
  for (const v of ['us-west1', 'Hello, 世界', ' padded ', 'line1\nline2', '=?base64?literal?=', 'file:///a b.txt']) {
    assert.equal(decodeHeaderValue(encodeHeaderValue(v)), v);
  }
  assert.equal(encodeHeaderValue('us-west1'), 'us-west1');
  assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=');
  assert.equal(decodeHeaderValue('=?base64?not base64!?='), undefined);
});

test('envelope keys are stripped for a legacy server and added for a modern one', () => {
  const params = { name: 'x', _meta: { ...meta(), progressToken: 5 } };
  assert.deepEqual(stripEnvelope(params), { name: 'x', _meta: { progressToken: 5 } });
  assert.deepEqual(stripEnvelope({ name: 'x', _meta: meta() }), { name: 'x' });
  const added = withEnvelope({ name: 'x' }, { protocolVersion: '2026-07-28', clientCapabilities: { sampling: {} }, logLevel: 'info' });
  assert.deepEqual(added._meta, { [META.protocolVersion]: '2026-07-28', [META.clientCapabilities]: { sampling: {} }, [META.logLevel]: 'info' });
});

test('legacy results get resultType and cache hints; modern results lose them for legacy clients', () => {
  const r = asModernResult('tools/list', { tools: [] }, { ttlMs: 0, cacheScope: 'private' }, { name: 's', version: '1' });
  assert.deepEqual(r, { tools: [], resultType: 'complete', ttlMs: 0, cacheScope: 'private', _meta: { [META.serverInfo]: { name: 's', version: '1' } } });
  assert.deepEqual(asModernResult('tools/call', { content: [] }, { ttlMs: 0, cacheScope: 'private' }), { content: [], resultType: 'complete' });
  assert.deepEqual(asLegacyResult({ tools: [], resultType: 'complete', ttlMs: 5, cacheScope: 'public' }), { tools: [] });
});
