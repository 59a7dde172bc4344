import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mcpEndpointUrl } from '../../src/client/endpoint-url.js';
import { ReadyFile } from '../../src/client/ready-file.js';
import { captureLogs } from './log-capture.js';

const dir = mkdtempSync(join(tmpdir(), 'ready-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const server = (name: string, sessionId = `s-${name}`) => ({ name, endpoint: `https://gw/servers/${name}/mcp`, sessionId, transport: 'ws' });

describe('mcpEndpointUrl', () => {
  it('gateway base + /servers/<name>/mcp, path prefix kept, ws read as http, query and tunnel path dropped', () => {
    assert.equal(mcpEndpointUrl('https://gw.example.com', 'git'), 'https://gw.example.com/servers/git/mcp');
    assert.equal(mcpEndpointUrl('https://gw.example.com/team-a/', 'git'), 'https://gw.example.com/team-a/servers/git/mcp');
    assert.equal(mcpEndpointUrl('wss://gw.example.com/p/reverse-proxy/ws?x=1', 'git'), 'https://gw.example.com/p/servers/git/mcp');
    assert.equal(mcpEndpointUrl('ws://127.0.0.1:4444', 'a.b'), 'http://127.0.0.1:4444/servers/a.b/mcp');
  });
});

describe('ReadyFile', () => {
  it('is written once, when every server is up, atomically, with pid and servers in order', () => {
    const path = join(dir, 'multi.json');
    const ready = new ReadyFile(path, ['git', 'files'], captureLogs().logger);
    ready.prepare();
    ready.serverUp(server('files'));
    assert.equal(existsSync(path), false, 'not before the last server');
    ready.serverUp(server('git'));
    const content = JSON.parse(readFileSync(path, 'utf8'));
    assert.deepEqual(content, { pid: process.pid, servers: [server('git'), server('files')] });
    ready.serverUp(server('git', 'later-session'));
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), content, 'a later reconnect does not rewrite it');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    ready.remove();
    assert.equal(existsSync(path), false);
  });

  it('prepare() removes a file left by an earlier run and refuses a missing directory', () => {
    const path = join(dir, 'stale.json');
    writeFileSync(path, '{"pid":1}');
    new ReadyFile(path, ['a'], captureLogs().logger).prepare();
    assert.equal(existsSync(path), false);
    assert.throws(() => new ReadyFile(join(dir, 'no', 'such', 'x.json'), ['a'], captureLogs().logger).prepare(), /--ready-file .*the directory .* does not exist/);
  });

  it('remove() before the file was written leaves the path alone', () => {
    const path = join(dir, 'foreign.json');
    const ready = new ReadyFile(path, ['a'], captureLogs().logger);
    writeFileSync(path, 'someone else');
    ready.remove();
    assert.equal(readFileSync(path, 'utf8'), 'someone else');
  });

  it('a write that fails is logged as an error, and nothing is left behind', () => {
    const path = join(dir, 'gone-dir', 'x.json');
    const logs = captureLogs();
    new ReadyFile(path, ['a'], logs.logger).serverUp(server('a'));
    assert.ok(logs.records.some((r) => r.event === 'ready_file_failed'));
  });
});
