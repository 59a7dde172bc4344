import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATEST_PROTOCOL_VERSION as SDK_LATEST } from '@modelcontextprotocol/sdk/types.js';
import { LATEST_PROTOCOL_VERSION } from '../../src/protocol/mcp-version.js';

test('the client offers the protocol version of the SDK it ships with', () => {
  assert.equal(LATEST_PROTOCOL_VERSION, SDK_LATEST);
});
