/**
 * The tunnel client compiles WebAssembly with the baseline tier only (src/client/wasm-tier.ts):
 * what runs on WebAssembly in the client must keep working with it — undici's llhttp (every
 * HTTP/1 response, the WebSocket upgrade) and plain modules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compileWasmSmall } from '../../src/client/wasm-tier.js';

compileWasmSmall(); // before anything in this process compiles WebAssembly

/** The global WebAssembly (the project's lib settings carry no WebAssembly types). */
const wasm = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array): Promise<{ instance: { exports: Record<string, unknown> } }> } }).WebAssembly;

test('a WebAssembly module compiled after it runs correctly', async () => {
  // (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03,
    0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
  ]);
  const { instance } = await wasm.instantiate(bytes);
  const add = instance.exports.add as (a: number, b: number) => number;
  assert.equal(add(40, 2), 42);
  assert.equal(add(0x7fffffff, 1), -0x80000000, 'i32 wrap-around');
});

test("undici's HTTP/1 parser (llhttp in WebAssembly) parses chunked, keep-alive answers", async () => {
  const { request, Agent } = await import('undici');
  const server = http.createServer((req, res) => {
    res.setHeader('x-n', req.url!.slice(1));
    res.write('part one, ');
    res.end(`part two of ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new Agent({ connections: 1 });
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (let i = 0; i < 20; i++) {
      const res = await request(`${base}/${i}`, { dispatcher: agent });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.equal(res.headers['x-n'], String(i));
      assert.equal(await res.body.text(), `part one, part two of /${i}`);
    }
  } finally {
    await agent.close();
    server.closeAllConnections();
    server.close();
  }
});
