import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveGatewayOptions } from '../../src/config/gateway-options.js';
import { GATEWAY_DEFAULTS } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';

const SECRET = 'a-long-enough-secret-of-at-least-32-bytes';
const file = (data: Record<string, unknown>) => ({ path: 'gw.yaml', data });

function configError(fn: () => unknown, ...fragments: string[]): string {
  let message = '';
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    message = err.message;
    for (const f of fragments) assert.ok(message.includes(f), `"${message}" should contain "${f}"`);
    return true;
  });
  return message;
}

describe('resolveGatewayOptions', () => {
  it('fills every default from GATEWAY_DEFAULTS', () => {
    const { options, warnings } = resolveGatewayOptions({ flags: {}, env: { JWT_SECRET_KEY: SECRET } });
    assert.deepEqual(options, { ...GATEWAY_DEFAULTS, jwtSecret: SECRET });
    assert.deepEqual(warnings, []);
  });

  it('takes the secret from --jwt-secret, then JWT_SECRET_KEY, then the config file', () => {
    const secretOf = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv, data: Record<string, unknown>) =>
      resolveGatewayOptions({ flags, env, file: file(data) }).options.jwtSecret;
    assert.equal(secretOf({ jwtSecret: `flag-${SECRET}` }, { JWT_SECRET_KEY: `env-${SECRET}` }, { jwt_secret: `file-${SECRET}` }), `flag-${SECRET}`);
    assert.equal(secretOf({}, { JWT_SECRET_KEY: `env-${SECRET}` }, { jwt_secret: `file-${SECRET}` }), `env-${SECRET}`);
    assert.equal(secretOf({}, {}, { jwt_secret: `file-${SECRET}` }), `file-${SECRET}`);
  });

  it('flags beat the config file for every other option', () => {
    const { options } = resolveGatewayOptions({
      flags: { port: '0', host: '0.0.0.0', resumeWindow: '30', maxFrameBytes: '1MiB', logLevel: 'error' },
      env: { JWT_SECRET_KEY: SECRET },
      file: file({ port: 8080, host: '::1', resume_window: 10, max_frame_bytes: 2048, log_level: 'debug', request_timeout: 60, keepalive: 5 }),
    });
    assert.equal(options.port, 0);
    assert.equal(options.host, '0.0.0.0');
    assert.equal(options.resumeWindow, 30);
    assert.equal(options.maxFrameBytes, 1024 * 1024);
    assert.equal(options.logLevel, 'ERROR');
    assert.equal(options.requestTimeout, 60);
    assert.equal(options.keepalive, 5);
  });

  it('requires a secret unless --no-auth, and never echoes one', () => {
    configError(() => resolveGatewayOptions({ flags: {}, env: {} }), 'missing --jwt-secret', 'JWT_SECRET_KEY', '--no-auth');
    const { options, warnings } = resolveGatewayOptions({ flags: { noAuth: true, jwtSecret: 'ignored-secret' }, env: {} });
    assert.equal(options.noAuth, true);
    assert.equal(options.jwtSecret, undefined);
    assert.equal(warnings.length, 1);
    assert.doesNotMatch(warnings[0]!, /ignored-secret/);
    const empty = configError(() => resolveGatewayOptions({ flags: {}, env: {}, file: file({ jwt_secret: '' }) }), '--jwt-secret', 'key jwt_secret');
    assert.doesNotMatch(empty, /""/);
  });

  it('reads no_auth from a config file as a boolean', () => {
    assert.equal(resolveGatewayOptions({ flags: {}, env: {}, file: file({ no_auth: true }) }).options.noAuth, true);
    configError(() => resolveGatewayOptions({ flags: {}, env: {}, file: file({ no_auth: 'maybe' }) }), '--no-auth', '"maybe"', 'key no_auth');
  });

  it('warns about a short secret', () => {
    const { warnings } = resolveGatewayOptions({ flags: { jwtSecret: 'short' }, env: {} });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /shorter than 32 bytes/);
    assert.doesNotMatch(warnings[0]!, /short"/);
  });

  for (const [flags, fragments] of [
    [{ port: '65536' }, ['invalid --port "65536" (from --port)', '0-65535']],
    [{ port: 'http' }, ['--port', '"http"']],
    [{ resumeWindow: '-1' }, ['--resume-window', '>= 0']],
    [{ requestTimeout: '0' }, ['--request-timeout', '> 0']],
    [{ maxQueueBytes: 'lots' }, ['--max-queue-bytes', '"lots"']],
    [{ logLevel: 'chatty' }, ['--log-level', 'DEBUG, INFO, WARNING, ERROR, CRITICAL']],
    [{ tlsCert: 'c.pem' }, ['--tls-cert and --tls-key']],
    [{ tlsClientCa: 'ca.pem' }, ['--tls-client-ca needs --tls-cert']],
  ] as const) {
    it(fragments.join(' / '), () => {
      configError(() => resolveGatewayOptions({ flags, env: { JWT_SECRET_KEY: SECRET } }), ...fragments);
    });
  }

  it('allows resume window 0, --verbose, and TLS paths relative to the config file', () => {
    const { options, warnings } = resolveGatewayOptions({
      flags: { resumeWindow: '0', verbose: true },
      env: { JWT_SECRET_KEY: SECRET },
      file: { path: '/srv/gw/gw.yml', data: { tls_cert: 'cert.pem', tls_key: 'key.pem', tls_client_ca: '/ca/ca.pem', port: '9' } },
    });
    assert.equal(options.resumeWindow, 0);
    assert.equal(options.logLevel, 'DEBUG');
    assert.equal(options.port, 9);
    assert.deepEqual([options.tlsCert, options.tlsKey, options.tlsClientCa], ['/srv/gw/cert.pem', '/srv/gw/key.pem', '/ca/ca.pem']);
    assert.deepEqual(warnings, []);
  });

  it('warns about unknown config keys', () => {
    const { warnings } = resolveGatewayOptions({ flags: {}, env: { JWT_SECRET_KEY: SECRET }, file: file({ gateway: 'x' }) });
    assert.deepEqual(warnings, ['config file gw.yaml: unknown key "gateway" ignored']);
  });

  it('--redis: a redis:// or rediss:// URL (REVERSE_PROXY_REDIS_URL, config redis); --no-auth needs --cluster-secret', () => {
    const env = { JWT_SECRET_KEY: SECRET };
    assert.equal(resolveGatewayOptions({ flags: {}, env }).options.redis, undefined);
    assert.equal(resolveGatewayOptions({ flags: { redis: 'redis://127.0.0.1:6379/0' }, env }).options.redis, 'redis://127.0.0.1:6379/0');
    assert.equal(resolveGatewayOptions({ flags: {}, env: { ...env, REVERSE_PROXY_REDIS_URL: 'rediss://r.example:6380' } }).options.redis, 'rediss://r.example:6380');
    assert.equal(resolveGatewayOptions({ flags: {}, env, file: { path: 'gw.yaml', data: { redis: 'redis://cache:6379' } } }).options.redis, 'redis://cache:6379');
    assert.throws(() => resolveGatewayOptions({ flags: { redis: 'http://127.0.0.1:6379' }, env }), /invalid --redis \(from --redis\): expected a Redis URL/);
    assert.throws(() => resolveGatewayOptions({ flags: { redis: 'redis://127.0.0.1', noAuth: true }, env: {} }), /missing --cluster-secret/);
    const ok = resolveGatewayOptions({ flags: { redis: 'redis://127.0.0.1', noAuth: true }, env: { REVERSE_PROXY_CLUSTER_SECRET: 's3cret' } }).options;
    assert.equal(ok.clusterSecret, 's3cret');
  });
});
