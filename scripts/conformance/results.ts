/**
 * One run of the official MCP conformance suite, read back from what it leaves behind: its
 * output (stdout says which scenarios it started, stderr which threw before writing
 * anything) and its output directory (`server-<scenario>-<timestamp>/checks.json`, one per scenario).
 *
 * Counting follows the suite's own summary: a SUCCESS check passes, a FAILURE check fails,
 * WARNING/INFO/SKIPPED count in neither; a scenario that threw before writing checks.json
 * counts as one failed check (the suite counts it so too).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';

export interface Check {
  id: string;
  name?: string;
  status: CheckStatus;
  description?: string;
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  /** Counts toward the run's P/N (false: the suite runs it but its requirement set does not score it). */
  scored: boolean;
  passed: number;
  failed: number;
  warnings: number;
  /** Each check id's worst status (FAILURE > WARNING > SUCCESS > SKIPPED; INFO left out), as the suite judges a baseline. */
  worst: Map<string, CheckStatus>;
  /** Why the scenario produced no checks.json, when it did not. */
  error?: string;
}

export interface Failure {
  scenario: string;
  id: string;
  message: string;
  scored: boolean;
}

/** A WARNING check: neither passed nor failed, but the suite's per-check baseline treats it as not passing. */
export type Warning = Failure;

export interface Tally {
  passed: number;
  failed: number;
}

export interface RunResult {
  scenarios: ScenarioResult[];
  failures: Failure[];
  warned: Warning[];
  /** Checks of scored scenarios: the numbers in the closing line. */
  scored: Tally;
  /** Checks of scenarios that ran but are not scored (extension, pending). */
  notScored: Tally;
  warnings: number;
}

/** The id an unfinished scenario's failure is reported under (not a suite check id). */
export const SCENARIO_ERROR = 'scenario-error';

const RUNNING = /^=== Running scenario: (\S+) ===$/;
const FAILED_TO_RUN = /^Failed to run scenario (\S+): (.*)$/;
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/;

/** The scenarios a run started, in order, from the suite's output. */
export function startedScenarios(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split('\n')) {
    const m = RUNNING.exec(line.trim());
    if (m && !names.includes(m[1]!)) names.push(m[1]!);
  }
  return names;
}

function runErrors(output: string): Map<string, string> {
  const errors = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = FAILED_TO_RUN.exec(line.trim());
    if (m && !errors.has(m[1]!)) errors.set(m[1]!, m[2]!);
  }
  return errors;
}

function checksByScenario(outDir: string): Map<string, Check[]> {
  const found = new Map<string, Check[]>();
  if (!existsSync(outDir)) return found;
  for (const entry of readdirSync(outDir).sort()) {
    const scenario = RESULT_DIR.exec(entry)?.[1];
    const file = path.join(outDir, entry, 'checks.json');
    if (!scenario || !existsSync(file)) continue;
    const checks = JSON.parse(readFileSync(file, 'utf8')) as Check[];
    found.set(scenario, [...(found.get(scenario) ?? []), ...checks]);
  }
  return found;
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();
const SEVERITY: Readonly<Record<CheckStatus, number>> = { FAILURE: 3, WARNING: 2, SUCCESS: 1, SKIPPED: 0, INFO: 0 };

/**
 * Read a finished run from its output (stdout and stderr) and directory. `isScored` decides which scenarios count toward `scored` (default:
 * all). Scenarios found in the output directory but not in stdout are read as well.
 */
export function readRun(outDir: string, output: string, isScored: (scenario: string) => boolean = () => true): RunResult {
  const checks = checksByScenario(outDir);
  const errors = runErrors(output);
  const names = [...startedScenarios(output)];
  for (const name of checks.keys()) if (!names.includes(name)) names.push(name);

  const run: RunResult = { scenarios: [], failures: [], warned: [], scored: { passed: 0, failed: 0 }, notScored: { passed: 0, failed: 0 }, warnings: 0 };
  for (const scenario of names) {
    const scored = isScored(scenario);
    const list = checks.get(scenario);
    const result: ScenarioResult = { scenario, scored, passed: 0, failed: 0, warnings: 0, worst: new Map() };
    if (list === undefined) {
      result.failed = 1;
      result.worst.set(SCENARIO_ERROR, 'FAILURE');
      result.error = oneLine(errors.get(scenario) ?? 'the scenario wrote no checks.json');
      run.failures.push({ scenario, id: SCENARIO_ERROR, message: result.error, scored });
    } else {
      for (const c of list) {
        const was = result.worst.get(c.id);
        if (c.status !== 'INFO' && (was === undefined || SEVERITY[c.status] >= SEVERITY[was])) result.worst.set(c.id, c.status);
        if (c.status === 'SUCCESS') result.passed++;
        else if (c.status === 'WARNING') {
          result.warnings++;
          run.warned.push({ scenario, id: c.id, message: oneLine(c.errorMessage ?? c.description ?? ''), scored });
        } else if (c.status === 'FAILURE') {
          result.failed++;
          run.failures.push({ scenario, id: c.id, message: oneLine(c.errorMessage ?? c.description ?? ''), scored });
        }
      }
    }
    const tally = scored ? run.scored : run.notScored;
    tally.passed += result.passed;
    tally.failed += result.failed;
    run.warnings += result.warnings;
    run.scenarios.push(result);
  }
  return run;
}

/** "P/N": passed out of passed + failed. */
export const ratio = (t: Tally): string => `${t.passed}/${t.passed + t.failed}`;
