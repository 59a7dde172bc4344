import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConnectOptions } from '../../src/config/connect-options.js';
import { parseByteSize } from '../../src/config/sizes.js';
import { CONNECT_DEFAULTS } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';

const BASE_FLAGS = { localStdio: 'node fixtures/echo-server.mjs', gateway: 'https://gw.example' };
const file = (data: Record<string, unknown>) => ({ path: 'cfg.yaml', data });

function resolve(flags: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}, data?: Record<string, unknown>) {
  return resolveConnectOptions({ flags: { ...BASE_FLAGS, ...flags }, env, ...(data ? { file: file(data) } : {}) });
}

/** Asserts a ConfigError whose message contains every fragment, and returns the message. */
function configError(fn: () => unknown, ...fragments: string[]): string {
  let message = '';
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    message = err.message;
    for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should contain "${f}"`);
    return true;
  });
  return message;
}

describe('resolveConnectOptions: precedence flag > env > config file > default', () => {
  const fields: Array<{ flag: string; env: string; key: string; values: [string, string, unknown]; expect: [unknown, unknown, unknown, unknown] }> = [
    { flag: 'reconnectDelay', env: 'REVERSE_PROXY_RECONNECT_DELAY', key: 'reconnect_delay', values: ['5', '4', 3], expect: [5, 4, 3, 1] },
    { flag: 'maxRetries', env: 'REVERSE_PROXY_MAX_RETRIES', key: 'max_retries', values: ['9', '8', 7], expect: [9, 8, 7, 0] },
    { flag: 'keepalive', env: 'REVERSE_PROXY_KEEPALIVE', key: 'keepalive', values: ['12', '11', 10], expect: [12, 11, 10, 30] },
    { flag: 'transport', env: 'REVERSE_PROXY_TRANSPORT', key: 'transport', values: ['ws', 'sse', 'poll'], expect: ['ws', 'sse', 'poll', 'auto'] },
    { flag: 'serverEra', env: 'REVERSE_PROXY_SERVER_ERA', key: 'server_era', values: ['legacy', 'MODERN', 'legacy'], expect: ['legacy', 'modern', 'legacy', 'auto'] },
    { flag: 'name', env: 'REVERSE_PROXY_NAME', key: 'name', values: ['from-flag', 'from-env', 'from-file'], expect: ['from-flag', 'from-env', 'from-file', 'echo-server'] },
    { flag: 'token', env: 'REVERSE_PROXY_TOKEN', key: 'token', values: ['t-flag', 't-env', 't-file'], expect: ['t-flag', 't-env', 't-file', undefined] },
    { flag: 'maxQueueBytes', env: 'REVERSE_PROXY_MAX_QUEUE_BYTES', key: 'max_queue_bytes', values: ['1MiB', '2048', '4KiB'], expect: [1048576, 2048, 4096, 16777216] },
    { flag: 'proxyUser', env: 'REVERSE_PROXY_PROXY_USER', key: 'proxy_user', values: ['CORP\\a', 'CORP\\b', 'c@corp.example'], expect: ['CORP\\a', 'CORP\\b', 'c@corp.example', undefined] },
    { flag: 'proxyPassword', env: 'REVERSE_PROXY_PROXY_PASSWORD', key: 'proxy_password', values: ['p1', 'p2', 'p3'], expect: ['p1', 'p2', 'p3', undefined] },
    { flag: 'proxyPac', env: 'REVERSE_PROXY_PROXY_PAC', key: 'proxy_pac', values: ['http://wpad/proxy.pac', 'https://corp/p.pac', '/etc/proxy.pac'], expect: ['http://wpad/proxy.pac', 'https://corp/p.pac', '/etc/proxy.pac', undefined] },
    { flag: 'proxyPacRefresh', env: 'REVERSE_PROXY_PROXY_PAC_REFRESH', key: 'proxy_pac_refresh', values: ['60', '120', 30], expect: [60, 120, 30, 300] },
    { flag: 'gateway', env: 'REVERSE_PROXY_GATEWAY', key: 'gateway', values: ['https://flag', 'wss://env', 'http://file:8080/x'], expect: ['https://flag', 'wss://env', 'http://file:8080/x', undefined] },
  ];
  for (const { flag, env, key, values, expect } of fields) {
    it(`${flag}: ${env}, ${key}`, () => {
      const flags: Record<string, unknown> = { localStdio: BASE_FLAGS.localStdio, [flag]: values[0] };
      const environment = { [env]: values[1] };
      const data = { [key]: values[2] };
      const pick = (f: Record<string, unknown>, e: NodeJS.ProcessEnv, d?: Record<string, unknown>) =>
        (resolveConnectOptions({ flags: { ...(flag === 'gateway' ? {} : { gateway: 'https://base' }), ...f }, env: e, ...(d ? { file: file(d) } : {}) }).options as unknown as Record<string, unknown>)[flag];
      assert.equal(pick(flags, environment, data), expect[0], 'flag wins');
      const { [flag]: _dropped, ...noFlag } = flags;
      assert.equal(pick(noFlag, environment, data), expect[1], 'env beats the file');
      assert.equal(pick(noFlag, {}, data), expect[2], 'file beats the default');
      if (flag !== 'gateway') assert.equal(pick(noFlag, {}, {}), expect[3], 'default');
    });
  }

  it('an empty environment variable counts as unset', () => {
    assert.equal(resolve({}, { REVERSE_PROXY_KEEPALIVE: '' }, { keepalive: 7 }).options.keepalive, 7);
  });

  it('fills every default from CONNECT_DEFAULTS', () => {
    const { options, warnings } = resolve();
    assert.deepEqual(options, {
      ...CONNECT_DEFAULTS,
      localStdio: BASE_FLAGS.localStdio,
      gateway: BASE_FLAGS.gateway,
      name: 'echo-server',
    });
    assert.deepEqual(warnings, []);
  });

  it('local_stdio may be a list of words in a config file', () => {
    const { options } = resolveConnectOptions({
      flags: { gateway: 'https://gw' },
      env: {},
      file: file({ local_stdio: ['node', 'my server.js', '--flag'] }),
    });
    assert.equal(options.localStdio, "node 'my server.js' --flag");
    assert.equal(options.name, 'my-server');
  });

  it('resolves relative certificate paths in a config file against the file, not the cwd', () => {
    const { options } = resolveConnectOptions({
      flags: BASE_FLAGS,
      env: { REVERSE_PROXY_CERT: 'rel/client.pem' },
      file: { path: '/etc/mcp/cfg.yaml', data: { ca_file: 'ca.pem', key: '/abs/key.pem' } },
    });
    assert.equal(options.caFile, '/etc/mcp/ca.pem');
    assert.equal(options.cert, 'rel/client.pem');
    assert.equal(options.key, '/abs/key.pem');
  });
});

describe('resolveConnectOptions: log level', () => {
  it('is case-insensitive and accepts WARN for WARNING', () => {
    assert.equal(resolve({ logLevel: 'debug' }).options.logLevel, 'DEBUG');
    assert.equal(resolve({}, { REVERSE_PROXY_LOG_LEVEL: 'Warning' }).options.logLevel, 'WARNING');
    assert.equal(resolve({}, {}, { log_level: 'warn' }).options.logLevel, 'WARNING');
    assert.equal(resolve({ logLevel: 'CRITICAL' }).options.logLevel, 'CRITICAL');
  });

  it('--verbose wins over every --log-level source', () => {
    assert.equal(resolve({ verbose: true, logLevel: 'ERROR' }, { REVERSE_PROXY_LOG_LEVEL: 'ERROR' }).options.logLevel, 'DEBUG');
  });

  it('rejects an unknown level, listing the valid ones', () => {
    configError(() => resolve({}, { REVERSE_PROXY_LOG_LEVEL: 'loud' }), '--log-level', '"loud"', 'REVERSE_PROXY_LOG_LEVEL', 'DEBUG, INFO, WARNING, ERROR, CRITICAL');
  });
});

describe('resolveConnectOptions: validation names the option and its source', () => {
  it('reconnect delay from each source', () => {
    const expected = 'expected a number of seconds > 0';
    assert.equal(
      configError(() => resolve({ reconnectDelay: 'abc' }), expected),
      'invalid --reconnect-delay "abc" (from --reconnect-delay): expected a number of seconds > 0',
    );
    assert.equal(
      configError(() => resolve({}, { REVERSE_PROXY_RECONNECT_DELAY: 'abc' })),
      'invalid --reconnect-delay "abc" (from REVERSE_PROXY_RECONNECT_DELAY): expected a number of seconds > 0',
    );
    assert.equal(
      configError(() => resolve({}, {}, { reconnect_delay: 'abc' })),
      'invalid --reconnect-delay "abc" (from config file cfg.yaml key reconnect_delay): expected a number of seconds > 0',
    );
    configError(() => resolve({ reconnectDelay: '0' }), '--reconnect-delay', '"0"');
    configError(() => resolve({ reconnectDelay: '-1' }), '--reconnect-delay', '"-1"');
    assert.equal(resolve({ reconnectDelay: '0.25' }).options.reconnectDelay, 0.25);
  });

  for (const [flags, env, data, fragments] of [
    [{ maxRetries: '1.5' }, {}, undefined, ['--max-retries', '"1.5"', '(from --max-retries)', 'whole number']],
    [{}, { REVERSE_PROXY_MAX_RETRIES: '-3' }, undefined, ['--max-retries', '(from REVERSE_PROXY_MAX_RETRIES)']],
    [{}, {}, { keepalive: 'soon' }, ['--keepalive', '"soon"', '(from config file cfg.yaml key keepalive)']],
    [{ transport: 'carrier-pigeon' }, {}, undefined, ['--transport', 'auto, ws, sse, poll', '(from --transport)']],
    [{}, {}, { server_era: '2026' }, ['--server-era', '"2026"', 'auto, legacy, modern', '(from config file cfg.yaml key server_era)']],
    [{}, { REVERSE_PROXY_MAX_QUEUE_BYTES: '16 lots' }, undefined, ['--max-queue-bytes', '"16 lots"', 'REVERSE_PROXY_MAX_QUEUE_BYTES', '16MiB']],
    [{ maxLineBytes: '10' }, {}, undefined, ['--max-line-bytes', '>= 1 KiB']],
    [{}, {}, { init_timeout: true }, ['--init-timeout', 'true', 'key init_timeout']],
    [{ handshakeTimeout: 'x' }, {}, undefined, ['--handshake-timeout', '(from --handshake-timeout)']],
    [{ name: 'has spaces' }, {}, undefined, ['--name', '"has spaces"', '(from --name)']],
    [{}, { REVERSE_PROXY_NAME: 'a/b' }, undefined, ['--name', '"a/b"', '(from REVERSE_PROXY_NAME)', 'ASCII letters, digits']],
    [{}, {}, { name: 'zero\u200bwidth' }, ['--name', '(from config file cfg.yaml key name)', 'starting with a letter or digit']],
    [{ name: 'tab\tname' }, {}, undefined, ['--name', '(from --name)']],
    [{ name: '..' }, {}, undefined, ['--name', '".."']],
    [{ name: 'x'.repeat(65) }, {}, undefined, ['--name', '1-64']],
    [{ localStdio: undefined }, {}, { local_stdio: 'a && b' }, ["'&&'", 'sh -c', '(from config file cfg.yaml key local_stdio)']],
    [{ gateway: 'ftp://gw.example/x' }, {}, undefined, ['--gateway', '"ftp://gw.example/x"', 'http://, https://, ws:// or wss://']],
    [{ gateway: 'gw.example:8080' }, {}, undefined, ['--gateway', 'not a valid URL']],
    [{}, { REVERSE_PROXY_PROXY: 'socks5://p:1080' }, undefined, ['--proxy', 'REVERSE_PROXY_PROXY', 'http://']],
    [{ cert: 'c.pem' }, {}, undefined, ['--cert and --key']],
  ] as const) {
    it(fragments.join(' / '), () => {
      configError(() => resolve(flags, env, data), ...fragments);
    });
  }

  it('names flag, env variable and config key when --local-stdio or --gateway is missing', () => {
    configError(
      () => resolveConnectOptions({ flags: { gateway: 'https://gw' }, env: {} }),
      'missing --local-stdio',
      'REVERSE_PROXY_LOCAL_STDIO',
      'local_stdio',
    );
    configError(
      () => resolveConnectOptions({ flags: { localStdio: 'srv' }, env: {} }),
      'missing --gateway',
      'REVERSE_PROXY_GATEWAY',
      'config file key gateway',
    );
  });
});

describe('resolveConnectOptions: secrets stay out of messages', () => {
  it('refuses a gateway URL with userinfo without echoing it', () => {
    for (const url of ['https://alice:hunter2@gw.example', 'wss://eyJtoken.abc.def@gw.example/x', 'https://:hunter2@gw.example']) {
      const message = configError(() => resolve({ gateway: url }), '--gateway', 'must not contain credentials', '--token');
      assert.doesNotMatch(message, /hunter2|eyJtoken|alice/);
    }
    const fromEnv = configError(() => resolve({ gateway: undefined }, { REVERSE_PROXY_GATEWAY: 'http://u:pw-secret@gw' }), 'REVERSE_PROXY_GATEWAY');
    assert.doesNotMatch(fromEnv, /pw-secret/);
  });

  it('never echoes a token or a proxy password', () => {
    const empty = configError(() => resolve({ token: '   ' }), '--token', '(from --token)');
    assert.doesNotMatch(empty, /"/);
    const proxy = configError(() => resolve({ proxy: 'ftp://bob:pa55@proxy:21' }), '--proxy');
    assert.doesNotMatch(proxy, /pa55|bob/);
    const noScheme = configError(() => resolve({ proxy: 'bob:pa55@proxy:3128' }), '--proxy', 'not a valid URL');
    assert.doesNotMatch(noScheme, /pa55/);
  });

  it('never echoes --proxy-password, from any source', () => {
    const message = configError(() => resolve({}, { REVERSE_PROXY_PROXY_PASSWORD: '   ' }), '--proxy-password', 'REVERSE_PROXY_PROXY_PASSWORD');
    assert.doesNotMatch(message, /"/);
  });

  it('a PAC URL with credentials or another scheme is refused without echoing them', () => {
    const creds = configError(() => resolve({ proxyPac: 'http://u:pac-secret@wpad/proxy.pac' }), '--proxy-pac', 'must not contain credentials');
    assert.doesNotMatch(creds, /pac-secret/);
    configError(() => resolve({ proxyPac: 'ftp://wpad/proxy.pac' }), '--proxy-pac', 'http://, https:// or file://');
  });

  it('a relative PAC path in a config file is relative to the file', () => {
    assert.equal(resolveConnectOptions({ flags: BASE_FLAGS, env: {}, file: { path: '/etc/mcp/cfg.yaml', data: { proxy_pac: 'proxy.pac' } } }).options.proxyPac, '/etc/mcp/proxy.pac');
  });

  it('keeps proxy credentials in the value itself (the proxy needs them)', () => {
    assert.equal(resolve({ proxy: 'http://bob:pa55@proxy:3128' }).options.proxy, 'http://bob:pa55@proxy:3128');
  });

  it('--proxy system (any case, from any source) means the OS settings; other words are still refused', () => {
    assert.equal(resolve({ proxy: 'system' }).options.proxy, 'system');
    assert.equal(resolve({}, { REVERSE_PROXY_PROXY: 'System' }).options.proxy, 'system');
    assert.equal(resolve({}, {}, { proxy: 'SYSTEM' }).options.proxy, 'system');
    configError(() => resolve({ proxy: 'os' }), '--proxy', 'or system');
  });
});

describe('resolveConnectOptions: config file', () => {
  it('warns about unknown keys, suggesting the snake_case name', () => {
    const { warnings } = resolve({}, {}, { reconnectDelay: 2, colour: 'blue' });
    assert.deepEqual(warnings, [
      'config file cfg.yaml: unknown key "reconnectDelay" ignored (did you mean reconnect_delay?)',
      'config file cfg.yaml: unknown key "colour" ignored',
    ]);
  });

  it('leaves a multi-server (servers:) file to resolveServerList', () => {
    configError(() => resolve({}, {}, { servers: [{ local_stdio: 'a' }] }), 'has a servers: list; resolve it with resolveServerList');
  });
});

describe('parseByteSize', () => {
  for (const [text, bytes] of [
    ['16777216', 16777216],
    ['16MiB', 16 * 1024 * 1024],
    ['16 mib', 16 * 1024 * 1024],
    ['512KiB', 512 * 1024],
    ['1MB', 1_000_000],
    ['2kb', 2000],
    ['4m', 4 * 1024 * 1024],
    ['1G', 1024 ** 3],
    ['1.5KiB', 1536],
    ['100B', 100],
    [4096, 4096],
  ] as const) {
    it(`${String(text)} → ${bytes}`, () => assert.equal(parseByteSize(text), bytes));
  }
  for (const text of ['', 'abc', '-1', '1.5', '12 parsecs', '0x10', 1.5, -2]) {
    it(`${JSON.stringify(text)} is not a size`, () => assert.equal(parseByteSize(text), undefined));
  }
});
