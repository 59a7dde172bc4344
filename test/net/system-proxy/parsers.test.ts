/**
 * The OS proxy-settings parsers, fed with outputs shaped as reg.exe and scutil print them
 * (fixtures/system-proxy/), and the route each gives for a gateway. These run on Linux:
 * they are the only check of the Windows and macOS readers on this project's machines.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { macosProxySettings, parseScutil } from '../../../src/net/system-proxy/macos-scutil.js';
import { systemRoute } from '../../../src/net/system-route.js';
import { parseProxyServer, parseRegQuery, windowsProxySettings } from '../../../src/net/system-proxy/windows-registry.js';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../../../fixtures/system-proxy/${name}`, import.meta.url)), 'utf8');
const windows = (name: string) => windowsProxySettings(parseRegQuery(fixture(name)));
const macos = (name: string) => macosProxySettings(parseScutil(fixture(name)));

/** The route as a short string: `PAC <url>`, `PROXY <url>` or `DIRECT`. */
function route(settings: ReturnType<typeof windows>, gateway: string, noProxy?: string): string {
  const r = systemRoute(settings, gateway, noProxy).route;
  return r.kind === 'pac' ? `PAC ${r.location}` : r.kind === 'proxy' ? `PROXY ${r.proxy.url.href}` : 'DIRECT';
}

describe('reg.exe query output', () => {
  it('reads the values of the key (names with spaces, empty data), not of its subkeys', () => {
    const values = parseRegQuery(fixture('windows-per-scheme.txt'));
    assert.deepEqual(values.get('ProxyEnable'), { type: 'REG_DWORD', data: '0x1' });
    assert.deepEqual(values.get('User Agent'), { type: 'REG_SZ', data: 'Mozilla/4.0 (compatible; MSIE 8.0; Win32)' });
    assert.equal(values.get('ProxyOverride')?.data, '*.corp.example;10.*;192.168.*;gw-direct.example.com;<local>');
    assert.deepEqual(parseRegQuery(fixture('windows-http-only.txt')).get('ProxyOverride'), { type: 'REG_SZ', data: '' });
  });

  it('ProxyServer: one proxy for every scheme, or a per-scheme list', () => {
    assert.deepEqual(parseProxyServer('proxy:3128'), { all: 'proxy:3128', schemes: new Map() });
    const list = parseProxyServer('http=a:80; https=http://b:443;ftp=c:21;');
    assert.deepEqual([...list.schemes], [['http', 'a:80'], ['https', 'http://b:443'], ['ftp', 'c:21']]);
  });

  it('per-scheme ProxyServer with a bypass list: https from https=, http from http=, ProxyOverride honoured', () => {
    const s = windows('windows-per-scheme.txt');
    assert.equal(s.https, 'proxy.corp.example:8443');
    assert.equal(s.http, 'proxy.corp.example:8080');
    assert.equal(route(s, 'https://gw.example.com'), 'PROXY http://proxy.corp.example:8443/');
    assert.equal(route(s, 'wss://gw.example.com/prefix'), 'PROXY http://proxy.corp.example:8443/');
    assert.equal(route(s, 'http://gw.example.com:8080'), 'PROXY http://proxy.corp.example:8080/');
    assert.equal(route(s, 'https://gw.corp.example'), 'DIRECT', '*.corp.example');
    assert.equal(route(s, 'https://10.20.30.40:4444'), 'DIRECT', '10.*');
    assert.equal(route(s, 'https://192.168.1.5'), 'DIRECT', '192.168.*');
    assert.equal(route(s, 'https://gateway'), 'DIRECT', '<local>');
    assert.equal(route(s, 'https://gw-direct.example.com'), 'DIRECT', 'exact name');
    assert.equal(route(s, 'https://sub.gw-direct.example.com'), 'PROXY http://proxy.corp.example:8443/', 'a plain name is not a domain');
  });

  it('one ProxyServer for every scheme; <local> bypasses names without a dot only', () => {
    const s = windows('windows-single.txt');
    assert.equal(route(s, 'https://gw.example.com'), 'PROXY http://proxy.corp.example:3128/');
    assert.equal(route(s, 'ws://gw.example.com'), 'PROXY http://proxy.corp.example:3128/');
    assert.equal(route(s, 'https://intranet:8443'), 'DIRECT');
    assert.equal(route(s, 'https://127.0.0.1:8443'), 'PROXY http://proxy.corp.example:3128/', 'an address is not a local name');
  });

  it('a per-scheme list without https= sends https direct', () => {
    const s = windows('windows-http-only.txt');
    assert.equal(route(s, 'https://gw.example.com'), 'DIRECT');
    assert.equal(route(s, 'http://gw.example.com'), 'PROXY http://proxy.corp.example:8080/');
  });

  it('PAC only: AutoConfigURL goes to the PAC support, whatever ProxyEnable says', () => {
    assert.equal(route(windows('windows-pac.txt'), 'https://gw.example.com'), 'PAC http://wpad.corp.example/proxy.pac');
  });

  it('PAC and a manual proxy: the PAC URL wins, as in WinINet', () => {
    assert.equal(route(windows('windows-pac-and-manual.txt'), 'https://gw.example.com'), 'PAC http://wpad.corp.example/proxy.pac');
  });

  it('disabled: a stale ProxyServer with ProxyEnable 0 is not used', () => {
    const s = windows('windows-disabled.txt');
    assert.equal(s.http, undefined);
    assert.equal(route(s, 'https://gw.example.com'), 'DIRECT');
  });

  it('SOCKS only: direct, with a warning', () => {
    const d = systemRoute(windows('windows-socks.txt'), 'https://gw.example.com');
    assert.equal(d.route.kind, 'direct');
    assert.match(d.warnings.join('\n'), /SOCKS proxy \(socks=socks\.corp\.example:1080\) is not supported/);
  });

  it('a PAC URL that is not http(s)/file or carries credentials is skipped with a warning that does not echo them', () => {
    const settings = { ...windows('windows-pac-and-manual.txt'), pac: 'http://user:pac-secret@wpad.corp.example/proxy.pac' };
    const d = systemRoute(settings, 'https://gw.example.com');
    assert.equal(d.route.kind, 'proxy', 'the manual proxy applies instead');
    assert.match(d.warnings.join('\n'), /carries credentials/);
    assert.doesNotMatch(d.warnings.join('\n') + d.description, /pac-secret/);
    assert.match(systemRoute({ ...settings, pac: 'ftp://wpad/p.pac' }, 'https://gw.example.com').warnings.join('\n'), /not an http:\/\/, https:\/\/ or file:\/\/ URL/);
  });

  it('NO_PROXY from the environment adds to the bypass list', () => {
    assert.equal(route(windows('windows-single.txt'), 'https://gw.example.com', 'example.com'), 'DIRECT');
  });
});

