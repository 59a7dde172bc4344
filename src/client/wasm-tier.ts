/**
 * The tunnel client's one V8 setting (docs/performance.md, "Applied" 11): WebAssembly is
 * compiled by the baseline compiler (Liftoff) only.
 *
 * undici parses HTTP/1 with llhttp compiled to WebAssembly. At the client's first connection
 * V8's optimizing tier compiled llhttp's parser as well, and that compile alone took ~35 MB
 * for an instant: the client's peak RSS (VmHWM) went 74 → 109 MB and stayed its peak for
 * the whole run, on every transport. Baseline code parses the few HTTP responses a tunnel
 * reads (the WebSocket upgrade; on sse and poll a short answer per POST or poll) with no
 * difference measured in `make bench` (tunnel-sse and tunnel-poll calls/s and CPU per call).
 * The only other WebAssembly here is QuickJS for a PAC file, run once per connection.
 *
 * Set before the first connection compiles anything (V8 reads the flag per compile; Node
 * keeps V8's flags writable after start for `v8.setFlagsFromString`).
 */
import { setFlagsFromString } from 'node:v8';

export const WASM_FLAG = '--liftoff-only';

export function compileWasmSmall(): void {
  setFlagsFromString(WASM_FLAG);
}
