/**
 * The expected-failures verdict for the scenarios the suite leaves out of its own. With
 * `--requirements`, the suite judges the baseline against the scored scenarios only, so an
 * unscored one (the tasks extension, pending scenarios) could regress, or start passing,
 * unnoticed. The same rules are applied here to those: an entry is `scenario` (the whole
 * scenario is expected to fail) or `scenario:check-id`; a FAILURE or WARNING not covered is
 * unexpected; a covered check whose worst status is SUCCESS, or a whole-scenario entry
 * with nothing failing, is stale.
 */
import { parse as parseYaml } from 'yaml';
import type { RunResult } from './results.js';

export interface Verdict {
  unexpected: string[];
  stale: string[];
}

/** The `server` entries of an expected-failures file. */
export function baselineEntries(text: string): string[] {
  const doc = parseYaml(text) as { server?: unknown } | null;
  const list = doc?.server ?? [];
  if (!Array.isArray(list) || list.some((e) => typeof e !== 'string')) throw new Error('expected-failures: `server` must be a list of strings');
  return list as string[];
}

export function judge(run: RunResult, entries: string[], include: (scenario: string, scored: boolean) => boolean): Verdict {
  const whole = new Set(entries.filter((e) => !e.includes(':')));
  const checks = new Set(entries.filter((e) => e.includes(':')));
  const verdict: Verdict = { unexpected: [], stale: [] };
  for (const r of run.scenarios) {
    if (!include(r.scenario, r.scored)) continue;
    const failing = [...r.worst].filter(([, s]) => s === 'FAILURE' || s === 'WARNING').map(([id]) => id);
    if (whole.has(r.scenario)) {
      if (failing.length === 0) verdict.stale.push(r.scenario);
      continue;
    }
    for (const id of failing) if (!checks.has(`${r.scenario}:${id}`)) verdict.unexpected.push(`${r.scenario}:${id}`);
    for (const [id, status] of r.worst) if (status === 'SUCCESS' && checks.has(`${r.scenario}:${id}`)) verdict.stale.push(`${r.scenario}:${id}`);
  }
  return verdict;
}
