/**
 * `make bench`: every scenario and every extra measurement, in one run, on this machine;
 * prints a table and writes bench/results/latest.json. Never part of `make test`.
 * Sizes: config.ts (BENCH_QUICK=1 smoke, BENCH_FULL=1 long, BENCH_ONLY=a,b subset).
 */
import os from 'node:os';
import { stopAll } from '../test/helpers/system.js';
import { aggregate, measureRound, type RoundResult, type ScenarioOutcome } from './compare.js';
import { benchConfig, wanted } from './config.js';
import { runExtras } from './extras.js';
import { buildReport, formatReport, writeReport } from './report.js';
import { scenarioNames } from './scenarios.js';

async function main(): Promise<void> {
  const cfg = benchConfig();
  const load = os.loadavg();
  console.error(`bench: mode ${cfg.mode}, ${cfg.repeats} repeat(s), load ${load.map((l) => l.toFixed(2)).join(' ')}`);
  const names = scenarioNames().filter((n) => wanted(cfg, n));
  const rounds = new Map<string, RoundResult[]>(names.map((n) => [n, []]));
  const unavailable = new Map<string, string>();
  // Interleaved rounds (compare.ts): round r of every scenario, then round r + 1.
  for (let r = 0; r < cfg.repeats; r++) {
    for (const name of names) {
      if (unavailable.has(name)) continue;
      const t0 = Date.now();
      const o = await measureRound(name, cfg);
      if ('unavailable' in o) unavailable.set(name, o.unavailable);
      else rounds.get(name)!.push(o);
      console.error(`bench: round ${r + 1} ${name} ${'unavailable' in o ? `unavailable: ${o.unavailable}` : `p50 ${o.p50_ms.toFixed(3)} ms, conc ${o.conc_rps.toFixed(0)}/s`} (${Date.now() - t0} ms)`);
    }
  }
  const scenarios: Record<string, ScenarioOutcome> = {};
  for (const name of names) {
    const why = unavailable.get(name);
    scenarios[name] = why !== undefined ? { unavailable: why } : aggregate(rounds.get(name)!);
  }
  const extra = await runExtras(cfg, (line) => console.error(`bench: ${line}`));
  const report = buildReport(scenarios, extra, cfg.mode, load);
  const file = writeReport(report);
  console.log(formatReport(report));
  console.log(`\nwritten ${file}`);
}

main()
  .catch((err: unknown) => {
    console.error('bench failed:', err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    // SDK clients and undici keep sockets alive; everything is measured and stopped by now.
    setTimeout(() => process.exit(), 200).unref();
  });
