import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfigText } from '../../src/config/config-file.js';
import { ConfigError } from '../../src/errors.js';

describe('config files', () => {
  it('reads YAML by extension, and JSON by extension', () => {
    assert.deepEqual(parseConfigText('gateway: https://gw\nmax_retries: 3\n', 'a.yaml'), { gateway: 'https://gw', max_retries: 3 });
    assert.deepEqual(parseConfigText('{"gateway": "https://gw"}', 'a.json'), { gateway: 'https://gw' });
    assert.deepEqual(parseConfigText('{"gateway": "https://gw"}', 'a.conf'), { gateway: 'https://gw' }, 'other names: YAML, a superset of JSON');
  });

  it('treats an empty file as no options', () => {
    assert.deepEqual(parseConfigText('', 'a.yml'), {});
  });

  it('rejects syntax errors and non-mappings, naming the file', () => {
    assert.throws(() => parseConfigText('{"gateway": ', 'cfg.json'), (e: unknown) => e instanceof ConfigError && /cfg\.json" is not valid JSON/.test(e.message));
    assert.throws(() => parseConfigText('a: b: c', 'cfg.yaml'), (e: unknown) => e instanceof ConfigError && /cfg\.yaml" is not valid YAML/.test(e.message) && !e.message.includes('\n'));
    assert.throws(() => parseConfigText('- a\n- b\n', 'cfg.yaml'), /must contain a mapping/);
  });

  it('loads a file from disk and says where a missing path came from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrp-cfg-'));
    try {
      const path = join(dir, 'cfg.yml');
      writeFileSync(path, 'name: demo\n');
      assert.deepEqual(loadConfigFile(path), { path, data: { name: 'demo' } });
      assert.throws(() => loadConfigFile(join(dir, 'nope.yml'), 'REVERSE_PROXY_CONFIG'), /nope\.yml" \(from REVERSE_PROXY_CONFIG\): file not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
