import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { discoverServerInfo, MAX_DISCOVER_BYTES, MAX_SUPPORTED_VERSIONS, readDiscoverResult } from '../../src/protocol/discover-result.js';

const VALID = {
  resultType: 'complete',
  supportedVersions: ['2026-07-28'],
  capabilities: { tools: { listChanged: true } },
  instructions: 'use echo',
  ttlMs: 0,
  cacheScope: 'private',
  _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'srv', version: '1.0.0' } },
};

describe('readDiscoverResult', () => {
  it('keeps a valid DiscoverResult as it is (nothing dropped)', () => {
    const extra = { ...VALID, somethingNew: { a: 1 } };
    assert.deepEqual(readDiscoverResult(extra), extra);
    const { resultType: _t, ttlMs: _l, cacheScope: _s, instructions: _i, _meta: _m, ...minimal } = VALID;
    assert.deepEqual(readDiscoverResult(minimal), minimal, 'only supportedVersions and capabilities are required');
  });

  it('names the first problem of a result that is not a DiscoverResult', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /not an object/],
      [[VALID], /not an object/],
      [{ ...VALID, supportedVersions: undefined }, /supportedVersions must be a non-empty array/],
      [{ ...VALID, supportedVersions: [] }, /supportedVersions must be a non-empty array/],
      [{ ...VALID, supportedVersions: [2026] }, /non-empty strings/],
      [{ ...VALID, supportedVersions: ['x'.repeat(65)] }, /at most 64 characters/],
      [{ ...VALID, supportedVersions: Array.from({ length: MAX_SUPPORTED_VERSIONS + 1 }, (_, i) => `v${i}`) }, /more than 32 entries/],
      [{ ...VALID, capabilities: undefined }, /capabilities must be an object/],
      [{ ...VALID, capabilities: [] }, /capabilities must be an object/],
      [{ ...VALID, instructions: 7 }, /instructions must be a string/],
      [{ ...VALID, _meta: 'x' }, /_meta must be an object/],
      [{ ...VALID, resultType: 'input_required' }, /resultType must be "complete", got "input_required"/],
    ];
    for (const [value, why] of cases) {
      const r = readDiscoverResult(value);
      assert.equal(typeof r, 'string', JSON.stringify(value)?.slice(0, 80));
      assert.match(r as string, why);
    }
  });

  it(`refuses a result larger than ${MAX_DISCOVER_BYTES} bytes (long instructions included)`, () => {
    const big = { ...VALID, instructions: 'i'.repeat(MAX_DISCOVER_BYTES) };
    assert.match(readDiscoverResult(big) as string, new RegExp(`is \\d+ bytes, more than ${MAX_DISCOVER_BYTES}`));
    const fits = { ...VALID, instructions: 'i'.repeat(MAX_DISCOVER_BYTES - 1000) };
    assert.equal(typeof readDiscoverResult(fits), 'object');
  });
});

describe('discoverServerInfo', () => {
  it('reads _meta serverInfo, with version "" when the server left it out; undefined when unusable', () => {
    assert.deepEqual(discoverServerInfo(VALID), { name: 'srv', version: '1.0.0' });
    assert.deepEqual(discoverServerInfo({ ...VALID, _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'n' } } }), { name: 'n', version: '' });
    assert.equal(discoverServerInfo({ ...VALID, _meta: {} }), undefined);
    assert.equal(discoverServerInfo({ ...VALID, _meta: { 'io.modelcontextprotocol/serverInfo': { name: '' } } }), undefined);
    assert.equal(discoverServerInfo({ supportedVersions: ['2026-07-28'], capabilities: {} }), undefined);
  });
});
