/**
 * Windows environment variables are case-insensitive (`Path`, `https_proxy`): option
 * lookup, proxy lookup and the child's environment treat them so when the platform is
 * win32, and keep the exact-name rule elsewhere. The platform is injected: this runs on
 * Linux, with plain objects as a copied Windows environment would be.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { childEnv } from '../src/client/child-env.js';
import { resolveConnectOptions } from '../src/config/connect-options.js';
import { deleteEnv, envEntry, envValue } from '../src/env-lookup.js';
import { resolveServerList } from '../src/config/server-list.js';
import { proxyEnvironmentSet, resolveProxy } from '../src/net/proxy.js';

describe('envValue / envEntry / deleteEnv', () => {
  const env = { Path: 'C:\\Windows', Https_Proxy: 'http://p:3128' };

  it('on win32 a name differing only in case is the same variable', () => {
    assert.equal(envValue(env, 'PATH', 'win32'), 'C:\\Windows');
    assert.deepEqual(envEntry(env, 'HTTPS_PROXY', 'win32'), { name: 'Https_Proxy', value: 'http://p:3128' });
  });

  it('elsewhere names are exact', () => {
    assert.equal(envValue(env, 'PATH', 'linux'), undefined);
    assert.equal(envValue(env, 'Path', 'darwin'), 'C:\\Windows');
  });

  it('deleteEnv removes every spelling on win32, only the exact one elsewhere', () => {
    const a = { reverse_proxy_token: 't', REVERSE_PROXY_TOKEN: 'T', other: 'x' };
    deleteEnv(a, 'REVERSE_PROXY_TOKEN', 'win32');
    assert.deepEqual(a, { other: 'x' });
    const b = { reverse_proxy_token: 't', REVERSE_PROXY_TOKEN: 'T' };
    deleteEnv(b, 'REVERSE_PROXY_TOKEN', 'linux');
    assert.deepEqual(b, { reverse_proxy_token: 't' });
  });
});

describe('options from a Windows-spelled environment', () => {
  const env = { Reverse_Proxy_Gateway: 'https://gw.example.com', reverse_proxy_local_stdio: 'node server.js', Reverse_Proxy_Transport: 'sse' };

  it('win32: REVERSE_PROXY_* variables are found in any case', () => {
    const { options } = resolveConnectOptions({ flags: {}, env, platform: 'win32' });
    assert.equal(options.gateway, 'https://gw.example.com');
    assert.equal(options.localStdio, 'node server.js');
    assert.equal(options.transport, 'sse');
  });

  it('linux: they are different variables', () => {
    assert.throws(() => resolveConnectOptions({ flags: {}, env, platform: 'linux' }), /missing --local-stdio/);
  });

  it('win32: a servers: list hides every spelling of the identity variables and of the keys an entry sets', () => {
    const file = { path: 'cfg.yaml', data: { gateway: 'https://gw', servers: [{ name: 'a', command: 'node a.js', transport: 'poll' }] } };
    const { servers, warnings } = resolveServerList({ flags: {}, env: { reverse_proxy_name: 'x', Reverse_Proxy_Transport: 'ws' }, file, platform: 'win32' });
    assert.equal(servers[0]!.name, 'a');
    assert.equal(servers[0]!.transport, 'poll');
    assert.ok(warnings.some((w) => w.includes('REVERSE_PROXY_NAME is ignored')));
  });
});

describe('proxy variables on Windows', () => {
  it('win32: Https_Proxy and No_Proxy are HTTPS_PROXY and NO_PROXY', () => {
    const env = { Https_Proxy: 'http://proxy.corp:3128', No_Proxy: 'internal.corp' };
    const choice = resolveProxy('https://gw.example.com', undefined, env, 'win32');
    assert.equal(choice?.url.host, 'proxy.corp:3128');
    assert.equal(choice?.source, 'Https_Proxy');
    assert.equal(resolveProxy('https://api.internal.corp', undefined, env, 'win32'), undefined);
    assert.equal(proxyEnvironmentSet(env, 'win32'), true);
  });

  it('linux: curl reads only the lower- and upper-case spellings', () => {
    const env = { Https_Proxy: 'http://proxy.corp:3128' };
    assert.equal(resolveProxy('https://gw.example.com', undefined, env, 'linux'), undefined);
    assert.equal(proxyEnvironmentSet(env, 'linux'), false);
    assert.equal(proxyEnvironmentSet({ NO_PROXY: '*' }, 'linux'), false);
  });
});

describe("the child's environment with Windows spellings", () => {
  it('strips tunnel secrets and proxy userinfo whatever the case, and keeps Path', () => {
    const env = childEnv({
      Path: 'C:\\Windows;C:\\node',
      Reverse_Proxy_Token: 'secret-token',
      reverse_proxy_token_file: 'C:\\ci\\token',
      Jwt_Secret_Key: 'signing',
      Https_Proxy: 'http://CORP%5Ccarol:pw@proxy.corp:3128',
    });
    assert.deepEqual(env, { Path: 'C:\\Windows;C:\\node', Https_Proxy: 'http://proxy.corp:3128' });
  });
});
