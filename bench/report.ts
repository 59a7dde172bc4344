/**
 * The run's output: ratios computed from this run's own figures (absolute numbers are
 * not comparable across machines or runs), a printed table, and bench/results/latest.json
 * shaped { scenarios, extra, ratios, targets, env }.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../test/helpers/system.js';
import type { ScenarioOutcome, ScenarioResult } from './compare.js';
import { round } from './measure.js';

export type Extra = Record<string, unknown>;

export interface BenchReport {
  scenarios: Record<string, ScenarioOutcome>;
  extra: Extra;
  ratios: Record<string, number | null>;
  targets: Record<string, { value: number | null; target: string; met: boolean | null }>;
  env: { node: string; cpu: string; cores: number; date: string; mode: string; loadavg_start: number[] };
}

const ok = (o: ScenarioOutcome | undefined): ScenarioResult | undefined => (o && !('unavailable' in o) ? o : undefined);

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? round(a / b, 3) : null;
}

function num(extra: Extra, key: string): number | null {
  const v = extra[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const total = (c: { bridge: number; server: number; client: number }): number => c.bridge + c.server + c.client;

/**
 * On 2 cores conc32 is CPU-bound, so calls/s follow the CPU all processes spend per call in
 * that phase: supergateway's total over ours predicts the ratio, and supergateway's total
 * over our server + MCP client alone is the ratio a bridge costing nothing would reach —
 * the ceiling of the conc32 target on this machine (docs/performance.md "What bounds us").
 */
function conc32Bounds(t: ScenarioResult | undefined, sg: ScenarioResult | undefined): Record<string, number | null> {
  if (!t || !sg) return { 'tunnel-ws/supergateway-streamable-http conc_rps predicted by CPU/call': null, 'tunnel-ws/supergateway-streamable-http conc_rps ceiling (bridge at 0 CPU)': null };
  const a = t.cpu_conc_ms_per_call;
  const b = sg.cpu_conc_ms_per_call;
  return {
    'tunnel-ws/supergateway-streamable-http conc_rps predicted by CPU/call': ratio(total(b), total(a)),
    'tunnel-ws/supergateway-streamable-http conc_rps ceiling (bridge at 0 CPU)': ratio(total(b), a.server + a.client),
  };
}

export function buildReport(scenarios: Record<string, ScenarioOutcome>, extra: Extra, mode: string, loadavgStart: number[]): BenchReport {
  const s = (n: string): ScenarioResult | undefined => ok(scenarios[n]);
  const sgHttp = s('supergateway-streamable-http');
  const ratios: BenchReport['ratios'] = {
    'tunnel-ws/supergateway-streamable-http conc_rps': ratio(s('tunnel-ws')?.conc_rps, sgHttp?.conc_rps),
    'tunnel-sse/supergateway-streamable-http conc_rps': ratio(s('tunnel-sse')?.conc_rps, sgHttp?.conc_rps),
    'tunnel-poll/supergateway-streamable-http conc_rps': ratio(s('tunnel-poll')?.conc_rps, sgHttp?.conc_rps),
    'tunnel-ws-modern/tunnel-ws conc_rps': ratio(s('tunnel-ws-modern')?.conc_rps, s('tunnel-ws')?.conc_rps),
    'tunnel-ws-modern/tunnel-ws p50': ratio(s('tunnel-ws-modern')?.p50_ms, s('tunnel-ws')?.p50_ms),
    // The same wire without the SDK v2 client (bench/modern-fetch-client.ts): the gateway's modern front alone.
    'tunnel-ws-modern-fetch/tunnel-ws conc_rps': ratio(s('tunnel-ws-modern-fetch')?.conc_rps, s('tunnel-ws')?.conc_rps),
    'tunnel-ws-modern-fetch/tunnel-ws p50': ratio(s('tunnel-ws-modern-fetch')?.p50_ms, s('tunnel-ws')?.p50_ms),
    'tunnel-ws/supergateway-streamable-http bridge_cpu': ratio(s('tunnel-ws')?.cpu_ms_per_call.bridge, sgHttp?.cpu_ms_per_call.bridge),
    'tunnel-ws/direct-stdio server_cpu': ratio(s('tunnel-ws')?.cpu_ms_per_call.server, s('direct-stdio')?.cpu_ms_per_call.server),
    'tunnel-ws/direct-stdio conc_rps': ratio(s('tunnel-ws')?.conc_rps, s('direct-stdio')?.conc_rps),
    'tunnel-ws/direct-stdio p50': ratio(s('tunnel-ws')?.p50_ms, s('direct-stdio')?.p50_ms),
    'tunnel-ws/supergateway-streamable-http p50': ratio(s('tunnel-ws')?.p50_ms, sgHttp?.p50_ms),
    'tunnel-ws/supergateway-streamable-http rss': ratio(s('tunnel-ws')?.rss_mb, sgHttp?.rss_mb),
    // Per phase (compare.ts): the concurrent phase is CPU-bound, the sequential one is p50's critical path.
    'tunnel-ws/supergateway-streamable-http bridge_cpu conc': ratio(s('tunnel-ws')?.cpu_conc_ms_per_call.bridge, sgHttp?.cpu_conc_ms_per_call.bridge),
    'tunnel-ws conc server_cpu / direct-stdio seq server_cpu': ratio(s('tunnel-ws')?.cpu_conc_ms_per_call.server, s('direct-stdio')?.cpu_seq_ms_per_call.server),
    'tunnel-ws/direct-stdio server_cpu conc': ratio(s('tunnel-ws')?.cpu_conc_ms_per_call.server, s('direct-stdio')?.cpu_conc_ms_per_call.server),
    ...conc32Bounds(s('tunnel-ws'), sgHttp),
    'raw sse/ws frames_per_s': ratio(num(extra, 'raw_sse_frames_per_s'), num(extra, 'raw_ws_frames_per_s')),
    'raw poll/ws frames_per_s': ratio(num(extra, 'raw_poll_frames_per_s'), num(extra, 'raw_ws_frames_per_s')),
  };
  const target = (value: number | null, text: string, met: (v: number) => boolean): BenchReport['targets'][string] => ({
    value,
    target: text,
    met: value === null ? null : met(value),
  });
  const reconnectMs = num(extra, 'resume_reconnect_delay_ms');
  const targets: BenchReport['targets'] = {
    'tunnel-ws conc32 vs supergateway-streamable-http': target(ratios['tunnel-ws/supergateway-streamable-http conc_rps']!, '>= 2x', (v) => v >= 2),
    'tunnel-sse conc32 vs supergateway-streamable-http': target(ratios['tunnel-sse/supergateway-streamable-http conc_rps']!, '>= 1x', (v) => v >= 1),
    'tunnel-ws p50 vs supergateway-streamable-http': target(ratios['tunnel-ws/supergateway-streamable-http p50']!, '<= 0.8x', (v) => v <= 0.8),
    'tunnel-ws bridge CPU/call vs supergateway-streamable-http': target(ratios['tunnel-ws/supergateway-streamable-http bridge_cpu']!, '<= 0.5x', (v) => v <= 0.5),
    'tunnel-ws server CPU/call vs direct-stdio': target(ratios['tunnel-ws/direct-stdio server_cpu']!, '<= 1.5x', (v) => v <= 1.5),
    'tunnel-ws-modern conc32 vs tunnel-ws': target(ratios['tunnel-ws-modern/tunnel-ws conc_rps']!, '>= 1x', (v) => v >= 1),
    'gateway+client RSS vs one supergateway': target(ratios['tunnel-ws/supergateway-streamable-http rss']!, '<= 1x', (v) => v <= 1),
    'raw ws frames/s': target(num(extra, 'raw_ws_frames_per_s'), '>= 30000', (v) => v >= 30_000),
    'raw sse/ws': target(ratios['raw sse/ws frames_per_s']!, '>= 0.5', (v) => v >= 0.5),
    'raw poll/ws': target(ratios['raw poll/ws frames_per_s']!, '>= 0.2', (v) => v >= 0.2),
    'ws blocked: first call (ms)': target(num(extra, 'ws_blocked_first_call_ms'), '<= 1500 ms', (v) => v <= 1500),
    'resume after cut (ms)': target(
      num(extra, 'resume_after_cut_ms_ws'),
      `<= reconnect delay + 100 ms (${reconnectMs ?? '?'} + 100)`,
      (v) => reconnectMs !== null && v <= reconnectMs + 100,
    ),
  };
  return {
    scenarios,
    extra,
    ratios,
    targets,
    env: {
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      date: new Date().toISOString(),
      mode,
      loadavg_start: loadavgStart.map((x) => round(x, 2)),
    },
  };
}

