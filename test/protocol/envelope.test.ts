import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEnvelope as parseFrame, validateEnvelope, upstreamTypeFor, DATA_TYPES, type UnknownEnvelope } from '../../src/protocol/envelope.js';
import { classify, rpcError, RpcErrorCode } from '../../src/protocol/jsonrpc.js';
import { ProtocolError } from '../../src/errors.js';

/** The parser, with every field readable (the union is narrowed by callers, not here). */
const parseEnvelope = (text: string, maxBytes?: number): UnknownEnvelope => parseFrame(text, maxBytes) as UnknownEnvelope;

/** Asserts that fn throws a ProtocolError with the given code whose message matches re. */
function rejects(fn: () => unknown, re: RegExp, code = 'ERR_PROTOCOL'): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.retryable, false);
    assert.match(err.message, re);
    return true;
  });
}

const req = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

describe('parseEnvelope: accepts good frames', () => {
  it('data frame with seq and ack', () => {
    const env = parseEnvelope(JSON.stringify({ type: 'request', seq: 1, ack: 0, payload: req }));
    assert.deepEqual(env, { type: 'request', seq: 1, ack: 0, payload: req });
  });

  it('the spliced wire form produced by the channel ({"ack":n,...})', () => {
    const env = parseEnvelope('{"ack":7,"type":"response","seq":3,"payload":{"jsonrpc":"2.0","id":1,"result":{}}}');
    assert.equal(env.ack, 7);
    assert.equal(env.seq, 3);
    assert.equal(env.type, 'response');
  });

  it('plain data frame without seq/ack (ContextForge peer)', () => {
    const env = parseEnvelope(JSON.stringify({ type: 'notification', payload: { jsonrpc: '2.0', method: 'x' } }));
    assert.equal(env.seq, undefined);
    assert.equal(env.ack, undefined);
  });

  it('control frames without payload', () => {
    assert.equal(parseEnvelope('{"type":"heartbeat"}').type, 'heartbeat');
    assert.equal(parseEnvelope('{"type":"ack","ack":0}').ack, 0);
    assert.equal(parseEnvelope('{"type":"error","message":"boom","code":"X"}').message, 'boom');
    const reg = parseEnvelope(JSON.stringify({ type: 'register', server: { name: 's' }, resume: { sessionId: 'a', ack: 3 } }));
    assert.deepEqual(reg.resume, { sessionId: 'a', ack: 3 });
    assert.equal(parseEnvelope('{"type":"register_ack","sessionId":"abc","status":"success"}').sessionId, 'abc');
  });

  it('unknown types and unknown fields pass validation (ignored later)', () => {
    const env = parseEnvelope('{"type":"future_thing","x":1,"nested":{"a":[1]}}');
    assert.equal(env.type, 'future_thing');
    assert.equal(env.x, 1);
    assert.equal(DATA_TYPES.has(env.type), false);
  });

  it('large but in-bound frames, and exactly at the bound', () => {
    const text = JSON.stringify({ type: 'request', seq: 1, payload: { jsonrpc: '2.0', method: 'm', params: { s: 'x'.repeat(1000) } } });
    assert.equal(parseEnvelope(text, text.length).seq, 1);
    assert.equal(parseEnvelope(text).seq, 1); // default: no bound
  });

  it('seq at the safe-integer maximum', () => {
    assert.equal(parseEnvelope(`{"type":"request","seq":${Number.MAX_SAFE_INTEGER},"payload":{}}`).seq, Number.MAX_SAFE_INTEGER);
  });
});

