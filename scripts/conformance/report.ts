/**
 * What `make conformance` prints and writes: the failing-check table, the closing line, and
 * expected-failures baselines in the suite's own YAML format (`--expected-failures`).
 */
import type { Failure, RunResult } from './results.js';
import { ratio, SCENARIO_ERROR } from './results.js';

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** One row per failing check: scenario, check id, message. */
export function failureTable(failures: Failure[], width = 150): string[] {
  if (failures.length === 0) return [];
  const s = Math.max(...failures.map((f) => f.scenario.length));
  const i = Math.max(...failures.map((f) => f.id.length));
  return failures.map((f) => clip(`  ${f.scenario.padEnd(s)}  ${f.id.padEnd(i)}  ${f.message}`, width));
}

/** One row per scenario with failures: counts and its first failure message (for long baselined runs). */
export function scenarioDigest(run: RunResult, width = 150): string[] {
  const rows: string[] = [];
  const s = Math.max(0, ...run.scenarios.map((r) => r.scenario.length));
  for (const r of run.scenarios) {
    if (r.failed === 0) continue;
    const first = run.failures.find((f) => f.scenario === r.scenario);
    const tag = r.scored ? '' : ' (not scored)';
    rows.push(clip(`  ${r.scenario.padEnd(s)}  ${r.passed}/${r.passed + r.failed}${tag}  ${first?.id}: ${first?.message}`, width));
  }
  return rows;
}

export function closingLine(legacy: RunResult, modern: RunResult): string {
  return `conformance legacy: ${ratio(legacy.scored)} passed; modern: ${ratio(modern.scored)} passed`;
}

/** What a baseline says beyond its entries: each entry's reason comment, and which scenarios it lists whole. */
export interface BaselineNotes {
  reasons: Map<string, string>;
  whole: Set<string>;
}

const ENTRY = /^\s*-\s+([^\s#]+)(?:\s+#\s?(.*))?$/;

/** The reasons and whole-scenario entries of an existing baseline (so regenerating it keeps them). */
export function readBaselineNotes(text: string): BaselineNotes {
  const notes: BaselineNotes = { reasons: new Map(), whole: new Set() };
  for (const line of text.split('\n')) {
    const m = ENTRY.exec(line);
    if (!m) continue;
    if (m[2] !== undefined) notes.reasons.set(m[1]!, m[2].trim());
    if (!m[1]!.includes(':')) notes.whole.add(m[1]!);
  }
  return notes;
}

/**
 * An expected-failures baseline for the suite: a scenario that failed to run is listed
 * whole; otherwise each failing check as `scenario:check-id` (the suite excuses only that
 * check, so any other failure in the scenario is still a regression), with its message as
 * a comment so that whoever shrinks the baseline sees what each entry stands for. WARNING
 * checks are listed too: the suite's per-check verdict counts a warning as not passing.
 * With the `previous` baseline's notes, an entry keeps its reason comment, and a scenario
 * listed whole there stays whole while it still fails.
 */
export function baselineYaml(run: RunResult, header: string[], previous?: BaselineNotes): string {
  const lines = header.map((h) => (h ? `# ${h}` : '#'));
  lines.push('server:');
  const seen = new Set<string>();
  let entries = 0;
  const entry = (key: string, fallback: string): void => {
    lines.push(`  - ${key} # ${previous?.reasons.get(key) ?? fallback}`);
    entries++;
  };
  for (const r of run.scenarios) {
    const failures = run.failures.filter((f) => f.scenario === r.scenario);
    const warned = run.warned.filter((f) => f.scenario === r.scenario);
    if (failures.length + warned.length === 0) continue;
    lines.push(`  # ${r.scenario}${r.scored ? '' : ' (not scored by the requirement set)'}`);
    const whole = failures.find((f) => f.id === SCENARIO_ERROR);
    if (whole || previous?.whole.has(r.scenario)) {
      const first = whole ?? failures[0] ?? warned[0]!;
      entry(r.scenario, `${whole ? 'failed to run: ' : ''}${clip(first.message, 100)}`);
      continue;
    }
    for (const [f, tag] of [...failures.map((f) => [f, ''] as const), ...warned.map((f) => [f, '(warning) '] as const)]) {
      const key = `${f.scenario}:${f.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      entry(key, `${tag}${clip(f.message, 100)}`);
    }
  }
  if (entries === 0) lines[lines.length - 1] = 'server: []';
  return `${lines.join('\n')}\n`;
}