export function writeReport(report: BenchReport, file = path.join(REPO, 'bench/results/latest.json')): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}

const pad = (v: unknown, w: number): string => String(v ?? '—').padStart(w);

/** Markdown-compatible table (pasted as is into docs/performance.md). */
export function formatReport(r: BenchReport): string {
  const lines = [
    `| scenario | p50 ms | p99 ms | seq req/s | conc32 req/s | bridge RSS MB | CPU ms/call bridge / server / client | seq phase | conc32 phase | bridge by process (conc32) |`,
    `|---|---:|---:|---:|---:|---:|---|---|---|---|`,
  ];
  for (const [name, o] of Object.entries(r.scenarios)) {
    if ('unavailable' in o) lines.push(`| ${name} | unavailable: ${o.unavailable.replace(/\|/g, '/').slice(0, 160)} | | | | | | | | |`);
    else {
      const g = (c: { bridge: number; server: number; client: number }): string => `${c.bridge} / ${c.server} / ${c.client}`;
      const parts = Object.entries(o.cpu_conc_ms_per_call.parts ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || '—';
      lines.push(
        `| ${name} | ${pad(o.p50_ms, 6)} | ${pad(o.p99_ms, 6)} | ${pad(o.seq_rps, 7)} | ${pad(o.conc_rps, 7)} | ${pad(o.rss_mb, 6)} | ${g(o.cpu_ms_per_call)} | ${g(o.cpu_seq_ms_per_call)} | ${g(o.cpu_conc_ms_per_call)} | ${parts} |`,
      );
    }
  }
  lines.push('', '| extra | value |', '|---|---:|');
  for (const [k, v] of Object.entries(r.extra)) if (typeof v !== 'object') lines.push(`| ${k} | ${String(v)} |`);
  lines.push('', '| ratio (this run) | value |', '|---|---:|');
  for (const [k, v] of Object.entries(r.ratios)) lines.push(`| ${k} | ${v ?? '—'} |`);
  lines.push('', '| target | value | goal | met |', '|---|---:|---|---|');
  for (const [k, t] of Object.entries(r.targets)) lines.push(`| ${k} | ${t.value ?? '—'} | ${t.target} | ${t.met === null ? 'n/a' : t.met ? 'yes' : 'NO'} |`);
  lines.push('', `node ${r.env.node}, ${r.env.cores} × ${r.env.cpu}, ${r.env.date}, mode ${r.env.mode}, load at start ${r.env.loadavg_start.join(' ')}`);
  return lines.join('\n');
}