describe('parseEnvelope / validateEnvelope: rejections', () => {
  it('non-JSON', () => {
    rejects(() => parseEnvelope('{"type":'), /^frame is not valid JSON \(/);
    rejects(() => parseEnvelope(''), /not valid JSON/);
    rejects(() => parseEnvelope('hello'), /not valid JSON/);
  });

  it('JSON that is not an object', () => {
    rejects(() => parseEnvelope('[{"type":"request"}]'), /^frame is not a JSON object$/);
    rejects(() => parseEnvelope('null'), /^frame is not a JSON object$/);
    rejects(() => parseEnvelope('42'), /^frame is not a JSON object$/);
    rejects(() => parseEnvelope('"request"'), /^frame is not a JSON object$/);
    rejects(() => validateEnvelope(undefined), /^frame is not a JSON object$/);
  });

  it('missing, empty or non-string type', () => {
    rejects(() => parseEnvelope('{"payload":{}}'), /^frame has no "type" string$/);
    rejects(() => parseEnvelope('{"type":""}'), /^frame has no "type" string$/);
    rejects(() => parseEnvelope('{"type":3}'), /^frame has no "type" string$/);
    rejects(() => parseEnvelope('{"type":null}'), /^frame has no "type" string$/);
  });

  it('seq 0, negative, float, string, huge', () => {
    rejects(() => parseEnvelope('{"type":"request","seq":0,"payload":{}}'), /^frame "seq" must be an integer >= 1, got 0$/);
    rejects(() => parseEnvelope('{"type":"request","seq":-1,"payload":{}}'), /^frame "seq" must be an integer >= 1, got -1$/);
    rejects(() => parseEnvelope('{"type":"request","seq":1.5,"payload":{}}'), /^frame "seq" must be an integer >= 1, got 1\.5$/);
    rejects(() => parseEnvelope('{"type":"request","seq":"1","payload":{}}'), /^frame "seq" must be an integer >= 1, got "1"$/);
    rejects(() => parseEnvelope('{"type":"request","seq":null,"payload":{}}'), /^frame "seq" must be an integer >= 1, got null$/);
    rejects(() => parseEnvelope('{"type":"request","seq":1e300,"payload":{}}'), /"seq" must be an integer >= 1/);
  });

  it('ack negative, float or string', () => {
    rejects(() => parseEnvelope('{"type":"ack","ack":-1}'), /^frame "ack" must be an integer >= 0, got -1$/);
    rejects(() => parseEnvelope('{"type":"ack","ack":0.5}'), /^frame "ack" must be an integer >= 0, got 0\.5$/);
    rejects(() => parseEnvelope('{"type":"heartbeat","ack":"3"}'), /^frame "ack" must be an integer >= 0, got "3"$/);
  });

  it('non-string sessionId', () => {
    rejects(() => parseEnvelope('{"type":"heartbeat","sessionId":5}'), /^frame "sessionId" must be a string$/);
  });

  it('data frame without an object payload', () => {
    for (const type of ['request', 'response', 'notification']) {
      const msg = new RegExp(`^"${type}" frame must carry a JSON-RPC object in "payload"$`);
      rejects(() => parseEnvelope(`{"type":"${type}","seq":1}`), msg);
      rejects(() => parseEnvelope(`{"type":"${type}","seq":1,"payload":null}`), msg);
      rejects(() => parseEnvelope(`{"type":"${type}","seq":1,"payload":"x"}`), msg);
      rejects(() => parseEnvelope(`{"type":"${type}","seq":1,"payload":[]}`), msg);
      rejects(() => parseEnvelope(`{"type":"${type}","seq":1,"payload":7}`), msg);
    }
  });

  it('oversize frame: ERR_FRAME_TOO_LARGE, checked before parsing', () => {
    const text = JSON.stringify({ type: 'request', seq: 1, payload: { s: 'x'.repeat(100) } });
    rejects(() => parseEnvelope(text, text.length - 1), new RegExp(`^frame of ${text.length} bytes exceeds the maximum of ${text.length - 1}$`), 'ERR_FRAME_TOO_LARGE');
    // Even garbage is rejected for size first (no parse cost for huge junk).
    rejects(() => parseEnvelope('x'.repeat(50), 10), /exceeds the maximum of 10/, 'ERR_FRAME_TOO_LARGE');
  });
});

describe('upstreamTypeFor', () => {
  it('response when the payload has an id, notification otherwise', () => {
    assert.equal(upstreamTypeFor({ jsonrpc: '2.0', id: 1, result: {} }), 'response');
    assert.equal(upstreamTypeFor({ jsonrpc: '2.0', id: 'a', method: 'sampling/createMessage' }), 'response');
    assert.equal(upstreamTypeFor({ jsonrpc: '2.0', id: 0, result: {} }), 'response');
    assert.equal(upstreamTypeFor({ jsonrpc: '2.0', method: 'notifications/progress' }), 'notification');
    assert.equal(upstreamTypeFor({ jsonrpc: '2.0', id: null, error: { code: -1, message: 'x' } }), 'notification');
  });
});

describe('classify (jsonrpc.ts)', () => {
  it('request: method and string or number id', () => {
    assert.equal(classify({ jsonrpc: '2.0', id: 1, method: 'ping' }), 'request');
    assert.equal(classify({ jsonrpc: '2.0', id: 'abc', method: 'ping' }), 'request');
    assert.equal(classify({ jsonrpc: '2.0', id: 0, method: 'ping' }), 'request');
  });

  it('notification: method without id (or with a non-id id)', () => {
    assert.equal(classify({ jsonrpc: '2.0', method: 'notifications/initialized' }), 'notification');
    assert.equal(classify({ jsonrpc: '2.0', method: 'x', id: null }), 'notification');
  });

  it('response: result with an id', () => {
    assert.equal(classify({ jsonrpc: '2.0', id: 1, result: {} }), 'response');
    assert.equal(classify({ jsonrpc: '2.0', id: 'x', result: null }), 'response');
  });

  it('error response, including id null (parse error)', () => {
    assert.equal(classify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope' } }), 'response');
    assert.equal(classify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse' } }), 'response');
    assert.equal(classify(rpcError(7, RpcErrorCode.TunnelSaturated, 'full')), 'response');
  });

  it('invalid', () => {
    assert.equal(classify(null), 'invalid');
    assert.equal(classify(undefined), 'invalid');
    assert.equal(classify('{"jsonrpc":"2.0"}'), 'invalid');
    assert.equal(classify(42), 'invalid');
    assert.equal(classify([{ jsonrpc: '2.0', id: 1, method: 'x' }]), 'invalid');
    assert.equal(classify({ jsonrpc: '2.0' }), 'invalid');
    assert.equal(classify({ jsonrpc: '2.0', id: 1 }), 'invalid'); // neither method nor result/error
    assert.equal(classify({ jsonrpc: '2.0', result: {} }), 'invalid'); // response without id
    assert.equal(classify({ jsonrpc: '2.0', id: { a: 1 }, result: {} }), 'invalid'); // object id
    assert.equal(classify({ jsonrpc: '2.0', id: 1, method: 5 }), 'invalid'); // non-string method
  });
});

describe('rpcError', () => {
  it('builds an error response, data only when given', () => {
    assert.deepEqual(rpcError(1, -32000, 'm'), { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'm' } });
    assert.deepEqual(rpcError(null, -32700, 'p', { at: 3 }), { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'p', data: { at: 3 } } });
  });
});
