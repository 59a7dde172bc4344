/**
 * scripts/conformance: reading a conformance-suite run back (counts, failures, scenarios that
 * threw before writing checks.json) and writing the expected-failures baseline and the
 * closing line that `make conformance` ends with.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { baselineYaml, closingLine, failureTable, readBaselineNotes } from '../../scripts/conformance/report.js';
import { readRun, SCENARIO_ERROR, startedScenarios, type Check } from '../../scripts/conformance/results.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mrp-conformance-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeScenario(outDir: string, scenario: string, checks: Partial<Check>[]): void {
  const d = path.join(outDir, `server-${scenario}-2026-11-30T20-18-42-428Z`);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, 'checks.json'), JSON.stringify(checks));
}

const ok = (id: string): Partial<Check> => ({ id, status: 'SUCCESS', description: 'fine' });
const bad = (id: string, errorMessage: string): Partial<Check> => ({ id, status: 'FAILURE', errorMessage });

function fixtureRun(name: string): { outDir: string; output: string } {
  const outDir = path.join(dir, name);
  writeScenario(outDir, 'tools-list', [ok('tools-list'), { id: 'outgoing-request', status: 'INFO' }]);
  writeScenario(outDir, 'server-stateless', [
    ok('a'),
    bad('sep-2575-http-server-error-jsonrpc-id', 'Expected error response id 101,\n got null'),
    bad('sep-2575-http-server-error-jsonrpc-id', 'Expected error response id 102, got null'),
    { id: 'sep-2575-server-identifies-in-result-meta', status: 'WARNING', errorMessage: 'No serverInfo' },
    { id: 'skipped-one', status: 'SKIPPED' },
  ]);
  writeScenario(outDir, 'tasks-lifecycle', [bad('tasks-sync-tool-call', 'Bad Request')]);
  const output = [
    '=== Running scenario: tools-list ===',
    '=== Running scenario: server-stateless ===',
    '=== Running scenario: tasks-capability-negotiation ===',
    'Failed to run scenario tasks-capability-negotiation: Et [JsonRpcError]: Bad Request: no Mcp-Session-Id header',
    '    at l (file:///x/index.js:1:1)',
    '=== Running scenario: tasks-lifecycle ===',
    '=== Running scenario: never-finished ===',
  ].join('\n');
  return { outDir, output };
}

describe('readRun', () => {
  test('counts SUCCESS as passed and FAILURE as failed; INFO and SKIPPED count in neither; WARNING apart', () => {
    const { outDir, output } = fixtureRun('counts');
    const run = readRun(outDir, output);
    assert.deepEqual(
      run.scenarios.map((s) => [s.scenario, s.passed, s.failed, s.warnings]),
      [
        ['tools-list', 1, 0, 0],
        ['server-stateless', 1, 2, 1],
        ['tasks-capability-negotiation', 0, 1, 0],
        ['tasks-lifecycle', 0, 1, 0],
        ['never-finished', 0, 1, 0],
      ],
    );
    assert.deepEqual(run.scored, { passed: 2, failed: 5 });
    assert.deepEqual(run.notScored, { passed: 0, failed: 0 });
    assert.equal(run.warnings, 1);
    assert.deepEqual(run.warned.map((w) => w.id), ['sep-2575-server-identifies-in-result-meta']);
  });

  test('a scenario that threw before writing checks.json is one failure carrying the suite\'s error line', () => {
    const { outDir, output } = fixtureRun('errors');
    const run = readRun(outDir, output);
    const threw = run.failures.filter((f) => f.id === SCENARIO_ERROR);
    assert.deepEqual(threw.map((f) => [f.scenario, f.message]), [
      ['tasks-capability-negotiation', 'Et [JsonRpcError]: Bad Request: no Mcp-Session-Id header'],
      ['never-finished', 'the scenario wrote no checks.json'],
    ]);
    assert.equal(run.failures.find((f) => f.id === 'sep-2575-http-server-error-jsonrpc-id')!.message, 'Expected error response id 101, got null');
  });

  test('scenarios outside the scored set count apart from the closing-line numbers', () => {
    const { outDir, output } = fixtureRun('scored');
    const run = readRun(outDir, output, (s) => !s.startsWith('tasks-'));
    assert.deepEqual(run.scored, { passed: 2, failed: 3 });
    assert.deepEqual(run.notScored, { passed: 0, failed: 2 });
    assert.equal(run.scenarios.find((s) => s.scenario === 'tasks-lifecycle')!.scored, false);
  });

  test('a missing output directory reads as every started scenario failing', () => {
    const run = readRun(path.join(dir, 'nothing-here'), '=== Running scenario: ping ===\n');
    assert.deepEqual(run.scored, { passed: 0, failed: 1 });
    assert.deepEqual(startedScenarios('x\n=== Running scenario: ping ===\n=== Running scenario: ping ===\n'), ['ping']);
  });
});

describe('report', () => {
  test('the baseline lists each failing or warning check once, a scenario that threw whole, and parses as the suite reads it', () => {
    const { outDir, output } = fixtureRun('baseline');
    const text = baselineYaml(readRun(outDir, output), ['header line']);
    assert.match(text, /^# header line\n/);
    const parsed = parseYaml(text) as { server: string[] };
    assert.deepEqual(parsed.server, [
      'server-stateless:sep-2575-http-server-error-jsonrpc-id',
      'server-stateless:sep-2575-server-identifies-in-result-meta',
      'tasks-capability-negotiation',
      'tasks-lifecycle:tasks-sync-tool-call',
      'never-finished',
    ]);
    assert.match(text, /- server-stateless:sep-2575-server-identifies-in-result-meta # \(warning\) No serverInfo/);
  });

  test('regenerating keeps each entry\'s reason and the scenarios listed whole while they still fail', () => {
    const { outDir, output } = fixtureRun('regenerate');
    const previous = readBaselineNotes(
      [
        'server:',
        '  # server-stateless',
        '  - server-stateless:sep-2575-http-server-error-jsonrpc-id # (b) the gateway says id null',
        '  - tasks-lifecycle # (d) the tasks extension is not offered',
        '  - tools-list # (c) listed whole but passing now: dropped',
      ].join('\n'),
    );
    const text = baselineYaml(readRun(outDir, output), [], previous);
    assert.deepEqual((parseYaml(text) as { server: string[] }).server, [
      'server-stateless:sep-2575-http-server-error-jsonrpc-id',
      'server-stateless:sep-2575-server-identifies-in-result-meta',
      'tasks-capability-negotiation',
      'tasks-lifecycle',
      'never-finished',
    ]);
    assert.match(text, /- server-stateless:sep-2575-http-server-error-jsonrpc-id # \(b\) the gateway says id null\n/);
    assert.match(text, /- tasks-lifecycle # \(d\) the tasks extension is not offered\n/);
    assert.match(text, /- server-stateless:sep-2575-server-identifies-in-result-meta # \(warning\) No serverInfo\n/);
  });

  test('a run without failures gives an empty baseline', () => {
    const outDir = path.join(dir, 'clean');
    writeScenario(outDir, 'ping', [ok('ping')]);
    const parsed = parseYaml(baselineYaml(readRun(outDir, '=== Running scenario: ping ==='), [])) as { server: string[] };
    assert.deepEqual(parsed.server, []);
  });

  test('the closing line and the failure table', () => {
    const { outDir, output } = fixtureRun('line');
    const legacy = readRun(outDir, output);
    const modern = readRun(outDir, output, (s) => s === 'tools-list');
    assert.equal(closingLine(legacy, modern), 'conformance legacy: 2/7 passed; modern: 1/1 passed');
    const table = failureTable(legacy.failures);
    assert.equal(table.length, legacy.failures.length);
    assert.match(table[0]!, /^ {2}server-stateless +sep-2575-http-server-error-jsonrpc-id +Expected error response id 101, got null$/);
  });
});
