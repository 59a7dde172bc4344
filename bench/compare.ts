/**
 * The scenario comparison, in rounds: each round starts every scenario afresh, warms it
 * up, measures sequential latency and throughput at concurrency 32 once, reads the bridge's
 * RSS and CPU, and stops it; then the next scenario. Rounds *interleave* the scenarios
 * (round 1 of all, then round 2 of all, ...) so that a burst of load from something else on
 * the machine hits every scenario alike instead of one scenario's three repeats; the
 * reported figures are the medians over the rounds. A scenario that cannot start or fails
 * is reported "unavailable: <reason>" and skipped in later rounds.
 */
import assert from 'node:assert/strict';
import { firstText } from '../test/helpers/system.js';
import type { BenchConfig } from './config.js';
import { concurrent, median, round, sequential, withDeadline, type Call } from './measure.js';
import { cpuPerCall, cpuSnapshot, type CpuSnapshot } from './cpu.js';
import { sampleRss } from './rss.js';
import { SERVER_CMD, start, type ScenarioName } from './scenarios.js';

export interface RoundResult {
  p50_ms: number;
  p99_ms: number;
  seq_rps: number;
  conc_rps: number;
  hwmMb: number | null;
  sampledPeakMb: number | null;
  counted: string[];
  cpu: CpuSnapshot;
  cpuSeq: CpuSnapshot;
  cpuConc: CpuSnapshot;
}

export interface ScenarioResult {
  p50_ms: number;
  p99_ms: number;
  seq_rps: number;
  conc_rps: number;
  /** Highest (over rounds) sum of VmHWM of the bridge processes (see rss.ts); null without a bridge. */
  rss_mb: number | null;
  rss_sampled_peak_mb: number | null;
  rss_counted: string[];
  /** CPU milliseconds per measured call in each group (median over rounds), both phases together. */
  cpu_ms_per_call: CpuSnapshot;
  /**
   * The same per phase: sequential (every process wakes for every call: the critical path
   * of p50) and concurrency 32 (CPU-bound on 2 cores: what bounds conc32 calls/s).
   */
  cpu_seq_ms_per_call: CpuSnapshot;
  cpu_conc_ms_per_call: CpuSnapshot;
  runs: Array<{ p50_ms: number; p99_ms: number; seq_rps: number; conc_rps: number }>;
}

export type Unavailable = { unavailable: string };
export type ScenarioOutcome = ScenarioResult | Unavailable;

/** One round of one scenario: start, warm up, measure, stop. */
export async function measureRound(name: ScenarioName, cfg: BenchConfig): Promise<RoundResult | Unavailable> {
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
    const budget = 120_000 + (cfg.warmupCalls * 2 + cfg.seqCalls + cfg.concCalls) * 20;
    return await withDeadline(
      (async (): Promise<RoundResult> => {
        await sequential(call, cfg.warmupCalls);
        await concurrent(call, cfg.warmupCalls, cfg.concurrency);
        const before = cpuSnapshot(running.roots, SERVER_CMD);
        const seq = await sequential(call, cfg.seqCalls);
        const between = cpuSnapshot(running.roots, SERVER_CMD);
        const conc_rps = await concurrent(call, cfg.concCalls, cfg.concurrency);
        const after = cpuSnapshot(running.roots, SERVER_CMD);
        const cpu = cpuPerCall(before, after, cfg.seqCalls + cfg.concCalls);
        const cpuSeq = cpuPerCall(before, between, cfg.seqCalls);
        const cpuConc = cpuPerCall(between, after, cfg.concCalls);
        const reading = rss.stop();
        const bridge = running.roots.length > 0;
        return {
          ...seq,
          conc_rps,
          hwmMb: bridge ? reading.hwmMb : null,
          sampledPeakMb: bridge ? reading.sampledPeakMb : null,
          counted: reading.counted.map((p) => shortCmd(p.cmd)),
          cpu,
          cpuSeq,
          cpuConc,
        };
      })(),
      budget,
      `measuring ${name}`,
    );
  } catch (err) {
    rss.stop();
    return { unavailable: (err as Error).message };
  } finally {
    await running.stop().catch(() => undefined);
  }
}

/** Median of each group (and bridge process) over the rounds. */
function medCpu(cpus: CpuSnapshot[]): CpuSnapshot {
  const m = (f: (c: CpuSnapshot) => number): number => round(median(cpus.map(f)), 3);
  const parts: Record<string, number> = {};
  for (const k of Object.keys(cpus[0]?.parts ?? {})) parts[k] = m((c) => c.parts?.[k] ?? NaN);
  return { bridge: m((c) => c.bridge), server: m((c) => c.server), client: m((c) => c.client), parts };
}

/** Medians over the rounds (RSS: the highest round, it is a peak). */
export function aggregate(rounds: RoundResult[]): ScenarioResult {
  const med = (f: (r: RoundResult) => number): number => median(rounds.map(f));
  const max = (f: (r: RoundResult) => number | null): number | null => {
    const v = rounds.map(f).filter((x): x is number => x !== null);
    return v.length ? round(Math.max(...v), 1) : null;
  };
  return {
    p50_ms: round(med((r) => r.p50_ms), 3),
    p99_ms: round(med((r) => r.p99_ms), 3),
    seq_rps: round(med((r) => r.seq_rps), 0),
    conc_rps: round(med((r) => r.conc_rps), 0),
    rss_mb: max((r) => r.hwmMb),
    rss_sampled_peak_mb: max((r) => r.sampledPeakMb),
    rss_counted: rounds[rounds.length - 1]?.counted ?? [],
    cpu_ms_per_call: medCpu(rounds.map((r) => r.cpu)),
    cpu_seq_ms_per_call: medCpu(rounds.map((r) => r.cpuSeq)),
    cpu_conc_ms_per_call: medCpu(rounds.map((r) => r.cpuConc)),
    runs: rounds.map((r) => ({ p50_ms: round(r.p50_ms, 3), p99_ms: round(r.p99_ms, 3), seq_rps: round(r.seq_rps, 0), conc_rps: round(r.conc_rps, 0) })),
  };
}

/** `node …/dist/cli/main.js gateway --no-auth` → `main.js gateway --no-auth` (for the report). */
function shortCmd(cmd: string): string {
  return cmd
    .split(' ')
    .map((w) => (w.includes('/') ? w.slice(w.lastIndexOf('/') + 1) : w))
    .join(' ')
    .slice(0, 120);
}
