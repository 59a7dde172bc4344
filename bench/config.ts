/**
 * Sizes of one bench run (`repeats` = interleaved rounds, compare.ts). Default: a few
 * minutes on 2 cores. BENCH_QUICK=1: a smoke run (small N, one round) that checks every
 * scenario works. BENCH_FULL=1: larger N for steadier figures. BENCH_ONLY=name,name
 * limits the run to some scenarios/extras.
 */
export interface BenchConfig {
  mode: 'quick' | 'default' | 'full';
  repeats: number;
  warmupCalls: number;
  seqCalls: number;
  concCalls: number;
  concurrency: number;
  /** Frames per raw-tunnel measurement, and the window of frames in flight. */
  rawFrames: number;
  rawWindow: number;
  replayFrames: number;
  /** Cuts per transport in the resume-after-cut measurement. */
  resumeRounds: number;
  /** Reconnect delay given to the tunnel client for the resume-after-cut measurement (s). */
  reconnectDelayS: number;
  only: Set<string> | undefined;
}

export function benchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const only = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',').map((s) => s.trim())) : undefined;
  const common = { concurrency: 32, rawWindow: 1000, replayFrames: 10_000, reconnectDelayS: 0.25, resumeRounds: env.BENCH_FULL === '1' ? 15 : env.BENCH_QUICK === '1' ? 3 : 7, only };
  if (env.BENCH_QUICK === '1') {
    return { ...common, mode: 'quick', repeats: 1, warmupCalls: 50, seqCalls: 100, concCalls: 320, rawFrames: 5_000 };
  }
  if (env.BENCH_FULL === '1') {
    return { ...common, mode: 'full', repeats: 3, warmupCalls: 1_000, seqCalls: 5_000, concCalls: 16_000, rawFrames: 100_000 };
  }
  return { ...common, mode: 'default', repeats: 3, warmupCalls: 200, seqCalls: 500, concCalls: 1_600, rawFrames: 20_000 };
}

export const wanted = (cfg: BenchConfig, name: string): boolean => !cfg.only || cfg.only.has(name);
