import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bypassMatches } from '../../../src/net/system-bypass.js';

const m = (entries: string[], host: string, port = 443): boolean => bypassMatches(entries, host, port);

describe('OS bypass lists', () => {
  it('<local>: names without a dot, never addresses', () => {
    assert.equal(m(['<local>'], 'intranet'), true);
    assert.equal(m(['<LOCAL>'], 'Intranet'), true);
    assert.equal(m(['<local>'], 'intranet.corp'), false);
    assert.equal(m(['<local>'], '[::1]'), false);
    assert.equal(m(['<local>'], '127.0.0.1'), false);
  });

  it('wildcards over the name, case-insensitive, regex characters literal', () => {
    assert.equal(m(['*.corp.example'], 'A.Corp.Example'), true);
    assert.equal(m(['*.corp.example'], 'corp.example'), false);
    assert.equal(m(['*.corp.example'], 'corpXexample'), false);
    assert.equal(m(['10.*'], '10.1.2.3'), true);
    assert.equal(m(['10.*'], '110.1.2.3'), false);
    assert.equal(m(['*corp*'], 'mycorpgw'), true);
    assert.equal(m(['gw(1)*'], 'gw(1)x'), true);
  });

  it('a plain name matches itself only (port optional); a leading dot takes the subdomains too', () => {
    assert.equal(m(['gw.example.com'], 'gw.example.com'), true);
    assert.equal(m(['gw.example.com'], 'a.gw.example.com'), false);
    assert.equal(m(['gw.example.com:8443'], 'gw.example.com', 8443), true);
    assert.equal(m(['gw.example.com:8443'], 'gw.example.com', 443), false);
    assert.equal(m(['.example.com'], 'gw.example.com'), true);
    assert.equal(m(['.example.com'], 'example.com'), true);
    assert.equal(m(['https://gw.example.com'], 'gw.example.com'), true);
  });

  it('addresses and ranges, macOS short CIDR included; nothing is resolved', () => {
    assert.equal(m(['169.254/16'], '169.254.3.4'), true);
    assert.equal(m(['169.254/16'], '169.255.3.4'), false);
    assert.equal(m(['10.0.0.0/8'], '10.200.0.1'), true);
    assert.equal(m(['127.0.0.1'], '127.0.0.1'), true);
    assert.equal(m(['127.0.0.1'], 'localhost'), false);
    assert.equal(m(['fd00::/8'], '[fd12::1]'), true);
    assert.equal(m(['::1'], '[::1]'), true);
  });

  it('empty lists and blank entries match nothing', () => {
    assert.equal(m([], 'gw.example.com'), false);
    assert.equal(m(['', '  '], 'gw.example.com'), false);
  });
});
