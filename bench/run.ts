/**
 * `make bench`: every scenario and every extra measurement, in one run, on this machine;
 * prints a table and writes bench/results/latest.json. Never part of `make test`.
 * Sizes: config.ts (BENCH_QUICK=1 smoke, BENCH_FULL=1 long, BENCH_ONLY=a,b subset).
 */
import os from 'node:os';
import { stopAll } from '../test/helpers/system.js';
import { runScenario, type ScenarioOutcome } from './compare.js';
import { benchConfig, wanted } from './config.js';
import { runExtras } from './extras.js';
import { buildReport, formatReport, writeReport } from './report.js';
import { SCENARIOS } from './scenarios.js';

async function main(): Promise<void> {
  const cfg = benchConfig();
  const load = os.loadavg();
  console.error(`bench: mode ${cfg.mode}, ${cfg.repeats} repeat(s), load ${load.map((l) => l.toFixed(2)).join(' ')}`);
  const scenarios: Record<string, ScenarioOutcome> = {};
  for (const name of SCENARIOS) {
    if (!wanted(cfg, name)) continue;
    const t0 = Date.now();
    scenarios[name] = await runScenario(name, cfg);
    const o = scenarios[name];
    console.error(`bench: ${name} ${'unavailable' in o ? `unavailable: ${o.unavailable}` : `p50 ${o.p50_ms} ms, conc ${o.conc_rps}/s`} (${Date.now() - t0} ms)`);
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
