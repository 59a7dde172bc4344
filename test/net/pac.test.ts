/**
 * PAC files (src/net/pac.ts): the answer's parsing, evaluation in the QuickJS sandbox
 * (standard PAC functions, nothing of Node, bounded in time), caching with a refresh
 * interval on an injected clock, and a failed refresh keeping the last good file. Serving
 * over HTTP and the fail-over with real proxies are in test/e2e/networks-pac.test.ts.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PacFile, parsePacResult } from '../../src/net/pac.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-pac-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function pacFile(script: string): string {
  const file = path.join(dir, `p${++n}.pac`);
  writeFileSync(file, script);
  return file;
}

describe('PAC answers', () => {
  const cases: Array<[string, string[]]> = [
    ['PROXY a.corp:3128; PROXY b.corp:8080; DIRECT', ['proxy http://a.corp:3128 PROXY a.corp:3128', 'proxy http://b.corp:8080 PROXY b.corp:8080', 'direct DIRECT']],
    ['DIRECT', ['direct DIRECT']],
    ['', ['direct DIRECT']],
    ['  proxy  p:1 ;;  ', ['proxy http://p:1 PROXY p:1']],
    ['HTTPS secure.corp:443; HTTP plain.corp:80', ['proxy https://secure.corp:443 HTTPS secure.corp:443', 'proxy http://plain.corp:80 HTTP plain.corp:80']],
    ['SOCKS5 s:1080; PROXY p:3128', ['proxy http://p:3128 PROXY p:3128']],
    ['PROXY user:pw@evil:1', []],
  ];
  for (const [answer, expected] of cases) {
    test(JSON.stringify(answer), () => {
      const warnings: string[] = [];
      const routes = parsePacResult(answer, (w) => warnings.push(w));
      assert.deepEqual(
        routes.map((r) => (r.kind === 'direct' ? 'direct DIRECT' : `proxy ${r.url} ${r.label}`)),
        expected,
      );
      if (/SOCKS|@/.test(answer)) assert.ok(warnings.length > 0, 'unusable entries are reported');
    });
  }
});

describe('PacFile', () => {
  test('evaluates FindProxyForURL per gateway URL with the standard PAC functions; ws(s):// is seen as http(s)://', async () => {
    const pac = new PacFile({
      location: pacFile(`function FindProxyForURL(url, host) {
        if (dnsDomainIs(host, ".corp.example") && url.indexOf("https://") === 0) return "PROXY p1:3128; PROXY p2:3128; DIRECT";
        if (isPlainHostName(host)) return "DIRECT";
        return "PROXY other:8080";
      }`),
      refreshMs: 60_000,
    });
    assert.deepEqual((await pac.routes('wss://gw.corp.example/mcp')).map((r) => r.label), ['PROXY p1:3128', 'PROXY p2:3128', 'DIRECT']);
    assert.deepEqual((await pac.routes('http://intranet')).map((r) => r.label), ['DIRECT']);
    assert.deepEqual((await pac.routes('https://gw.example.org')).map((r) => r.label), ['PROXY other:8080']);
    pac.dispose();
  });

  test('the script runs sandboxed: no process, require or fetch; alert() goes to the warning log, not stdout', async () => {
    const warnings: string[] = [];
    const pac = new PacFile({
      location: pathToFileURL(pacFile(`function FindProxyForURL(url, host) {
        alert("hello from pac");
        return (typeof process + typeof require + typeof fetch) === "undefinedundefinedundefined" ? "DIRECT" : "PROXY leak:1";
      }`)).href,
      refreshMs: 60_000,
      warn: (w) => warnings.push(w),
    });
    assert.deepEqual((await pac.routes('https://gw.example')).map((r) => r.label), ['DIRECT']);
    assert.deepEqual(warnings, ['PAC alert: hello from pac']);
    pac.dispose();
  });

  test('a script that never returns is interrupted: a clear error, not a hung client', async () => {
    const pac = new PacFile({ location: pacFile('function FindProxyForURL(url, host) { for (;;) {} }'), refreshMs: 60_000 });
    await assert.rejects(pac.routes('https://gw.example'), (err: unknown) => err instanceof ConfigError && /FindProxyForURL\(\) failed for gw\.example/.test(err.message));
    pac.dispose();
  });

  test('not a PAC script, or no such file: ConfigError naming the file', async () => {
    await assert.rejects(new PacFile({ location: pacFile('this is not javascript {'), refreshMs: 1 }).routes('https://gw'), (e: unknown) => e instanceof ConfigError && /not a usable PAC script/.test(e.message));
    await assert.rejects(new PacFile({ location: path.join(dir, 'missing.pac'), refreshMs: 1 }).routes('https://gw'), (e: unknown) => e instanceof ConfigError && /cannot read PAC file .*missing\.pac/.test(e.message));
  });

  test('cached until the refresh interval; then read again; a failed refresh keeps the last good file', async () => {
    let now = 0;
    const file = pacFile('function FindProxyForURL(u, h) { return "PROXY first:1"; }');
    const warnings: string[] = [];
    const pac = new PacFile({ location: file, refreshMs: 300_000, now: () => now, warn: (w) => warnings.push(w) });
    assert.equal((await pac.routes('https://gw'))[0]!.label, 'PROXY first:1');
    writeFileSync(file, 'function FindProxyForURL(u, h) { return "PROXY second:2"; }');
    now = 299_999;
    assert.equal((await pac.routes('https://gw'))[0]!.label, 'PROXY first:1', 'cached');
    now = 300_000;
    assert.equal((await pac.routes('https://gw'))[0]!.label, 'PROXY second:2', 'refreshed');
    unlinkSync(file);
    now = 600_000;
    assert.equal((await pac.routes('https://gw'))[0]!.label, 'PROXY second:2', 'kept');
    assert.match(warnings.join('\n'), /cannot read PAC file .*; keeping the PAC file loaded before/);
    pac.dispose();
  });
});
