/** The gateway's ownership/limits/metrics options: parsing and validation. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveGatewayOptions } from '../../src/config/gateway-options.js';
import { ConfigError } from '../../src/errors.js';

const env = { JWT_SECRET_KEY: 'a-long-enough-secret-of-at-least-32-bytes' };
const resolve = (flags: Record<string, unknown>, data?: Record<string, unknown>) =>
  resolveGatewayOptions({ flags, env, ...(data ? { file: { path: 'gw.yaml', data } } : {}) }).options;

describe('gateway limits options', () => {
  it('defaults: servers closed, no extra origins, 20 sessions per user, /metrics open', () => {
    const o = resolve({});
    assert.deepEqual([o.openServers, o.allowedOrigins, o.maxSessionsPerUser, o.metricsAuth], [false, [], 20, false]);
  });

  it('reads flags and config-file keys', () => {
    const o = resolve({ openServers: true, allowedOrigins: 'https://App.example.com, http://localhost:6274,*', maxSessionsPerUser: '3', metricsAuth: true });
    assert.deepEqual([o.openServers, o.allowedOrigins, o.maxSessionsPerUser, o.metricsAuth], [true, ['https://app.example.com', 'http://localhost:6274', '*'], 3, true]);
    const f = resolve({}, { open_servers: true, allowed_origins: ['https://a.example'], max_sessions_per_user: 5, metrics_auth: 'yes' });
    assert.deepEqual([f.openServers, f.allowedOrigins, f.maxSessionsPerUser, f.metricsAuth], [true, ['https://a.example'], 5, true]);
  });

  it('refuses origins with a path, non-URLs and a zero session budget, naming the flag', () => {
    for (const bad of ['https://a.example/app', 'a.example', 'null']) {
      assert.throws(() => resolve({ allowedOrigins: bad }), (err: unknown) => err instanceof ConfigError && /--allowed-origins/.test(err.message) && /not an origin/.test(err.message));
    }
    assert.throws(() => resolve({ maxSessionsPerUser: '0' }), (err: unknown) => err instanceof ConfigError && /--max-sessions-per-user/.test(err.message));
    assert.throws(() => resolve({}, { allowed_origins: 42 }), (err: unknown) => err instanceof ConfigError && /--allowed-origins/.test(err.message));
  });

  it('HTTP server limits: defaults, flags and config-file keys', () => {
    const d = resolve({});
    assert.deepEqual([d.headersTimeout, d.receiveTimeout, d.keepAliveTimeout, d.maxConnections, d.maxMcpSessionsPerUser], [10, 30, 5, 1000, 100]);
    const f = resolve({ headersTimeout: '2.5', receiveTimeout: '4', keepAliveTimeout: '1', maxConnections: '50', maxMcpSessionsPerUser: '3' });
    assert.deepEqual([f.headersTimeout, f.receiveTimeout, f.keepAliveTimeout, f.maxConnections, f.maxMcpSessionsPerUser], [2.5, 4, 1, 50, 3]);
    const k = resolve({}, { headers_timeout: 5, receive_timeout: 60, keep_alive_timeout: 65, max_connections: 4096, max_mcp_sessions_per_user: 10 });
    assert.deepEqual([k.headersTimeout, k.receiveTimeout, k.keepAliveTimeout, k.maxConnections, k.maxMcpSessionsPerUser], [5, 60, 65, 4096, 10]);
  });

  it('HTTP server limits: zero, junk and a headers timeout above the receive timeout are refused, naming the flags', () => {
    const refused = (flags: Record<string, unknown>, data: Record<string, unknown> | undefined, pattern: RegExp) =>
      assert.throws(() => resolve(flags, data), (err: unknown) => err instanceof ConfigError && pattern.test(err.message), JSON.stringify(flags));
    refused({ headersTimeout: '0' }, undefined, /--headers-timeout "0" \(from --headers-timeout\)/);
    refused({ keepAliveTimeout: 'soon' }, undefined, /--keep-alive-timeout/);
    refused({ maxConnections: '0' }, undefined, /--max-connections/);
    refused({}, { max_mcp_sessions_per_user: -1 }, /--max-mcp-sessions-per-user .*config file gw\.yaml key max_mcp_sessions_per_user/);
    refused({ headersTimeout: '40' }, undefined, /--headers-timeout 40 \(from --headers-timeout\) is longer than --receive-timeout 30 \(default\)/);
    refused({ receiveTimeout: '5' }, undefined, /--headers-timeout 10 \(default\) is longer than --receive-timeout 5 \(from --receive-timeout\)/);
  });
});

describe('gateway tunnel-link limits', () => {
  it('default to 100 links and 20 unregistered links per user', () => {
    const o = resolve({});
    assert.deepEqual([o.maxLinksPerUser, o.maxPendingLinksPerUser], [100, 20]);
  });

  it('read flags and config-file keys, and refuse 0 naming the flag and its source', () => {
    const o = resolve({ maxLinksPerUser: '7', maxPendingLinksPerUser: '2' });
    assert.deepEqual([o.maxLinksPerUser, o.maxPendingLinksPerUser], [7, 2]);
    const f = resolve({}, { max_links_per_user: 9, max_pending_links_per_user: 3 });
    assert.deepEqual([f.maxLinksPerUser, f.maxPendingLinksPerUser], [9, 3]);
    assert.throws(() => resolve({ maxLinksPerUser: '0' }), (err: unknown) => err instanceof ConfigError && /--max-links-per-user "0" \(from --max-links-per-user\)/.test(err.message));
    assert.throws(
      () => resolve({}, { max_pending_links_per_user: 'lots' }),
      (err: unknown) => err instanceof ConfigError && /--max-pending-links-per-user/.test(err.message) && /key max_pending_links_per_user/.test(err.message),
    );
  });
});
