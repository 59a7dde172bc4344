import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DISCOVER_REQUEST_IDS,
  discoverRequest,
  judgeProbe,
  modernHandshake,
  probeEra,
  probeTimeoutMs,
  type ProbeReply,
} from '../../src/client/era-probe.js';
import type { JsonRpcMessage, JsonRpcRequest } from '../../src/protocol/jsonrpc.js';

const DISCOVER = {
  resultType: 'complete',
  supportedVersions: ['2026-07-28'],
  capabilities: { tools: {} },
  instructions: 'hello',
  _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'srv', version: '3' } },
};
const answer = (msg: object): ProbeReply => ({ kind: 'answer', msg: { jsonrpc: '2.0', id: 'x', ...msg } as JsonRpcMessage });
const error = (code: number, data?: unknown): ProbeReply => answer({ error: { code, message: 'nope', ...(data !== undefined ? { data } : {}) } });

describe('judgeProbe', () => {
  it('a DiscoverResult naming a version we speak → modern, with that version', () => {
    assert.deepEqual(judgeProbe(answer({ result: DISCOVER })), { kind: 'modern', version: '2026-07-28', discover: DISCOVER });
    const ours = ['2027-01-01', '2026-07-28'];
    const v = judgeProbe(answer({ result: { ...DISCOVER, supportedVersions: ['2026-07-28', '2027-01-01'] } }), ours);
    assert.equal(v.kind === 'modern' && v.version, '2027-01-01', 'our newest mutual version');
  });

  it('a DiscoverResult we cannot use, or one naming only versions we do not speak → legacy', () => {
    const bad = judgeProbe(answer({ result: { supportedVersions: ['2026-07-28'] } }));
    assert.equal(bad.kind, 'legacy');
    assert.match((bad as { why: string }).why, /not usable: DiscoverResult.capabilities must be an object/);
    const other = judgeProbe(answer({ result: { ...DISCOVER, supportedVersions: ['2031-01-01'] } }));
    assert.equal(other.kind, 'legacy');
    assert.match((other as { why: string }).why, /lists 2031-01-01, none of which this client speaks/);
  });

  it('-32022 whose data.supported names a version we speak → retry with it (also a version other than the one asked)', () => {
    assert.deepEqual(
      { ...judgeProbe(error(-32022, { supported: ['2026-07-28'], requested: '2026-07-28' })), why: '' },
      { kind: 'retry', version: '2026-07-28', why: '' },
    );
    const v = judgeProbe(error(-32022, { supported: ['2025-11-25', '2026-07-28'], requested: '2027-01-01' }), ['2027-01-01', '2026-07-28']);
    assert.equal(v.kind === 'retry' && v.version, '2026-07-28');
  });

  it('-32022 without a version we speak, and any other error → legacy, saying what the server said', () => {
    const legacyOnly = judgeProbe(error(-32022, { supported: ['2025-11-25'] }));
    assert.equal(legacyOnly.kind, 'legacy');
    const newer = judgeProbe(error(-32022, { supported: ['2031-01-01'] }));
    assert.match((newer as { why: string }).why, /it speaks only 2031-01-01, none of which this client speaks/);
    assert.equal(judgeProbe(error(-32022)).kind, 'legacy', 'no data.supported');
    for (const code of [-32601, -32602, -32600, -32603, -32001, -32020, -32021, 1]) {
      const v = judgeProbe(error(code));
      assert.equal(v.kind, 'legacy', String(code));
      assert.match((v as { why: string }).why, new RegExp(`JSON-RPC error ${code} \\(nope\\)`));
    }
  });

  it('no answer in time, or the process exiting → legacy', () => {
    assert.deepEqual(judgeProbe({ kind: 'timeout', ms: 1500 }), { kind: 'legacy', why: 'it did not answer server/discover within 1.5 s' });
    assert.deepEqual(judgeProbe({ kind: 'exited', how: 'exit code 1' }), { kind: 'legacy', why: 'it exited when asked server/discover (exit code 1)' });
  });
});

describe('probeEra', () => {
  const clientInfo = { name: 'mcp-reverse-proxy', version: '9' };

  function scripted(replies: ProbeReply[]) {
    const asked: Array<{ req: JsonRpcRequest; timeoutMs: number | undefined }> = [];
    const ask = async (req: JsonRpcRequest, timeoutMs: number | undefined): Promise<ProbeReply> => {
      asked.push({ req, timeoutMs });
      const next = replies.shift();
      assert.ok(next, 'asked more often than scripted');
      return next;
    };
    return { asked, ask };
  }

  it('sends server/discover with the full _meta envelope and the timeout it was given', async () => {
    const { asked, ask } = scripted([answer({ result: DISCOVER })]);
    const outcome = await probeEra(ask, { timeoutMs: 2000, clientInfo });
    assert.equal(outcome.kind, 'modern');
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0], { req: discoverRequest(DISCOVER_REQUEST_IDS[0], '2026-07-28', clientInfo), timeoutMs: 2000 });
    assert.deepEqual(asked[0]!.req.params, {
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': { sampling: {}, elicitation: {}, roots: {} },
        'io.modelcontextprotocol/clientInfo': clientInfo,
      },
    });
  });

  it('one corrective retry after -32022, with a new id; a second -32022 → legacy', async () => {
    const supported = { supported: ['2026-07-28'], requested: '2026-07-28' };
    const ok = scripted([error(-32022, supported), answer({ result: DISCOVER })]);
    assert.equal((await probeEra(ok.ask, { timeoutMs: undefined, clientInfo })).kind, 'modern');
    assert.deepEqual(ok.asked.map((a) => a.req.id), [...DISCOVER_REQUEST_IDS]);

    const twice = scripted([error(-32022, supported), error(-32022, supported)]);
    const outcome = await probeEra(twice.ask, { timeoutMs: undefined, clientInfo });
    assert.equal(outcome.kind, 'legacy');
    assert.match((outcome as { why: string }).why, /-32022.*asked again with 2026-07-28: answered server\/discover with JSON-RPC error -32022/);
    assert.equal(twice.asked.length, 2);
  });

  it('an exit is reported as such (the caller starts the server again)', async () => {
    const { ask } = scripted([{ kind: 'exited', how: 'exit code 1' }]);
    assert.deepEqual(await probeEra(ask, { timeoutMs: 10, clientInfo }), { kind: 'legacy', why: 'it exited when asked server/discover (exit code 1)', exited: true });
  });
});

describe('probe timeout and the modern handshake result', () => {
  it('2 s, or half of --init-timeout when that is shorter', () => {
    assert.equal(probeTimeoutMs(30_000), 2000);
    assert.equal(probeTimeoutMs(3000), 1500);
    assert.equal(probeTimeoutMs(100), 50);
  });

  it('fills the InitializeResult fields from the DiscoverResult; serverInfo falls back to the command name', () => {
    assert.deepEqual(modernHandshake('2026-07-28', DISCOVER, 'cmd'), {
      era: 'modern',
      protocolVersion: '2026-07-28',
      capabilities: { tools: {} },
      serverInfo: { name: 'srv', version: '3' },
      instructions: 'hello',
      discover: DISCOVER,
    });
    const bare = { supportedVersions: ['2026-07-28'], capabilities: {} };
    assert.deepEqual(modernHandshake('2026-07-28', bare, 'my-server').serverInfo, { name: 'my-server', version: '' });
    assert.equal('instructions' in modernHandshake('2026-07-28', bare, 'x'), false);
  });
});
