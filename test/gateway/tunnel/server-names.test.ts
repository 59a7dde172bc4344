/**
 * Server names are URL path segments, log fields and catalog keys (protocol/server-name.ts):
 * the gateway refuses names outside the documented charset with `invalid_name`, and names
 * that differ from a live one only by case with `name_taken`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidServerName, nameKey } from '../../../src/protocol/server-name.js';
import { FakeTunnelPeer, type Frame } from '../../helpers/gateway-fake-peer.js';
import { ECHO_SERVER, registeredPeer, T, withHarness, type Harness } from '../../helpers/gateway-harness.js';

async function registerName(h: Harness, token: string, name: string): Promise<{ peer: FakeTunnelPeer; answer: Frame }> {
  const peer = await FakeTunnelPeer.connect(h.gw.url, token);
  const answer = await peer.register({ ...ECHO_SERVER, name });
  return { peer, answer };
}

test('the name rule: charset, first character, length', () => {
  for (const ok of ['echo', 'server-everything', 'reverse-proxy-1a2b3c4d', 'A.b_c-9', 'x'.repeat(64)]) assert.ok(isValidServerName(ok), ok);
  for (const bad of ['', '.', '..', '-x', '_x', 'a/b', 'a b', 'echo ', 'a\u200bb', 'a\u0000b', 'tab\t', 'é', 'x'.repeat(65), 'a%2Fb']) {
    assert.ok(!isValidServerName(bad), JSON.stringify(bad));
  }
  assert.equal(nameKey('Echo'), nameKey('echo'));
});

test('register refuses names outside the charset with invalid_name and closes the link', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('alice');
    for (const name of ['a/b', 'echo ', 'zero\u200bwidth', 'bell\u0007', '..', 'n'.repeat(65), 'x'.repeat(100_000)]) {
      const { peer, answer } = await registerName(h, token, name);
      assert.equal(answer.type, 'error', name);
      assert.equal(answer.code, 'invalid_name', name);
      assert.match(answer.message, /is not valid: expected 1-64 ASCII letters, digits, "\.", "_" or "-", starting with a letter or digit/);
      assert.ok(answer.message.length < 400, 'the refusal does not echo a huge name back');
      await peer.whenClosed();
    }
    assert.deepEqual(((await (await h.api('/servers', { token })).json()) as { servers: Frame[] }).servers, []);
  });
});

test('a name differing from a live one only by case is refused, for its owner and for others', T, async () => {
  await withHarness(async (h) => {
    const { peer, token } = await registeredPeer(h, 'alice', { ...ECHO_SERVER, name: 'Echo' });
    const own = await registerName(h, token, 'echo');
    assert.equal(own.answer.code, 'name_taken');
    assert.match(own.answer.message, /differs only by case from your live server Echo/);
    const other = await registerName(h, await h.token('bob'), 'ECHO');
    assert.equal(other.answer.code, 'name_taken');
    assert.match(other.answer.message, /registered by another user \(names are compared without regard to case\)/);
    // The live server is untouched and still reachable under its own spelling only.
    assert.equal(peer.closed, false);
    const client = await h.mcpClient('Echo', token);
    assert.equal((await client.listTools()).tools.length, 1);
    const wrongCase = await h.api('/servers/echo/mcp', {
      method: 'POST',
      token,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    assert.equal(wrongCase.status, 404);
    await peer.close();
  });
});
