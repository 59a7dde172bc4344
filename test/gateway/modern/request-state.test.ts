import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paramsDigest, requestStateKey, RequestStateSealer } from '../../../src/gateway/modern/request-state.js';

const claims = (over = {}) => ({ principal: 'alice', server: 'srv', method: 'tools/call', digest: paramsDigest({ name: 'x', arguments: { a: 1 } }), exp: 2_000, ref: 'call-1', ...over });
const expect_ = { principal: 'alice', server: 'srv', method: 'tools/call', digest: paramsDigest({ arguments: { a: 1 }, name: 'x' }) };

test('a sealed state opens for the same principal, server, method and params (any key order)', () => {
  const s = new RequestStateSealer(requestStateKey('secret'), () => 1_000);
  const opened = s.open(s.seal(claims()), expect_);
  assert.ok(opened.ok);
  if (opened.ok) assert.equal(opened.claims.ref, 'call-1');
});

test('forged, altered, expired, cross-user, cross-server and cross-request states are refused', () => {
  let now = 1_000;
  const s = new RequestStateSealer(requestStateKey('secret'), () => now);
  const token = s.seal(claims());
  const reason = (t: unknown, e = expect_): string => {
    const o = s.open(t, e);
    return o.ok ? 'ok' : o.reason;
  };
  assert.match(reason('garbage'), /not one this gateway issued/);
  const bytes = Buffer.from(token, 'base64url');
  bytes[bytes.length - 1] ^= 1;
  assert.match(reason(bytes.toString('base64url')), /not one this gateway issued/);
  assert.match(reason(new RequestStateSealer(requestStateKey('other'), () => now).seal(claims())), /not one this gateway issued/);
  assert.match(reason(token, { ...expect_, principal: 'bob' }), /another user/);
  assert.match(reason(token, { ...expect_, server: 'srv2' }), /another server/);
  assert.match(reason(token, { ...expect_, digest: paramsDigest({ name: 'y' }) }), /different request/);
  assert.match(reason(token, { ...expect_, method: 'prompts/get' }), /different request/);
  now = 2_000;
  assert.match(reason(token), /expired/);
});

test('the digest ignores the envelope and the MRTR inputs but not the arguments', () => {
  const base = { name: 'x', arguments: { a: 1 } };
  assert.equal(paramsDigest(base), paramsDigest({ ...base, _meta: { p: 1 }, inputResponses: { k: {} }, requestState: 's' }));
  assert.notEqual(paramsDigest(base), paramsDigest({ name: 'x', arguments: { a: 2 } }));
});

test('replicas sharing the JWT secret share the key; no secret means a random key', () => {
  assert.deepEqual(requestStateKey('s'), requestStateKey('s'));
  assert.notDeepEqual(requestStateKey(undefined), requestStateKey(undefined));
});
