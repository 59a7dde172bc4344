import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorEffect, TUNNEL_ERRORS } from '../../src/protocol/error-codes.js';

test('the error codes the gateway sends, and what each makes the client do', () => {
  for (const code of ['session_deleted', 'session_replaced', 'name_taken', 'invalid_name', 'invalid_register']) assert.equal(errorEffect(code), 'stop', code);
  for (const code of ['too_many_sessions', 'register_timeout', 'pre_register_limit', 'gap_overflow', 'gateway_shutdown']) assert.equal(errorEffect(code), 'retry', code);
  assert.equal(errorEffect('bad_frame'), 'report');
  // Another gateway's codes, and anything that is not a string, are only reported.
  for (const code of ['forbidden', 'toString', '__proto__', undefined, 3]) assert.equal(errorEffect(code), 'report', String(code));
  assert.ok(Object.keys(TUNNEL_ERRORS).length >= 13);
});
