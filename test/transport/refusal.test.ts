/**
 * Classification of failed opens (src/transport/refusal.ts): which failures walk down the
 * ladder (blocked), which are fatal (auth, proxy auth, TLS), which are retried in place.
 * The errors are undici's own classes with the messages undici 7 produces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from 'undici';
import { AuthRejectedError, ProxyAuthError, TlsError, TransportError } from '../../src/errors.js';
import { failureKind, isConnectRefusal, refusalFromError, refusalFromStatus } from '../../src/transport/refusal.js';

const ctx = { what: 'WebSocket', host: 'gw.example.com', proxy: 'http://***:***@proxy.corp:3128/' };
const direct = { what: 'SSE stream', host: 'gw.example.com' };
const sysErr = (code: string, message: string): Error => Object.assign(new Error(message), { code });
/** fetch wraps the real cause twice ("fetch failed" → … → cause). */
const wrapped = (cause: Error): Error => new TypeError('fetch failed', { cause: new Error('request failed', { cause }) });
const GATEWAY = { 'x-mcp-reverse-proxy': 'gateway' };

describe('refusalFromStatus', () => {
  const cases: Array<[string, number, Record<string, string> | undefined, typeof ctx | typeof direct, string, 'fatal' | 'blocked' | 'retry']> = [
    ['gateway 401', 401, GATEWAY, ctx, 'AuthRejectedError', 'fatal'],
    ['gateway 403', 403, GATEWAY, ctx, 'AuthRejectedError', 'fatal'],
    ['401 without a proxy in the path', 401, {}, direct, 'AuthRejectedError', 'fatal'],
    ['proxy 407', 407, { 'proxy-authenticate': 'Basic' }, ctx, 'ProxyAuthError', 'fatal'],
    ['squid 403', 403, { 'x-squid-error': 'ERR_ACCESS_DENIED 0', server: 'squid/5.7' }, ctx, 'TransportError', 'blocked'],
    ['Upgrade stripped: 426', 426, GATEWAY, ctx, 'TransportError', 'blocked'],
    ['Upgrade stripped: 200', 200, {}, ctx, 'TransportError', 'blocked'],
    ['no such endpoint: 404', 404, GATEWAY, direct, 'TransportError', 'blocked'],
    ['bad gateway: 502', 502, {}, direct, 'TransportError', 'blocked'],
    ['429', 429, GATEWAY, direct, 'TransportError', 'retry'],
  ];
  for (const [name, status, headers, c, cls, kind] of cases) {
    test(`${name} → ${cls}, ${kind}`, () => {
      const err = refusalFromStatus(status, headers, c);
      assert.equal(err.constructor.name, cls);
      assert.equal(failureKind(err), kind);
    });
  }
});

describe('refusalFromError', () => {
  test('CONNECT refused (403) is blocked, and marked as a CONNECT refusal (forwarding may work)', () => {
    const err = refusalFromError(new errors.RequestAbortedError('Proxy response (403) !== 200 when HTTP Tunneling'), ctx);
    assert.ok(err instanceof TransportError);
    assert.equal(failureKind(err), 'blocked');
    assert.ok(isConnectRefusal(err));
    assert.match(err.message, /proxy answered 403 to CONNECT/);
  });

  test('407 on CONNECT, two causes deep under fetch, is a ProxyAuthError naming the redacted proxy', () => {
    const err = refusalFromError(wrapped(new errors.RequestAbortedError('Proxy response (407) !== 200 when HTTP Tunneling')), ctx);
    assert.ok(err instanceof ProxyAuthError);
    assert.equal(failureKind(err), 'fatal');
    assert.ok(err.message.includes(ctx.proxy) && !err.message.includes('secret'));
  });

  test('407 in forwarding mode (undici: InvalidArgumentError) is a ProxyAuthError', () => {
    assert.ok(refusalFromError(new errors.InvalidArgumentError('Proxy Authentication Required (407)'), ctx) instanceof ProxyAuthError);
  });

  const tls: Array<[string, string, RegExp]> = [
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', /--ca-file/],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', /--ca-file/],
    ['CERT_HAS_EXPIRED', 'certificate has expired', /expired/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames", /does not name this host/],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'tlsv13 alert certificate required', /--cert <cert.pem> --key <key.pem>/],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'sslv3 alert bad certificate', /rejected our client certificate/],
  ];
  for (const [code, message, hint] of tls) {
    test(`TLS ${code} → TlsError with the host and the option that fixes it`, () => {
      const err = refusalFromError(wrapped(sysErr(code, message)), direct);
      assert.ok(err instanceof TlsError, err.message);
      assert.equal(failureKind(err), 'fatal');
      assert.match(err.message, /gw\.example\.com/);
      assert.match(err.message, hint);
    });
  }

  const network: Array<[string, Error, 'blocked' | 'retry']> = [
    ['ECONNREFUSED: gateway down', sysErr('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:4444'), 'retry'],
    ['ENOTFOUND: no such host', sysErr('ENOTFOUND', 'getaddrinfo ENOTFOUND gw.example.com'), 'retry'],
    ['ECONNRESET during the handshake', sysErr('ECONNRESET', 'read ECONNRESET'), 'blocked'],
    ['socket closed during the handshake', new errors.SocketError('other side closed'), 'blocked'],
  ];
  for (const [name, cause, kind] of network) {
    test(`${name} → ${kind}`, () => {
      const err = refusalFromError(wrapped(cause), direct);
      assert.ok(err instanceof TransportError);
      assert.equal(failureKind(err), kind);
    });
  }

  test('an auth failure is never "blocked", whatever the status', () => {
    assert.equal(failureKind(new AuthRejectedError(403)), 'fatal');
  });
});
