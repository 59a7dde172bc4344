import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { childEnv, stripUserinfo } from '../../src/client/child-env.js';

describe('childEnv', () => {
  const parent: NodeJS.ProcessEnv = {
    PATH: '/usr/bin',
    HOME: '/home/u',
    REVERSE_PROXY_TOKEN: 'eyJsecret',
    REVERSE_PROXY_GATEWAY: 'https://gw',
    REVERSE_PROXY_ANYTHING_NEW: 'x',
    REVERSE_PROXY_PROXY_PASSWORD: 'proxy-secret',
    REVERSE_PROXY_PROXY_USER: 'CORP\\carol',
    REVERSE_PROXY_PROXY_PAC: 'http://wpad/proxy.pac',
    reverse_proxy_lower: 'x',
    JWT_SECRET_KEY: 'signing-secret',
    HTTPS_PROXY: 'http://alice:s3cret@proxy.corp:3128',
    http_proxy: 'http://bob@proxy.corp:8080',
    All_Proxy: 'socks5://u:p@socks:1080',
    NO_PROXY: 'localhost,127.0.0.1',
    OTHER_PROXY_USER: 'kept',
  };

  it('removes every REVERSE_PROXY_* variable and JWT_SECRET_KEY', () => {
    const env = childEnv(parent);
    for (const name of Object.keys(env)) assert.doesNotMatch(name.toUpperCase(), /^REVERSE_PROXY_|^JWT_SECRET_KEY$/);
  });

  it('keeps the rest, and the proxies without their credentials', () => {
    assert.deepEqual(childEnv(parent), {
      PATH: '/usr/bin',
      HOME: '/home/u',
      HTTPS_PROXY: 'http://proxy.corp:3128',
      http_proxy: 'http://proxy.corp:8080',
      All_Proxy: 'socks5://socks:1080',
      NO_PROXY: 'localhost,127.0.0.1',
      OTHER_PROXY_USER: 'kept',
    });
  });

  it('does not modify the parent environment', () => {
    const copy = { ...parent };
    childEnv(parent);
    assert.deepEqual(parent, copy);
  });
});

describe('stripUserinfo', () => {
  for (const [input, output] of [
    ['http://proxy:3128', 'http://proxy:3128'],
    ['http://user:pass@proxy:3128', 'http://proxy:3128'],
    ['http://user:p%40ss@proxy:3128/', 'http://proxy:3128/'],
    ['http://user:p@ss@proxy:3128', 'http://proxy:3128'],
    ['user:pass@proxy:3128', 'proxy:3128'],
    ['proxy:3128', 'proxy:3128'],
    ['http://proxy:3128/path@x', 'http://proxy:3128/path@x'],
    ['', ''],
  ]) {
    it(`${input || '(empty)'} → ${output || '(empty)'}`, () => assert.equal(stripUserinfo(input!), output));
  }
});
