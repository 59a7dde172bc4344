/**
 * The measurements beside the scenario table: raw tunnel frames/s and replay time per
 * transport (raw-tunnel.ts), resume after a cut (resume.ts), first call with WebSockets
 * blocked (ws-blocked.ts). Each one that cannot run is recorded as
 * `<key>_unavailable: <reason>` instead of failing the run.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../test/helpers/system.js';
import type { TransportKind } from '../src/transport/transport.js';
import type { BenchConfig } from './config.js';
import { wanted } from './config.js';
import { median, round } from './measure.js';
import type { Extra } from './report.js';
import { resumeAfterCut } from './resume.js';
import { timeToFirstCall } from './ws-blocked.js';
import { idleCapacity, replicaCurve } from './scale.js';

const KINDS: TransportKind[] = ['ws', 'sse', 'poll'];

async function attempt(extra: Extra, key: string, log: (l: string) => void, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    extra[`${key}_unavailable`] = (err as Error).message.slice(0, 300);
    log(`${key} unavailable: ${(err as Error).message}`);
  }
}

export async function runExtras(cfg: BenchConfig, log: (line: string) => void): Promise<Extra> {
  const extra: Extra = {};
  if (wanted(cfg, 'raw')) {
    for (const kind of KINDS) {
      await attempt(extra, `raw_${kind}`, log, async () => {
        const r = await rawInChild(kind, cfg);
        extra[`raw_${kind}_frames_per_s`] = round(median(r.framesPerSecond), 0);
        extra[`raw_${kind}_runs`] = r.framesPerSecond.map((x) => round(x, 0));
        extra[`replay_${cfg.replayFrames}_frames_ms_${kind}`] = round(median(r.replayMs), 1);
        log(`raw ${kind}: ${round(median(r.framesPerSecond), 0)} frames/s; replay of ${cfg.replayFrames} frames ${round(median(r.replayMs), 1)} ms`);
      });
    }
  }
  if (wanted(cfg, 'resume')) {
    extra.resume_reconnect_delay_ms = cfg.reconnectDelayS * 1000;
    for (const kind of KINDS) {
      await attempt(extra, `resume_after_cut_${kind}`, log, async () => {
        const r = await resumeAfterCut(kind, cfg.reconnectDelayS, cfg.resumeRounds);
        extra[`resume_after_cut_ms_${kind}`] = r.medianMs;
        extra[`resume_after_cut_runs_${kind}`] = r.runsMs;
        extra[`resume_after_cut_stalled_${kind}`] = `${r.stalled}/${r.rounds}`;
        log(`resume after cut over ${kind}: ${r.medianMs} ms (${r.runsMs.join(', ')}); stalled ${r.stalled}/${r.rounds}`);
      });
    }
  }
  if (wanted(cfg, 'blocked')) {
    await attempt(extra, 'first_call_direct', log, async () => {
      const r = await timeToFirstCall(false, Math.max(3, cfg.repeats));
      extra.first_call_ms_direct = r.medianMs;
      extra.first_call_direct_transport = r.transport;
      log(`first call, direct: ${r.medianMs} ms over ${r.transport}`);
    });
    await attempt(extra, 'ws_blocked_first_call', log, async () => {
      const r = await timeToFirstCall(true, Math.max(3, cfg.repeats));
      extra.ws_blocked_first_call_ms = r.medianMs;
      extra.ws_blocked_first_call_runs = r.runsMs;
      extra.ws_blocked_transport = r.transport;
      log(`first call, WebSockets blocked by squid: ${r.medianMs} ms over ${r.transport}`);
    });
  }
  if (wanted(cfg, 'scale')) {
    await attempt(extra, 'scale_idle', log, async () => void Object.assign(extra, await idleCapacity(cfg, log)));
    await attempt(extra, 'scale_curve', log, async () => void Object.assign(extra, await replicaCurve(cfg, log)));
  }
  return extra;
}

/** bench/raw-child.ts for one transport, bounded in time; its JSON line or its error. */
async function rawInChild(kind: TransportKind, cfg: BenchConfig): Promise<{ framesPerSecond: number[]; replayMs: number[] }> {
  const args = ['--import', 'tsx', path.join(REPO, 'bench/raw-child.ts'), kind, String(cfg.rawFrames), String(cfg.rawWindow), String(cfg.repeats), String(cfg.replayFrames)];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) {
    const why = err.split('\n').find((l) => /Error|error:/.test(l)) ?? err.trim().split('\n').pop() ?? `exit ${code}`;
    throw new Error(`raw ${kind} failed (exit ${code ?? 'killed'}): ${why.trim()}`);
  }
  return JSON.parse(line) as { framesPerSecond: number[]; replayMs: number[] };
}
