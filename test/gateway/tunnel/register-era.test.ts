/**
 * The register envelope's `server.era` and `server.discover` (docs/protocol.md §2): checked
 * (shape, bounds), refused with invalid_register when wrong, stored on the TunnelSession
 * (era, discoverResult) and shown by GET /servers; a server_status after a restart may
 * change them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkServerEra, registeredEra } from '../../../src/gateway/tunnel/register-frame.js';
import { SessionRegistry } from '../../../src/gateway/tunnel/session-registry.js';
import { TunnelEndpoint } from '../../../src/gateway/tunnel/tunnel-endpoint.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { MAX_DISCOVER_BYTES } from '../../../src/protocol/discover-result.js';
import { FakeTunnelPeer } from '../../helpers/gateway-fake-peer.js';
import { MemoryLink } from '../../helpers/gateway-fake-ports.js';
import { ECHO_SERVER, registeredPeer, T, withHarness } from '../../helpers/gateway-harness.js';

const DISCOVER = {
  resultType: 'complete',
  supportedVersions: ['2026-07-28'],
  capabilities: { tools: {} },
  ttlMs: 0,
  cacheScope: 'private',
  _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'modern', version: '2' } },
};
const MODERN_SERVER = {
  name: 'modern',
  protocol: 'stdio',
  serverInfo: { name: 'modern', version: '2' },
  capabilities: { tools: {} },
  protocolVersion: '2026-07-28',
  era: 'modern',
  discover: DISCOVER,
};

describe('checkServerEra', () => {
  test('absent (older clients, ContextForge), legacy, and modern with a DiscoverResult are fine', () => {
    assert.equal(checkServerEra({ name: 'x' }), undefined);
    assert.equal(checkServerEra({ name: 'x', era: 'legacy' }), undefined);
    assert.equal(checkServerEra(MODERN_SERVER), undefined);
    assert.deepEqual(registeredEra({ name: 'x' }), { era: 'legacy' });
    assert.deepEqual(registeredEra(MODERN_SERVER), { era: 'modern', discover: DISCOVER });
  });

  test('anything else is refused with a sentence naming the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ era: 'future' }, /"server.era" must be one of legacy, modern, got "future"/],
      [{ era: 7 }, /"server.era" must be one of legacy, modern, got 7/],
      [{ discover: DISCOVER }, /"server.discover" needs "server.era": "modern"/],
      [{ era: 'legacy', discover: DISCOVER }, /"server.discover" is only for "server.era": "modern"/],
      [{ ...MODERN_SERVER, discover: undefined }, /"server.era": "modern" needs "server.discover"/],
      [{ ...MODERN_SERVER, serverInfo: undefined }, /"server.era": "modern" needs "server.serverInfo"/],
      [{ ...MODERN_SERVER, discover: { ...DISCOVER, capabilities: 'all' } }, /"server.discover": DiscoverResult.capabilities must be an object/],
      [{ ...MODERN_SERVER, discover: { ...DISCOVER, instructions: 'i'.repeat(MAX_DISCOVER_BYTES) } }, /"server.discover": the DiscoverResult is \d+ bytes, more than/],
    ];
    for (const [server, why] of cases) {
      assert.match(checkServerEra(server) ?? 'accepted', why);
      assert.equal(typeof registeredEra(server), 'string');
    }
  });
});

test('the TunnelSession exposes era and discoverResult next to initializeResult; server_status may change them', () => {
  const registry = new SessionRegistry({ resumeWindowMs: 1000, requestTimeoutMs: 1000, maxQueueBytes: 1 << 20, maxFrameBytes: 1 << 20, maxSessionsPerUser: 5, logger: silentLogger });
  const endpoint = new TunnelEndpoint({ registry, maxFrameBytes: 1 << 20, logger: silentLogger });
  const link = new MemoryLink();
  endpoint.acceptLink(link, { subject: 'carol', isAdmin: false });
  link.onmessage!(JSON.stringify({ type: 'register', server: MODERN_SERVER }));
  assert.equal(link.sent[0].type, 'register_ack');
  const session = registry.serving('modern')!;
  assert.equal(session.era, 'modern');
  assert.deepEqual(session.discoverResult, DISCOVER);
  assert.deepEqual(session.initializeResult?.serverInfo, { name: 'modern', version: '2' }, 'no initialize through the tunnel');

  // A restarted child that turned out to be a 2025 server.
  link.onmessage!(JSON.stringify({ type: 'server_status', available: false, reason: 'exited' }));
  const legacy = { ...ECHO_SERVER, name: 'modern', era: 'legacy' };
  link.onmessage!(JSON.stringify({ type: 'server_status', available: true, server: legacy }));
  assert.equal(session.era, 'legacy');
  assert.equal(session.discoverResult, undefined);
  assert.equal(session.initializeResult?.protocolVersion, '2025-06-18');
  // A server_status with a bad era changes the InitializeResult fields only.
  link.onmessage!(JSON.stringify({ type: 'server_status', available: true, server: { ...MODERN_SERVER, discover: { supportedVersions: [] } } }));
  assert.equal(session.era, 'legacy');
  link.onmessage!(JSON.stringify({ type: 'server_status', available: true, server: MODERN_SERVER }));
  assert.equal(session.era, 'modern');
  assert.deepEqual(session.discoverResult, DISCOVER);
  session.close({ kind: 'shutdown', message: 'test over', rpcCode: -32005 });
});

test('GET /servers shows era (and a modern server\'s DiscoverResult); a register without era is legacy', T, async () => {
  await withHarness(async (h) => {
    const { peer, token } = await registeredPeer(h, 'alice', MODERN_SERVER);
    const plain = await FakeTunnelPeer.connect(h.gw.url, token, { reliable: false });
    assert.equal((await plain.register({ name: 'contextforge', description: 'd', protocol: 'stdio' })).type, 'register_ack');
    const legacy = await registeredPeer(h, 'alice', { ...ECHO_SERVER, era: 'legacy' });
    const { servers } = (await (await h.api('/servers', { token })).json()) as { servers: Array<Record<string, any>> };
    const by = (name: string) => servers.find((s) => s.name === name)!;
    assert.equal(by('modern').era, 'modern');
    assert.deepEqual(by('modern').discover, DISCOVER);
    assert.equal(by('modern').protocolVersion, '2026-07-28');
    assert.equal(by('echo').era, 'legacy');
    assert.equal('discover' in by('echo'), false);
    assert.equal(by('contextforge').era, 'legacy');
    const sessions = (await (await h.api('/reverse-proxy/sessions', { token })).json()) as { sessions: Array<Record<string, any>> };
    assert.equal(sessions.sessions.find((s) => s.name === 'modern')!.era, 'modern');
    await Promise.all([peer.close(), plain.close(), legacy.peer.close()]);
  });
});

test('a register with a bad era or DiscoverResult is refused with invalid_register, naming the field', T, async () => {
  await withHarness(async (h) => {
    const token = await h.token('bob');
    for (const [server, why] of [
      [{ ...MODERN_SERVER, era: 'next' }, /"server.era" must be one of legacy, modern/],
      [{ ...MODERN_SERVER, discover: { ...DISCOVER, supportedVersions: 'all' } }, /"server.discover": DiscoverResult.supportedVersions must be a non-empty array/],
    ] as const) {
      const peer = await FakeTunnelPeer.connect(h.gw.url, token);
      const err = await peer.register(server);
      assert.equal(err.type, 'error');
      assert.equal(err.code, 'invalid_register');
      assert.match(err.message, why);
      await peer.whenClosed();
    }
  });
});