describe('scutil --proxy output', () => {
  it('parses nested dictionaries and arrays, __SCOPED__ included', () => {
    const d = parseScutil(fixture('macos-manual.txt'));
    assert.equal(d.HTTPSProxy, 'proxy.corp.example');
    assert.deepEqual(d.ExceptionsList, ['*.local', '169.254/16', '*.corp.example, 10.0.0.0/8', 'gw-direct.example.com']);
    const scoped = d.__SCOPED__ as Record<string, Record<string, unknown>>;
    assert.equal(scoped.en0!.HTTPSPort, '8443');
  });

  it('manual HTTPS and HTTP proxies with ExceptionsList and ExcludeSimpleHostnames', () => {
    const s = macos('macos-manual.txt');
    assert.equal(s.https, 'proxy.corp.example:8443');
    assert.equal(s.http, 'proxy.corp.example:8080');
    assert.deepEqual(s.bypass, ['*.local', '169.254/16', '*.corp.example', '10.0.0.0/8', 'gw-direct.example.com', '<local>']);
    assert.equal(route(s, 'https://gw.example.com'), 'PROXY http://proxy.corp.example:8443/');
    assert.equal(route(s, 'ws://gw.example.com'), 'PROXY http://proxy.corp.example:8080/');
    assert.equal(route(s, 'https://printer.local'), 'DIRECT', '*.local');
    assert.equal(route(s, 'https://169.254.10.1'), 'DIRECT', '169.254/16');
    assert.equal(route(s, 'https://10.9.8.7'), 'DIRECT', '10.0.0.0/8 after a comma');
    assert.equal(route(s, 'https://api.corp.example'), 'DIRECT');
    assert.equal(route(s, 'https://gateway:4444'), 'DIRECT', 'ExcludeSimpleHostnames');
    assert.equal(route(s, 'https://11.0.0.1'), 'PROXY http://proxy.corp.example:8443/');
  });

  it('PAC only: ProxyAutoConfigURLString goes to the PAC support', () => {
    assert.equal(route(macos('macos-pac.txt'), 'https://gw.example.com'), 'PAC http://wpad.corp.example/proxy.pac');
  });

  it('disabled: stale proxy and PAC values behind Enable 0 are not used', () => {
    const s = macos('macos-disabled.txt');
    assert.equal(s.pac, undefined);
    assert.equal(s.http, undefined);
    assert.equal(route(s, 'https://gw.example.com'), 'DIRECT');
  });

  it('HTTP only, an IP address as proxy: http gateways use it, https ones go direct', () => {
    const s = macos('macos-http-only.txt');
    assert.equal(route(s, 'http://gw.example.com'), 'PROXY http://10.1.2.3:3128/');
    assert.equal(route(s, 'https://gw.example.com'), 'DIRECT');
  });

  it('auto-discovery alone: direct, with a warning that WPAD is not supported', () => {
    const d = systemRoute(macos('macos-auto-discovery.txt'), 'https://gw.example.com');
    assert.equal(d.route.kind, 'direct');
    assert.match(d.warnings.join('\n'), /auto-discovery \(WPAD\) is not supported/);
  });

  it('text that is not scutil output gives no settings', () => {
    assert.deepEqual(parseScutil('No proxy configuration\n'), {});
    assert.equal(route(macosProxySettings(parseScutil('')), 'https://gw.example.com'), 'DIRECT');
  });
});
