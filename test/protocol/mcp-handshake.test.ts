import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATEST_PROTOCOL_VERSION as SDK_LATEST, SUPPORTED_PROTOCOL_VERSIONS as SDK_SUPPORTED } from '@modelcontextprotocol/sdk/types.js';
import type { ServerDescription } from '../../src/protocol/envelope.js';
import {
  describeServer,
  initializeRequest,
  initializeResultOf,
  LATEST_PROTOCOL_VERSION,
  readInitializeAnswer,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '../../src/protocol/mcp-handshake.js';

test('the client offers the protocol version of the SDK it ships with', () => {
  assert.equal(LATEST_PROTOCOL_VERSION, SDK_LATEST);
});

test("the gateway accepts the 2025-era protocol versions of the SDK whose transport it uses", () => {
  assert.deepEqual(SUPPORTED_PROTOCOL_VERSIONS, SDK_SUPPORTED);
});

test('one reading of an initialize answer for both halves: result, refusal, or what is missing', () => {
  const ok = readInitializeAnswer({
    jsonrpc: '2.0',
    id: 1,
    result: { protocolVersion: '2025-06-18', capabilities: [], serverInfo: { name: 's', title: 'S' }, instructions: 'hi' },
  });
  assert.deepEqual(ok, {
    kind: 'result',
    result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', title: 'S', version: '' }, instructions: 'hi' },
  });
  assert.deepEqual(readInitializeAnswer({ jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'no' } }), { kind: 'refused', code: -32600, message: 'no' });
  assert.deepEqual(readInitializeAnswer({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 's' } } }), {
    kind: 'malformed',
    reason: 'initialize result has no protocolVersion',
  });
  assert.deepEqual(readInitializeAnswer({ jsonrpc: '2.0', id: 1, result: { protocolVersion: 'x', serverInfo: { version: '1' } } }), {
    kind: 'malformed',
    reason: 'initialize result has no serverInfo.name',
  });
});

test('the InitializeResult a register carries, and back into a register', () => {
  assert.equal(initializeResultOf({ name: 'cf', protocol: 'stdio' }), undefined, 'a ContextForge register: the gateway initializes itself');
  const init = initializeResultOf({ name: 'x', serverInfo: { name: 'srv', version: '2' }, capabilities: { tools: {} } });
  assert.deepEqual(init, { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: { tools: {} }, serverInfo: { name: 'srv', version: '2' } });
  const server: ServerDescription = { name: 'x', instructions: 'old' };
  describeServer(server, init!);
  assert.deepEqual(server, { name: 'x', serverInfo: { name: 'srv', version: '2' }, capabilities: { tools: {} }, protocolVersion: LATEST_PROTOCOL_VERSION });
});

test('both halves build initialize the same way, with their own identity and capabilities', () => {
  const req = initializeRequest('id-1', { clientInfo: { name: 'c', version: '1' }, capabilities: { roots: {} } });
  assert.deepEqual(req, {
    jsonrpc: '2.0',
    id: 'id-1',
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: { roots: {} }, clientInfo: { name: 'c', version: '1' } },
  });
});
