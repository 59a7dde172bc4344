import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasServerList, resolveServerList } from '../../src/config/server-list.js';
import { ConfigError } from '../../src/errors.js';

const file = (data: Record<string, unknown>) => ({ path: '/etc/mrp/servers.yaml', data });
const two = (extra: Record<string, unknown> = {}, entries: Array<Record<string, unknown>> = [{}, {}]) =>
  file({
    gateway: 'https://top.example',
    ...extra,
    servers: [
      { name: 'git', command: 'uvx mcp-server-git', ...entries[0] },
      { name: 'files', local_stdio: ['npx', '-y', '@modelcontextprotocol/server-filesystem', '/data dir'], ...entries[1] },
    ],
  });

function configError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should contain "${f}"`);
    return true;
  });
}

describe('resolveServerList', () => {
  it('detects a servers: list', () => {
    assert.equal(hasServerList(two()), true);
    assert.equal(hasServerList(file({ gateway: 'x' })), false);
    assert.equal(hasServerList(undefined), false);
  });

  it('one ConnectOptions per entry; top-level keys are defaults; command is local_stdio', () => {
    const { servers } = resolveServerList({ flags: {}, env: {}, file: two({ keepalive: 12 }, [{ keepalive: 7 }, {}]) });
    assert.deepEqual(
      servers.map((s) => [s.name, s.localStdio, s.gateway, s.keepalive]),
      [
        ['git', 'uvx mcp-server-git', 'https://top.example', 7],
        ['files', "npx -y \\@modelcontextprotocol/server-filesystem '/data dir'", 'https://top.example', 12],
      ],
    );
    assert.equal(servers[0]!.restart, 'never');
  });

  it('precedence: flag > entry key > environment > top-level key > default', () => {
    const f = two({ token: 'top', reconnect_delay: 3, transport: 'sse' }, [{ token: 'entry', reconnect_delay: 4 }, {}]);
    const env = { REVERSE_PROXY_TOKEN: 'env', REVERSE_PROXY_RECONNECT_DELAY: '5' };
    const { servers } = resolveServerList({ flags: { transport: 'poll' }, env, file: f });
    assert.deepEqual(servers.map((s) => [s.token, s.reconnectDelay, s.transport]), [
      ['entry', 4, 'poll'],
      ['env', 5, 'poll'],
    ]);
    const none = resolveServerList({ flags: {}, env: {}, file: f }).servers;
    assert.deepEqual(none.map((s) => [s.token, s.reconnectDelay, s.transport]), [
      ['entry', 4, 'sse'],
      ['top', 3, 'sse'],
    ]);
  });

  it('per-server options: restart, proxy, gateway, TLS paths relative to the file', () => {
    const { servers } = resolveServerList({
      flags: {},
      env: {},
      file: two({}, [{ restart: 'on-failure', restart_max: 2, gateway: 'wss://other.example/p', ca_file: 'ca.pem' }, { proxy: 'http://proxy:3128' }]),
    });
    assert.equal(servers[0]!.restart, 'on-failure');
    assert.equal(servers[0]!.restartMax, 2);
    assert.equal(servers[0]!.gateway, 'wss://other.example/p');
    assert.equal(servers[0]!.caFile, '/etc/mrp/ca.pem');
    assert.equal(servers[1]!.proxy, 'http://proxy:3128');
  });

  it('identity comes only from entries: flags refused, variables ignored with a warning', () => {
    configError(() => resolveServerList({ flags: { localStdio: 'x' }, env: {}, file: two() }), '--local-stdio cannot be combined with the servers: list');
    configError(() => resolveServerList({ flags: { name: 'x' }, env: {}, file: two() }), '--name');
    const { servers, warnings } = resolveServerList({ flags: {}, env: { REVERSE_PROXY_NAME: 'env-name', REVERSE_PROXY_LOCAL_STDIO: 'env-cmd' }, file: two() });
    assert.deepEqual(servers.map((s) => s.name), ['git', 'files']);
    assert.ok(warnings.some((w) => w.includes('REVERSE_PROXY_NAME is ignored')), warnings.join('\n'));
    configError(() => resolveServerList({ flags: {}, env: {}, file: two({ local_stdio: 'x' }) }), 'top-level "local_stdio"');
  });

  it('process-wide keys in an entry are ignored with a warning; at the top level they apply', () => {
    const { servers, warnings } = resolveServerList({ flags: {}, env: {}, file: two({ metrics_port: 9464 }, [{ log_level: 'DEBUG' }, {}]) });
    assert.deepEqual(servers.map((s) => [s.logLevel, s.metricsPort]), [
      ['INFO', 9464],
      ['INFO', 9464],
    ]);
    assert.ok(warnings.some((w) => w.includes('servers[0]: "log_level" applies to the whole process')), warnings.join('\n'));
  });

  it('errors name the entry', () => {
    configError(() => resolveServerList({ flags: {}, env: {}, file: two({}, [{}, { reconnect_delay: 'soon' }]) }), 'servers[1] ("files")', '--reconnect-delay');
    configError(() => resolveServerList({ flags: {}, env: {}, file: two({}, [{ name: 'same' }, { name: 'same' }]) }), 'already used by servers[0]');
    configError(
      () => resolveServerList({ flags: {}, env: {}, file: two({}, [{ name: 'Same' }, { name: 'same' }]) }),
      'servers[1] ("same")',
      'already used by servers[0] ("Same", names are compared without regard to case)',
    );
    configError(() => resolveServerList({ flags: {}, env: {}, file: file({ servers: [] }) }), 'non-empty list');
    configError(() => resolveServerList({ flags: {}, env: {}, file: file({ servers: ['x'] }) }), 'servers[0]', 'mapping');
    configError(() => resolveServerList({ flags: {}, env: {}, file: file({ servers: [{ command: 'a', local_stdio: 'b', gateway: 'https://g' }] }) }), 'not both');
    configError(() => resolveServerList({ flags: {}, env: {}, file: file({ servers: [{ name: 'x', command: 'a' }] }) }), 'servers[0] ("x")', 'missing --gateway');
  });

  it('a secret in a bad entry is not echoed', () => {
    assert.throws(
      () => resolveServerList({ flags: {}, env: {}, file: two({}, [{ token: 12345678 }, {}]) }),
      (err: Error) => !err.message.includes('12345678') && err.message.includes('--token'),
    );
  });
});
