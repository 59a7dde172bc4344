import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigReport } from '../../src/cli/connect-command.js';
import { resolveConnectOptions } from '../../src/config/connect-options.js';
import { resolveServerList } from '../../src/config/server-list.js';
import { MAX_TOKEN_FILE_BYTES, readTokenFile } from '../../src/config/token-file.js';

const dir = mkdtempSync(join(tmpdir(), 'token-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

function tokenFile(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

const base = { localStdio: 'node server.js', gateway: 'https://gw.example.com' };
const resolve = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, data?: Record<string, unknown>) =>
  resolveConnectOptions({ flags: { ...base, ...flags }, env, ...(data ? { file: { path: join(dir, 'cfg.yaml'), data } } : {}) });

describe('readTokenFile', () => {
  it('drops the trailing newline (LF or CRLF) and surrounding whitespace, and a BOM', () => {
    assert.equal(readTokenFile(tokenFile('lf', `${TOKEN}\n`), '--token-file').token, TOKEN);
    assert.equal(readTokenFile(tokenFile('crlf', `${TOKEN}\r\n`), '--token-file').token, TOKEN);
    assert.equal(readTokenFile(tokenFile('bom', `\uFEFF${TOKEN}\n\n`), '--token-file').token, TOKEN);
  });

  it('refuses an empty file, a file with more than the token, a large file, a missing file — naming the file, never the content', () => {
    assert.throws(() => readTokenFile(tokenFile('empty', '\n'), '--token-file'), /token file .*empty \(from --token-file\) is empty/);
    assert.throws(() => readTokenFile(tokenFile('two', `${TOKEN}\nsecond-line\n`), '--token-file'), (e: Error) => /one line without spaces/.test(e.message) && !e.message.includes('second-line'));
    assert.throws(() => readTokenFile(tokenFile('big', 'x'.repeat(MAX_TOKEN_FILE_BYTES + 1)), 'REVERSE_PROXY_TOKEN_FILE'), /larger than 65536 bytes/);
    assert.throws(() => readTokenFile(join(dir, 'nope'), '--token-file'), /cannot read token file .*nope \(from --token-file\): ENOENT/);
    assert.throws(() => readTokenFile(dir, '--token-file'), /is not a regular file/);
  });

  it('warns (does not refuse) when group or others can read it, as ssh does; not on Windows', () => {
    const open = tokenFile('open', TOKEN, 0o644);
    assert.match(readTokenFile(open, '--token-file').warning ?? '', /can be read by other users \(mode 0644\); chmod 600/);
    assert.equal(readTokenFile(tokenFile('closed', TOKEN, 0o600), '--token-file').warning, undefined);
    assert.equal(readTokenFile(open, '--token-file', 'win32').warning, undefined);
  });
});

describe('--token-file among the options', () => {
  it('--token-file, REVERSE_PROXY_TOKEN_FILE and token_file give the token; --check-config masks it', () => {
    const path = tokenFile('ok', `${TOKEN}\n`);
    assert.equal(resolve({ tokenFile: path }).options.token, TOKEN);
    assert.equal(resolve({}, { REVERSE_PROXY_TOKEN_FILE: path }).options.token, TOKEN);
    const { options } = resolve({}, {}, { token_file: 'ok' });
    assert.equal(options.token, TOKEN, 'a relative path in a config file is relative to the file');
    assert.equal(options.tokenFile, path);
    const report = JSON.stringify(checkConfigReport([options], []));
    assert.ok(!report.includes(TOKEN));
    assert.match(report, /"token":"\*\*\*"/);
  });

  it('--token and --token-file from the same source is an error naming both', () => {
    const path = tokenFile('same', TOKEN);
    assert.throws(() => resolve({ token: 'abc', tokenFile: path }), /--token \(from --token\) and --token-file \(from --token-file\) are both set/);
    assert.throws(
      () => resolve({}, { REVERSE_PROXY_TOKEN: 'abc', REVERSE_PROXY_TOKEN_FILE: path }),
      /--token \(from REVERSE_PROXY_TOKEN\) and --token-file \(from REVERSE_PROXY_TOKEN_FILE\) are both set/,
    );
    assert.throws(() => resolve({}, {}, { token: 'abc', token_file: 'same' }), /key token\) and --token-file .*key token_file\) are both set/);
  });

  it('otherwise the stronger source wins, with a warning', () => {
    const path = tokenFile('strong', TOKEN);
    const fileFlag = resolve({ tokenFile: path }, { REVERSE_PROXY_TOKEN: 'from-env' });
    assert.equal(fileFlag.options.token, TOKEN);
    assert.ok(fileFlag.warnings.some((w) => w.includes('the token from --token-file is used; REVERSE_PROXY_TOKEN is ignored')));
    const tokenFlag = resolve({ token: 'from-flag' }, { REVERSE_PROXY_TOKEN_FILE: join(dir, 'missing-but-unread') });
    assert.equal(tokenFlag.options.token, 'from-flag');
    assert.equal(resolve({}, { REVERSE_PROXY_TOKEN_FILE: path }, { token: 'from-config' }).options.token, TOKEN);
  });

  it('a servers: entry that sets either replaces both the top-level key and the variable', () => {
    const path = tokenFile('entry', TOKEN);
    const file = {
      path: join(dir, 'multi.yaml'),
      data: { gateway: 'https://gw', token: 'top-level', servers: [{ name: 'a', command: 'node a.js', token_file: 'entry' }, { name: 'b', command: 'node b.js' }] },
    };
    const { servers } = resolveServerList({ flags: {}, env: { REVERSE_PROXY_TOKEN: 'from-env' }, file });
    assert.equal(servers[0]!.token, TOKEN);
    assert.equal(servers[0]!.tokenFile, path);
    assert.equal(servers[1]!.token, 'from-env', 'the environment beats the top level for entries that set neither');
  });
});
