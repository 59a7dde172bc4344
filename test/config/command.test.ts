import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deriveServerName, parseCommand } from '../../src/config/command.js';
import { ConfigError } from '../../src/errors.js';

describe('parseCommand', () => {
  it('splits like shlex: quotes and escapes', () => {
    assert.deepEqual(parseCommand(`node server.js --name "my server" 'a b' c\\ d`), {
      file: 'node',
      args: ['server.js', '--name', 'my server', 'a b', 'c d'],
    });
  });

  it('keeps $VARIABLES literal (no expansion, there is no shell)', () => {
    assert.deepEqual(parseCommand('server --home $HOME "$USER"').args, ['--home', '$HOME', '$USER']);
  });

  it('passes shell syntax inside a quoted sh -c through untouched', () => {
    assert.deepEqual(parseCommand(`sh -c 'server | tee log'`).args, ['-c', 'server | tee log']);
  });

  for (const [cmd, shown] of [
    ['server | tee log', "'|'"],
    ['a && b', "'&&'"],
    ['server > out.txt', "'>'"],
    ['a; b', "';'"],
    ['server &', "'&'"],
    ['server *.json', "glob '*.json'"],
    ['server # note', "'#'"],
  ] as const) {
    it(`refuses ${shown} with a hint to wrap the command in sh -c`, () => {
      assert.throws(
        () => parseCommand(cmd),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes('without a shell') &&
          err.message.includes(shown) &&
          err.message.includes(`sh -c`),
      );
    });
  }

  it('refuses an empty command', () => {
    assert.throws(() => parseCommand('   '), (err: unknown) => err instanceof ConfigError && /empty/.test(err.message));
    assert.throws(() => parseCommand('""'), ConfigError);
  });
});

describe('deriveServerName', () => {
  const cases: Array<[string, string]> = [
    ['npx -y @modelcontextprotocol/server-everything stdio', 'server-everything'],
    ['npx -y @modelcontextprotocol/server-filesystem@2025.1.0 /tmp', 'server-filesystem'],
    ['npx mcp-remote@latest https://x', 'mcp-remote'],
    ['uvx mcp-server-git', 'mcp-server-git'],
    ['uvx --from git+https://github.com/x/y mcp-server-y', 'mcp-server-y'],
    ['uv run python -m my_server', 'my_server'],
    ['python -m my_server', 'my_server'],
    ['python3 -u server_main.py', 'server_main'],
    ['node fixtures/echo-server.js', 'echo-server'],
    ['node fixtures/echo-server.mjs --noise', 'echo-server'],
    ['node --import tsx src/weather.ts', 'weather'],
    ['node node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio', 'server-everything'],
    ['pnpm dlx @acme/Tools_Server', 'tools_server'],
    ['bunx my-mcp', 'my-mcp'],
    ['deno run --allow-net https://example.com/mcp/github.ts', 'github'],
    ['env FOO=1 /opt/bin/My Server', 'my'],
    ['/usr/local/bin/weather-mcp --port 1', 'weather-mcp'],
    ['docker run -i --rm -e TZ=UTC mcp/time:latest', 'time'],
    ['node', 'node'],
    ['npx', 'npx'],
    ['node @@@', 'mcp-server'],
  ];
  for (const [cmd, name] of cases) {
    it(`${cmd} → ${name}`, () => assert.equal(deriveServerName(cmd), name));
  }

  it('always yields a name made of [a-z0-9._-]', () => {
    for (const cmd of ['node "Über Server!.js"', 'npx @Scope/UPPER@1', "python -m 'a b c'"]) {
      assert.match(deriveServerName(cmd), /^[a-z0-9._-]+$/);
    }
  });
});
