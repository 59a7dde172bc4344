/**
 * Reading the OS settings and choosing the source: which command runs (absolute path, no
 * shell), what a failing or slow command does (a warning and DIRECT, never a refusal to
 * start), and the precedence of --proxy, --proxy-pac, the environment and the OS. The OS
 * commands do not exist here: the runner is injected, and the slow case uses a real
 * process that never answers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NetworkPath } from '../../../src/net/dispatcher.js';
import { resolveProxySource, type ProxySourceInput } from '../../../src/net/proxy-source.js';
import { readSystemProxy, runCommand, systemProxyCommand, type RunCommand, type SystemProxyResult } from '../../../src/net/system-proxy/read.js';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../../../fixtures/system-proxy/${name}`, import.meta.url)), 'utf8');

describe('readSystemProxy', () => {
  it('Windows: %SystemRoot%\\System32\\reg.exe query of the Internet Settings key; macOS: /usr/sbin/scutil --proxy; Linux: none', () => {
    const win = systemProxyCommand('win32', { SystemRoot: 'C:\\Windows' });
    assert.match(win!.file, /^C:\\Windows[\\/]System32[\\/]reg\.exe$/);
    assert.deepEqual(win!.args, ['query', 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings']);
    assert.deepEqual(systemProxyCommand('darwin'), { file: '/usr/sbin/scutil', args: ['--proxy'] });
    assert.equal(systemProxyCommand('linux'), undefined);
  });

  it('parses what the command printed', async () => {
    const seen: string[] = [];
    const run: RunCommand = async (file, args) => {
      seen.push([file, ...args].join(' '));
      return fixture('macos-pac.txt');
    };
    const r = await readSystemProxy({ platform: 'darwin', run });
    assert.equal(r.kind, 'settings');
    assert.equal(r.kind === 'settings' && r.settings.pac, 'http://wpad.corp.example/proxy.pac');
    assert.deepEqual(seen, ['/usr/sbin/scutil --proxy']);
  });

  it('Linux: the environment, no command run', async () => {
    const run: RunCommand = () => assert.fail('no command on linux');
    assert.deepEqual(await readSystemProxy({ platform: 'linux', run }), { kind: 'environment' });
  });

  it('a failing command gives the reason, not an exception', async () => {
    const run: RunCommand = () => Promise.reject(new Error('ERROR: The system was unable to find the specified registry key or value.'));
    const r = await readSystemProxy({ platform: 'win32', run, env: { SystemRoot: 'C:\\Windows' } });
    assert.equal(r.kind, 'failed');
    assert.match(r.kind === 'failed' ? r.reason : '', /reg\.exe query "HKCU\\Software.*Internet Settings": ERROR: The system was unable/);
  });

  it('a command that never answers is killed at the timeout and reported', async () => {
    // A real process that prints nothing and never exits on its own.
    const run: RunCommand = (_file, _args, timeoutMs) => runCommand(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], timeoutMs);
    const r = await readSystemProxy({ platform: 'darwin', run, timeoutMs: 300 });
    assert.equal(r.kind, 'failed');
    assert.match(r.kind === 'failed' ? r.reason : '', /no answer within 300 ms/);
  });
});

const settings = (name: string): ((p: NodeJS.Platform) => Promise<SystemProxyResult>) => {
  return async (platform) => readSystemProxy({ platform, run: async () => fixture(name), env: { SystemRoot: 'C:\\Windows' } });
};
const never = (): Promise<SystemProxyResult> => assert.fail('the OS settings must not be read');
const source = (i: Partial<ProxySourceInput>) => resolveProxySource({ gateway: 'https://gw.example.com', env: {}, platform: 'darwin', read: never, ...i });

describe('resolveProxySource: which settings apply', () => {
  it('--proxy <url> wins over everything and is reported without its credentials', async () => {
    const s = await source({ proxy: 'http://alice:s3cret@p.corp:3128', proxyPac: 'http://wpad/p.pac', env: { HTTPS_PROXY: 'http://e:1' } });
    assert.equal(s.proxy, 'http://alice:s3cret@p.corp:3128');
    assert.doesNotMatch(s.description, /s3cret/);
    assert.match(s.description, /from --proxy/);
  });

  it('--proxy-pac next, then the environment; neither reads the OS', async () => {
    assert.equal((await source({ proxyPac: 'http://wpad/p.pac', env: { HTTPS_PROXY: 'http://e:1' } })).proxyPac, 'http://wpad/p.pac');
    const env = await source({ env: { https_proxy: 'http://e.corp:1' } });
    assert.equal(env.system, undefined);
    assert.match(env.description, /environment: proxy http:\/\/e\.corp:1 \(from https_proxy\)/);
  });

  it('nothing configured: the OS settings are the default (macOS manual proxy)', async () => {
    const s = await source({ read: settings('macos-manual.txt') });
    assert.equal(s.system?.kind, 'proxy');
    assert.equal(s.system?.kind === 'proxy' && s.system.proxy.url.href, 'http://proxy.corp.example:8443/');
    assert.match(s.description, /no proxy configured: the default\): proxy http:\/\/proxy\.corp\.example:8443 for gw\.example\.com \(from macOS system proxy settings\)/);
  });

  it('NO_PROXY alone configures no proxy: the OS settings apply, with NO_PROXY added to their bypass list', async () => {
    const s = await source({ env: { NO_PROXY: 'gw.example.com' }, read: settings('macos-manual.txt') });
    assert.equal(s.system?.kind, 'direct');
  });

  it('--proxy system uses the OS settings even when the environment names a proxy (Windows PAC)', async () => {
    const s = await source({ proxy: 'System', platform: 'win32', env: { HTTPS_PROXY: 'http://e:1' }, read: settings('windows-pac.txt') });
    assert.deepEqual(s.system, { kind: 'pac', location: 'http://wpad.corp.example/proxy.pac' });
    assert.match(s.description, /--proxy system/);
  });

  it('Linux: the system settings are the environment, as before', async () => {
    const implied = await source({ platform: 'linux', read: async () => ({ kind: 'environment' }) });
    assert.equal(implied.system, undefined);
    assert.match(implied.description, /on linux, the environment: direct \(no proxy variable set\)/);
    const explicit = await source({ proxy: 'system', platform: 'linux', env: { HTTPS_PROXY: 'http://e.corp:1' }, read: async () => ({ kind: 'environment' }) });
    assert.equal(explicit.system, undefined);
    assert.match(explicit.description, /proxy http:\/\/e\.corp:1 \(from HTTPS_PROXY\)/);
  });

  it('an unreadable OS store: a warning and DIRECT', async () => {
    const s = await source({ read: async () => ({ kind: 'failed', reason: '/usr/sbin/scutil --proxy: no answer within 3000 ms' }) });
    assert.deepEqual(s.system, { kind: 'direct' });
    assert.match(s.warnings[0] ?? '', /cannot read the system proxy settings \(\/usr\/sbin\/scutil --proxy: no answer within 3000 ms\); connecting directly/);
  });
});

describe('NetworkPath with the OS choice', () => {
  it('a system proxy becomes the route; a system PAC URL goes to the PAC support; DIRECT ignores the environment', async () => {
    const s = await source({ read: settings('macos-manual.txt') });
    const proxied = new NetworkPath({ gateway: 'https://gw.example.com', env: {}, system: s.system! });
    assert.equal(proxied.proxy?.url.href, 'http://proxy.corp.example:8443/');
    assert.deepEqual(proxied.modes(), ['connect']);
    await proxied.close();

    const pac = new NetworkPath({ gateway: 'https://gw.example.com', env: {}, system: { kind: 'pac', location: 'http://wpad.corp.example/proxy.pac' } });
    assert.equal(pac.pac?.location, 'http://wpad.corp.example/proxy.pac');
    await pac.close();

    const direct = new NetworkPath({ gateway: 'https://gw.example.com', env: { HTTPS_PROXY: 'http://e:1' }, system: { kind: 'direct' } });
    assert.equal(direct.proxy, undefined);
    assert.deepEqual(direct.modes(), ['direct']);
    await direct.close();
  });
});
