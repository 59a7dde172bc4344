/**
 * One scenario from start to stop: warm up, then `repeats` × (sequential latency,
 * throughput at concurrency 32), RSS of the bridge sampled all along; medians reported.
 * A scenario that cannot start or fails mid-way is reported "unavailable: <reason>".
 */
import assert from 'node:assert/strict';
import { firstText } from '../test/helpers/system.js';
import type { BenchConfig } from './config.js';
import { concurrent, median, round, sequential, withDeadline, type Call } from './measure.js';
import { cpuPerCall, cpuSnapshot, type CpuSnapshot } from './cpu.js';
import { sampleRss } from './rss.js';
import { SERVER_CMD, start, type ScenarioName } from './scenarios.js';

export interface ScenarioResult {
  p50_ms: number;
  p99_ms: number;
  seq_rps: number;
  conc_rps: number;
  /** Sum of VmHWM of the bridge processes (see rss.ts); null when there is no bridge. */
  rss_mb: number | null;
  rss_sampled_peak_mb: number | null;
  rss_counted: string[];
  /** CPU milliseconds per call (all measured calls, sequential and concurrent) in each group. */
  cpu_ms_per_call: CpuSnapshot;
  runs: Array<{ p50_ms: number; p99_ms: number; seq_rps: number; conc_rps: number }>;
}

export type ScenarioOutcome = ScenarioResult | { unavailable: string };

export async function runScenario(name: ScenarioName, cfg: BenchConfig): Promise<ScenarioOutcome> {
  let running;
  try {
    running = await withDeadline(start(name), 60_000, `starting ${name}`);
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
  const rss = sampleRss(running.roots, SERVER_CMD);
  const { client } = running;
  const call: Call = async () => {
    await client.callTool({ name: 'echo', arguments: { message: 'bench' } });
  };
  try {
    // Correctness first: the echo must really go through.
    assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { message: 'bench' } })), 'Echo: bench');
    const budget = 120_000 + (cfg.seqCalls + cfg.concCalls) * cfg.repeats * 20;
    let cpu: CpuSnapshot | undefined;
    const runs = await withDeadline(
      (async () => {
        await sequential(call, cfg.warmupCalls);
        await concurrent(call, cfg.warmupCalls, cfg.concurrency);
        const before = cpuSnapshot(running.roots, SERVER_CMD);
        const out: ScenarioResult['runs'] = [];
        for (let r = 0; r < cfg.repeats; r++) {
          const seq = await sequential(call, cfg.seqCalls);
          const conc_rps = await concurrent(call, cfg.concCalls, cfg.concurrency);
          out.push({ ...seq, conc_rps });
        }
        cpu = cpuPerCall(before, cpuSnapshot(running.roots, SERVER_CMD), cfg.repeats * (cfg.seqCalls + cfg.concCalls));
        return out;
      })(),
      budget,
      `measuring ${name}`,
    );
    const reading = rss.stop();
    const hasBridge = running.roots.length > 0;
    return {
      p50_ms: round(median(runs.map((r) => r.p50_ms)), 3),
      p99_ms: round(median(runs.map((r) => r.p99_ms)), 3),
      seq_rps: round(median(runs.map((r) => r.seq_rps)), 0),
      conc_rps: round(median(runs.map((r) => r.conc_rps)), 0),
      rss_mb: hasBridge ? round(reading.hwmMb, 1) : null,
      rss_sampled_peak_mb: hasBridge ? round(reading.sampledPeakMb, 1) : null,
      rss_counted: reading.counted.map((p) => shortCmd(p.cmd)),
      cpu_ms_per_call: cpu!,
      runs: runs.map((r) => ({ p50_ms: round(r.p50_ms, 3), p99_ms: round(r.p99_ms, 3), seq_rps: round(r.seq_rps, 0), conc_rps: round(r.conc_rps, 0) })),
    };
  } catch (err) {
    rss.stop();
    return { unavailable: (err as Error).message };
  } finally {
    await running.stop().catch(() => undefined);
  }
}

/** `node …/dist/cli/main.js gateway --no-auth` → `main.js gateway --no-auth` (for the report). */
function shortCmd(cmd: string): string {
  return cmd
    .split(' ')
    .map((w) => (w.includes('/') ? w.slice(w.lastIndexOf('/') + 1) : w))
    .join(' ')
    .slice(0, 120);
}
