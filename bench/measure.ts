/**
 * Timing primitives: sequential latency (p50/p99, calls/s) and throughput at a fixed
 * concurrency. A "call" is whatever the scenario passes in (an MCP `tools/call echo`).
 *
 * Concurrency model (the same for every scenario): ONE MCP client with `concurrency`
 * calls in flight at all times (32 workers, each awaiting its call and starting the next).
 * One client because supergateway's stateful Streamable HTTP mode spawns one MCP server
 * per client session, and its SSE mode shares one server between sessions without
 * rewriting ids — 32 clients would measure 32 servers or id collisions, not the bridge.
 */

export type Call = () => Promise<void>;

export interface SeqResult {
  p50_ms: number;
  p99_ms: number;
  seq_rps: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest-rank: the smallest value with at least p % of the samples at or below it.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** `n` calls one after the other. */
export async function sequential(call: Call, n: number): Promise<SeqResult> {
  const lat = new Array<number>(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await call();
    lat[i] = performance.now() - s;
  }
  const total = performance.now() - t0;
  lat.sort((a, b) => a - b);
  return { p50_ms: percentile(lat, 50), p99_ms: percentile(lat, 99), seq_rps: (n / total) * 1000 };
}

/** `n` calls in total, `concurrency` in flight; returns calls per second. */
export async function concurrent(call: Call, n: number, concurrency: number): Promise<number> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < n) {
      started++;
      await call();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return (n / (performance.now() - t0)) * 1000;
}

/** Run `fn` with a deadline; rejects with `what` when it passes. */
export async function withDeadline<T>(fn: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
