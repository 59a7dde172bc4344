/**
 * One transport's raw measurements in a process of its own (bench/raw-tunnel.ts), so that
 * a transport that crashes or hangs makes that transport "unavailable" instead of ending
 * the run, and each transport starts from a fresh heap.
 *   node --import tsx bench/raw-child.ts <ws|sse|poll> <frames> <window> <repeats> <replayFrames>
 * Prints one JSON line: { framesPerSecond: number[], replayMs: number[] }.
 */
import type { TransportKind } from '../src/transport/transport.js';
import { RawTunnelBench } from './raw-tunnel.js';

const [kind, frames, window, repeats, replayFrames] = process.argv.slice(2);
const raw = new RawTunnelBench();
try {
  await raw.start();
  const k = kind as TransportKind;
  await raw.framesPerSecond(k, Math.min(2_000, Number(frames)), Number(window)); // warm-up
  const framesPerSecond: number[] = [];
  for (let r = 0; r < Number(repeats); r++) framesPerSecond.push(await raw.framesPerSecond(k, Number(frames), Number(window)));
  const replayMs: number[] = [];
  for (let r = 0; r < Number(repeats); r++) replayMs.push(await raw.replay(k, Number(replayFrames)));
  process.stdout.write(JSON.stringify({ framesPerSecond, replayMs }) + '\n');
} finally {
  await raw.stop().catch(() => undefined);
  setTimeout(() => process.exit(), 100).unref();
}
