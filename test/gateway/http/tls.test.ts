/**
 * Gateway TLS (`--tls-cert/--tls-key`, `--tls-client-ca`): HTTPS with a throwaway CA
 * made by openssl, WebSocket tunnels over the same https server, client certificates
 * required when a client CA is given, and clear ConfigErrors for bad setups.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { Agent, fetch } from 'undici';
import { startGateway, type RunningGateway } from '../../../src/gateway/index.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { GATEWAY_DEFAULTS, type GatewayOptions } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { makeTlsMaterial, type TlsMaterial } from '../../helpers/tls-material.js';
import { HttpTunnelPeer } from '../../helpers/gateway-http-peer.js';
import { ECHO_SERVER, T, TEST_SECRET } from '../../helpers/gateway-harness.js';

let dir: string;
let tls: TlsMaterial;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
  tls = makeTlsMaterial(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function gateway(extra: Partial<GatewayOptions>): Promise<RunningGateway> {
  return startGateway({ ...GATEWAY_DEFAULTS, host: '127.0.0.1', port: 0, jwtSecret: TEST_SECRET, ...extra }, silentLogger);
}

async function withGateway(extra: Partial<GatewayOptions>, fn: (gw: RunningGateway) => Promise<void>): Promise<void> {
  const gw = await gateway(extra);
  try {
    await fn(gw);
  } finally {
    await gw.close();
  }
}

const trusting = (withClientCert: boolean): Agent =>
  new Agent({
    connect: {
      ca: readFileSync(tls.caCert),
      ...(withClientCert ? { cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) } : {}),
    },
  });

test('HTTPS gateway: https URL, HTTP routes, an sse link and a WebSocket tunnel with the CA trusted', T, async () => {
  await withGateway({ tlsCert: tls.serverCert, tlsKey: tls.serverKey }, async (gw) => {
    assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const agent = trusting(false);
    try {
      const res = await fetch(`${gw.url}/healthz`, { dispatcher: agent });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-mcp-reverse-proxy'), 'gateway');
      await assert.rejects(fetch(`${gw.url}/healthz`), 'an untrusted CA is refused by default');

      const token = await mintToken({ username: 'alice', secret: TEST_SECRET });
      const sse = await HttpTunnelPeer.openSse(gw.url, token, { dispatcher: agent });
      assert.equal((await sse.register(ECHO_SERVER)).type, 'register_ack');
      sse.stop();

      const ws = new WebSocket(`${gw.url.replace(/^https/, 'wss')}/reverse-proxy/ws`, {
        ca: readFileSync(tls.caCert),
        headers: { Authorization: `Bearer ${token}` },
      });
      const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
        ws.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>));
        ws.once('error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ type: 'register', server: { ...ECHO_SERVER, name: 'echo-ws' } }));
      assert.equal((await reply).type, 'register_ack');
      ws.terminate();
    } finally {
      await agent.close();
    }
  });
});

test('--tls-client-ca: a client without a certificate is refused, one with a certificate gets through', T, async () => {
  await withGateway({ tlsCert: tls.serverCert, tlsKey: tls.serverKey, tlsClientCa: tls.caCert }, async (gw) => {
    const anonymous = trusting(false);
    const withCert = trusting(true);
    try {
      await assert.rejects(fetch(`${gw.url}/healthz`, { dispatcher: anonymous }));
      const res = await fetch(`${gw.url}/healthz`, { dispatcher: withCert });
      assert.equal(res.status, 200);
    } finally {
      await Promise.all([anonymous.close(), withCert.close()]);
    }
  });
});

test('TLS misconfiguration fails with a ConfigError that names the flag', T, async () => {
  await assert.rejects(gateway({ tlsCert: tls.serverCert }), (err: Error) => err instanceof ConfigError && /--tls-key/.test(err.message));
  await assert.rejects(
    gateway({ tlsCert: join(dir, 'missing.crt'), tlsKey: tls.serverKey }),
    (err: Error) => err instanceof ConfigError && /--tls-cert/.test(err.message) && /missing\.crt/.test(err.message),
  );
  await assert.rejects(
    gateway({ tlsCert: tls.serverCert, tlsKey: tls.serverKey, tlsClientCa: join(dir, 'nope.pem') }),
    (err: Error) => err instanceof ConfigError && /--tls-client-ca/.test(err.message),
  );
  // A key that does not match the certificate.
  await assert.rejects(gateway({ tlsCert: tls.serverCert, tlsKey: tls.clientKey }), (err: Error) => err instanceof ConfigError);
});

test('HTTPS gateway: a connection that never starts its TLS handshake is closed after --headers-timeout', T, async () => {
  await withGateway({ tlsCert: tls.serverCert, tlsKey: tls.serverKey, headersTimeout: 1, receiveTimeout: 1 }, async (gw) => {
    const { port } = new URL(gw.url);
    const silent = connect(Number(port), '127.0.0.1');
    silent.on('error', () => {});
    // Node's TLS default would keep it for 120 s; the test's own deadline is far shorter.
    await new Promise((resolve) => silent.once('close', resolve));
    const res = await fetch(`${gw.url}/healthz`, { dispatcher: trusting(false) });
    assert.equal(res.status, 200, 'the gateway still serves');
  });
});
