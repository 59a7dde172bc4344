/**
 * scripts/conformance/verdict.ts: the expected-failures verdict `make conformance` applies to
 * the scenarios the suite does not judge itself (with --requirements it judges scored ones only).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readRun, type Check } from '../../scripts/conformance/results.js';
import { baselineEntries, judge } from '../../scripts/conformance/verdict.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mrp-conformance-verdict-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(scenarios: Record<string, Partial<Check>[]>) {
  const outDir = path.join(dir, `run-${Math.random().toString(36).slice(2)}`);
  for (const [scenario, checks] of Object.entries(scenarios)) {
    const d = path.join(outDir, `server-${scenario}-2026-11-30T20-18-42-428Z`);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'checks.json'), JSON.stringify(checks));
  }
  const output = Object.keys(scenarios).map((s) => `=== Running scenario: ${s} ===`).join('\n');
  return readRun(outDir, output, (s) => s === 'scored-one');
}

const unscored = (_s: string, scored: boolean): boolean => !scored;

describe('judge (unscored scenarios against the baseline)', () => {
  const result = run({
    'scored-one': [{ id: 'x', status: 'FAILURE' }],
    'pending-headers': [
      { id: 'match', status: 'SUCCESS' },
      { id: 'match', status: 'FAILURE' },
      { id: 'reject', status: 'FAILURE' },
      { id: 'decode', status: 'SUCCESS' },
      { id: 'note', status: 'INFO' },
    ],
    'tasks-lifecycle': [{ id: 'a', status: 'FAILURE' }, { id: 'b', status: 'SUCCESS' }],
    'tasks-notifications': [{ id: 'c', status: 'SKIPPED' }],
  });

  test('a failure or warning not in the baseline is unexpected; scored scenarios are left to the suite', () => {
    const v = judge(result, ['pending-headers:match', 'tasks-lifecycle'], unscored);
    assert.deepEqual(v, { unexpected: ['pending-headers:reject'], stale: [] });
  });

  test('a check is judged by its worst status: SUCCESS then FAILURE under one id still fails', () => {
    const v = judge(result, ['pending-headers:match', 'pending-headers:reject', 'tasks-lifecycle'], unscored);
    assert.deepEqual(v, { unexpected: [], stale: [] });
  });

  test('an entry whose check passes, or a whole scenario with nothing failing, is stale', () => {
    const v = judge(result, ['pending-headers:match', 'pending-headers:reject', 'pending-headers:decode', 'tasks-lifecycle', 'tasks-notifications'], unscored);
    assert.deepEqual(v, { unexpected: [], stale: ['pending-headers:decode', 'tasks-notifications'] });
  });

  test('baseline entries are read as the suite reads them', () => {
    assert.deepEqual(baselineEntries('# c\nserver:\n  - a:b # why\n  - c\n'), ['a:b', 'c']);
    assert.deepEqual(baselineEntries('server: []\n'), []);
    assert.throws(() => baselineEntries('server:\n  - a: b\n'), /list of strings/);
  });
});
