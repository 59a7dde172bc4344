/** docs/cli.md's flag tables are generated from the program; this fails when they are stale. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLI_DOC, COMMANDS, flagTables, render } from '../../scripts/cli-reference.js';

describe('docs/cli.md', () => {
  it('flag tables match the program (regenerate: npx tsx scripts/cli-reference.ts)', () => {
    const doc = readFileSync(CLI_DOC, 'utf8');
    assert.equal(doc, render(doc));
  });

  it('lists every flag of every command, with its env variable and config key', () => {
    const tables = flagTables();
    for (const name of COMMANDS) assert.ok(tables[name].split('\n').length > 3, name);
    for (const flag of ['--restart <policy>', '--metrics-port <port>', '--check-config', '--restart-max <n>']) {
      assert.ok(tables.connect.includes(`\`${flag}\``), flag);
    }
    assert.ok(tables.connect.includes('`REVERSE_PROXY_RESTART`'));
    assert.ok(tables.gateway.includes('`--check-config`'));
  });
});
