/**
 * Proxy resolution with curl's rules (src/net/proxy.ts): which variable wins, NO_PROXY
 * matching, credentials, and that no printed form of a proxy URL carries them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { noProxyMatches, parseProxy, resolveProxy } from '../../src/net/proxy.js';
import { NetworkPath } from '../../src/net/dispatcher.js';
import { redactUrl } from '../../src/observability/redact.js';
import { ConfigError } from '../../src/errors.js';

describe('NO_PROXY matching (curl semantics)', () => {
  const cases: Array<[noProxy: string, host: string, port: number, expected: boolean]> = [
    ['*', 'gateway.example.com', 443, true],
    ['example.com', 'example.com', 443, true],
    ['example.com', 'gw.example.com', 443, true],
    ['example.com', 'a.b.example.com', 443, true],
    ['.example.com', 'gw.example.com', 443, true],
    ['.example.com', 'example.com', 443, true],
    ['example.com', 'badexample.com', 443, false],
    ['example.com', 'example.com.evil.net', 443, false],
    ['EXAMPLE.COM', 'gw.example.com', 443, true],
    ['example.com', 'GW.Example.Com', 443, true],
    ['example.com', 'gw.example.com.', 443, true],
    ['other.org, example.com', 'gw.example.com', 443, true],
    ['other.org example.com', 'gw.example.com', 443, true],
    ['other.org,,  ,example.com', 'gw.example.com', 443, true],
    ['other.org', 'gw.example.com', 443, false],
    ['', 'gw.example.com', 443, false],
    ['example.com:8443', 'gw.example.com', 8443, true],
    ['example.com:8443', 'gw.example.com', 443, false],
    // No implicit loopback bypass: only what the list says.
    ['example.com', 'localhost', 80, false],
    ['example.com', '127.0.0.1', 80, false],
    ['localhost', 'localhost', 80, true],
    ['localhost', '127.0.0.1', 80, false],
    ['127.0.0.1', '127.0.0.1', 4444, true],
    ['127.0.0.1', '127.0.0.2', 4444, false],
    ['127.0.0.1:4444', '127.0.0.1', 4444, true],
    ['127.0.0.1:4444', '127.0.0.1', 4445, false],
    ['10.0.0.0/8', '10.20.30.40', 80, true],
    ['10.0.0.0/8', '11.0.0.1', 80, false],
    ['192.168.1.0/24', '192.168.1.77', 80, true],
    ['192.168.1.0/24', '192.168.2.1', 80, false],
    ['10.0.0.0/8', 'ten.example.com', 80, false],
    ['::1', '[::1]', 80, true],
    ['::1', '::1', 80, true],
    ['[::1]:8080', '[::1]', 8080, true],
    ['[::1]:8080', '[::1]', 80, false],
    ['fd00::/8', '[fd12:3456::1]', 80, true],
    ['fd00::/8', '[fe80::1]', 80, false],
    ['fd00::/8', '10.0.0.1', 80, false],
    ['10.0.0.0/33', '10.0.0.1', 80, false],
  ];
  for (const [noProxy, host, port, expected] of cases) {
    test(`NO_PROXY=${JSON.stringify(noProxy)} ${expected ? 'bypasses' : 'proxies'} ${host}:${port}`, () => {
      assert.equal(noProxyMatches(noProxy, host, port), expected);
    });
  }
});

describe('which proxy (curl precedence)', () => {
  const P = (n: number): string => `http://p${n}.corp:3128`;
  const cases: Array<{ name: string; target: string; explicit?: string; env: NodeJS.ProcessEnv; expected: string | undefined; source?: string }> = [
    { name: 'nothing set: direct', target: 'https://gw.example.com', env: {}, expected: undefined },
    { name: 'HTTPS_PROXY for https', target: 'https://gw.example.com', env: { HTTPS_PROXY: P(1) }, expected: P(1), source: 'HTTPS_PROXY' },
    { name: 'HTTPS_PROXY for wss', target: 'wss://gw.example.com', env: { HTTPS_PROXY: P(1) }, expected: P(1) },
    { name: 'HTTPS_PROXY not for http', target: 'http://gw.example.com', env: { HTTPS_PROXY: P(1) }, expected: undefined },
    { name: 'HTTP_PROXY for http', target: 'http://gw.example.com', env: { HTTP_PROXY: P(2) }, expected: P(2), source: 'HTTP_PROXY' },
    { name: 'HTTP_PROXY for ws', target: 'ws://gw.example.com', env: { HTTP_PROXY: P(2) }, expected: P(2) },
    { name: 'HTTP_PROXY not for https', target: 'https://gw.example.com', env: { HTTP_PROXY: P(2) }, expected: undefined },
    { name: 'lower case wins', target: 'https://gw.example.com', env: { HTTPS_PROXY: P(1), https_proxy: P(3) }, expected: P(3), source: 'https_proxy' },
    { name: 'lower case wins (http)', target: 'http://gw.example.com', env: { HTTP_PROXY: P(1), http_proxy: P(3) }, expected: P(3) },
    { name: 'empty lower case counts as unset', target: 'https://gw.example.com', env: { https_proxy: '', HTTPS_PROXY: P(1) }, expected: P(1) },
    { name: 'ALL_PROXY as last resort', target: 'https://gw.example.com', env: { ALL_PROXY: P(4) }, expected: P(4), source: 'ALL_PROXY' },
    { name: 'all_proxy before ALL_PROXY', target: 'https://gw.example.com', env: { ALL_PROXY: P(4), all_proxy: P(5) }, expected: P(5) },
    { name: 'scheme variable before ALL_PROXY', target: 'https://gw.example.com', env: { ALL_PROXY: P(4), HTTPS_PROXY: P(1) }, expected: P(1) },
    { name: 'NO_PROXY bypasses', target: 'https://gw.example.com', env: { HTTPS_PROXY: P(1), NO_PROXY: 'example.com' }, expected: undefined },
    { name: 'no_proxy wins over NO_PROXY', target: 'https://gw.example.com', env: { HTTPS_PROXY: P(1), NO_PROXY: 'example.com', no_proxy: 'other.org' }, expected: P(1) },
    { name: 'NO_PROXY port uses the scheme default', target: 'https://gw.example.com', env: { HTTPS_PROXY: P(1), NO_PROXY: 'example.com:443' }, expected: undefined },
    { name: 'NO_PROXY port uses the explicit port', target: 'http://gw.example.com:4444', env: { HTTP_PROXY: P(1), NO_PROXY: 'example.com:80' }, expected: P(1) },
    { name: 'no loopback bypass', target: 'http://127.0.0.1:4444', env: { HTTP_PROXY: P(1) }, expected: P(1) },
    { name: '--proxy overrides the environment', target: 'https://gw.example.com', explicit: P(6), env: { HTTPS_PROXY: P(1) }, expected: P(6), source: '--proxy' },
    { name: '--proxy ignores NO_PROXY', target: 'https://gw.example.com', explicit: P(6), env: { NO_PROXY: '*' }, expected: P(6) },
    { name: 'bare host:port means http://', target: 'https://gw.example.com', env: { HTTPS_PROXY: 'p7.corp:3128' }, expected: 'http://p7.corp:3128' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = resolveProxy(c.target, c.explicit, c.env);
      if (c.expected === undefined) {
        assert.equal(got, undefined);
        return;
      }
      assert.ok(got, 'a proxy');
      assert.equal(got.url.origin, new URL(c.expected).origin);
      if (c.source) assert.equal(got.source, c.source);
    });
  }

  test('an unusable proxy URL is a ConfigError naming its source, without credentials', () => {
    assert.throws(
      () => resolveProxy('https://gw.example.com', undefined, { HTTPS_PROXY: 'socks5://u:secret@p:1080' }),
      (err: unknown) => err instanceof ConfigError && /HTTPS_PROXY/.test(err.message) && !err.message.includes('secret'),
    );
  });
});

describe('proxy credentials', () => {
  test('percent-encoded userinfo becomes a Basic token and leaves the URL', () => {
    const p = parseProxy('http://al%40ice:p%3Ass%20w%2Frd@proxy.corp:3128', '--proxy');
    assert.equal(p.token, `Basic ${Buffer.from('al@ice:p:ss w/rd').toString('base64')}`);
    assert.equal(p.url.username, '');
    assert.equal(p.url.password, '');
    assert.equal(p.url.href, 'http://proxy.corp:3128/');
    assert.ok(!p.redacted.includes('ice') && !p.redacted.includes('rd'), p.redacted);
    assert.match(p.redacted, /^http:\/\/\*\*\*:\*\*\*@proxy\.corp:3128/);
  });

  test('user without password still authenticates (curl sends "user:")', () => {
    const p = parseProxy('http://bob@proxy.corp:3128', '--proxy');
    assert.equal(p.token, `Basic ${Buffer.from('bob:').toString('base64')}`);
  });

  test('no userinfo, no token', () => {
    assert.equal(parseProxy('http://proxy.corp:3128', 'HTTP_PROXY').token, undefined);
  });

  test('the network path describes the proxy only in redacted form', () => {
    const path = new NetworkPath({ gateway: 'http://gw.example.com', proxy: 'http://u:s3cret@proxy.corp:3128', env: {} });
    assert.deepEqual(path.modes(), ['connect', 'forward']);
    assert.ok(!path.describe('connect').includes('s3cret'));
    path.markConnectRefused();
    assert.deepEqual(path.modes(), ['forward']);
    const secure = new NetworkPath({ gateway: 'https://gw.example.com', proxy: 'http://proxy.corp:3128', env: {} });
    assert.deepEqual(secure.modes(), ['connect'], 'https:// gateways only ever tunnel');
    assert.deepEqual(new NetworkPath({ gateway: 'https://gw.example.com', env: {} }).modes(), ['direct']);
  });
});

describe('redactUrl', () => {
  const cases: Array<[string, string]> = [
    ['http://user:pass@proxy:3128', 'http://***:***@proxy:3128'],
    ['http://user@proxy:3128/', 'http://***@proxy:3128/'],
    ['http://proxy:3128', 'http://proxy:3128'],
    ['not a url user:pass@x', 'not a url user:pass@x'],
    ['//user:pass@host', '//***@host'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(redactUrl(input), expected));
  }
});
