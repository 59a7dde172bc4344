/**
 * Server→client requests never cross users (docs/gateway.md, "Server→client requests"):
 * the real gateway with --open-servers, the real tunnel client, the sampling-server
 * fixture over stdio, and MCP SDK clients of two users that can both sample and list roots.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ListRootsRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { mintToken } from '../../../src/gateway/http/auth.js';
import { firstText, fixture, spawnBin, startGateway, stopAll, waitFor, waitForServer, type GatewayProc } from '../../helpers/system.js';

const SECRET = 'principals-e2e-secret-0123456789abcdef';
const SERVER = 'sampler';
const T = { timeout: 60_000 };

interface User {
  name: string;
  client: Client;
  /** Prompts of the sampling requests this user's client was asked. */
  sampled: string[];
  rootsAsked: number;
  /** notifications/message data from the server. */
  logs: string[];
  errors: string[];
  /** DELETE the MCP session (a closed SDK client alone leaves it on the gateway), then close. */
  close(): Promise<void>;
}

async function user(gw: GatewayProc, name: string): Promise<User> {
  const token = await mintToken({ username: name, secret: SECRET });
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/servers/${SERVER}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {}, roots: { listChanged: true } } });
  const close = async (): Promise<void> => {
    await transport.terminateSession();
    await client.close();
  };
  const u: User = { name, client, sampled: [], rootsAsked: 0, logs: [], errors: [], close };
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    const content = req.params.messages[0]?.content as { text?: string } | undefined;
    u.sampled.push(content?.text ?? '');
    return { role: 'assistant', content: { type: 'text', text: `answer from ${name}` }, model: 'test-model' };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    u.rootsAsked++;
    return { roots: [{ uri: `file:///home/${name}`, name }] };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void u.logs.push(String(n.params.data)));
  client.onerror = (err) => u.errors.push(err.message);
  await client.connect(transport);
  return u;
}

function ask(u: User) {
  return u.client.callTool({ name: 'ask', arguments: { who: u.name } });
}

describe('server→client requests with two users on one shared server', () => {
  let gw: GatewayProc;

  before(async () => {
    const token = await mintToken({ username: 'alice', secret: SECRET });
    gw = await startGateway(['--jwt-secret', SECRET, '--open-servers']);
    spawnBin(['--local-stdio', `node ${fixture('sampling-server.mjs')}`, '--gateway', gw.url, '--name', SERVER], { REVERSE_PROXY_TOKEN: token });
    await waitForServer(gw.url, token, SERVER);
  });
  after(stopAll);

  test('with requests of two users in flight, sampling goes to neither: the server gets an error, both calls an answer', T, async () => {
    const alice = await user(gw, 'alice');
    const bob = await user(gw, 'bob');
    // alice's ask is parked in the server; bob's go releases it while go is still in flight,
    // so the server's sampling request arrives with a request of each user pending.
    let isParked!: () => void;
    const parkedSeen = new Promise<void>((resolve) => (isParked = resolve));
    const parked = alice.client.callTool({ name: 'ask', arguments: { who: 'alice', park: true } }, undefined, { onprogress: () => isParked() });
    await parkedSeen;
    const went = await bob.client.callTool({ name: 'go', arguments: {} });
    assert.equal(firstText(went), 'went');
    const res = (await parked) as { isError?: boolean };
    assert.equal(res.isError, true, firstText(res));
    assert.match(firstText(res), /cannot tell which user sampling\/createMessage .* is for \(requests of 2 users are in flight\)/);
    assert.deepEqual([alice.sampled, bob.sampled], [[], []], 'nobody was asked');
    assert.match(gw.stderr(), /"event":"server_request_ambiguous"/);
    await Promise.all([alice.close(), bob.close()]);
  });

  test('a user alone gets the sampling request for its own call', T, async () => {
    const alice = await user(gw, 'alice');
    const bob = await user(gw, 'bob');
    assert.equal(firstText(await ask(alice)), 'sampled: answer from alice');
    assert.equal(firstText(await ask(bob)), 'sampled: answer from bob');
    assert.deepEqual([alice.sampled, bob.sampled], [['alice'], ['bob']]);
    await Promise.all([alice.close(), bob.close()]);
  });

  test('twelve concurrent calls of two users: never crossed, every call answered', T, async () => {
    const alice = await user(gw, 'alice');
    const bob = await user(gw, 'bob');
    const calls = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? alice : bob)).map(async (u) => ({ u, res: await ask(u) }));
    const results = await Promise.all(calls);
    for (const { u, res } of results) {
      const text = firstText(res);
      // Own answer, or the gateway's refusal to guess; never the other user's answer.
      if ((res as { isError?: boolean }).isError) assert.match(text, /cannot tell which user/);
      else assert.equal(text, `sampled: answer from ${u.name}`);
    }
    assert.ok(alice.sampled.every((p) => p === 'alice'), `alice was asked for ${JSON.stringify(alice.sampled)}`);
    assert.ok(bob.sampled.every((p) => p === 'bob'), `bob was asked for ${JSON.stringify(bob.sampled)}`);
    assert.deepEqual([alice.errors, bob.errors], [[], []]);
    await Promise.all([alice.close(), bob.close()]);
  });

  test('roots/list with nothing in flight: refused while two users could answer, answered once only one can', T, async () => {
    const alice = await user(gw, 'alice');
    const bob = await user(gw, 'bob');
    await alice.client.sendRootsListChanged();
    const outcome = await waitFor(() => alice.logs.find((l) => l.startsWith('roots')), 'the server to report its roots/list outcome');
    assert.match(outcome, /^roots error: .*cannot tell which user roots\/list .* is for \(clients of 2 users could answer it\)/);
    assert.deepEqual([alice.rootsAsked, bob.rootsAsked], [0, 0]);

    await bob.close();
    alice.logs.length = 0;
    await alice.client.sendRootsListChanged();
    const second = await waitFor(() => alice.logs.find((l) => l.startsWith('roots')), 'the second roots/list outcome');
    assert.equal(second, `roots: ${JSON.stringify([{ uri: 'file:///home/alice', name: 'alice' }])}`);
    assert.equal(alice.rootsAsked, 1);
    await alice.close();
  });
});
