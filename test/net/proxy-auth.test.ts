/**
 * Proxy authentication chosen from the 407 challenge (src/net/proxy-auth/): which scheme
 * is picked, what each answer looks like, and that a rejection is one clear error naming
 * the scheme and never the secret. The real handshakes with squid are in
 * test/e2e/networks-proxy-auth.test.ts and networks-kerberos.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyAuthenticator } from '../../src/net/proxy-auth/authenticator.js';
import { parseChallenges } from '../../src/net/proxy-auth/challenges.js';
import { splitDomainUser } from '../../src/net/proxy-auth/ntlm.js';
import { parseProxy } from '../../src/net/proxy.js';
import { ProxyRoute } from '../../src/net/proxy-route.js';
import { ProxyAuthError } from '../../src/errors.js';

/** The type 2 message squid's ntlm_fake_auth sends (its target-name offset is garbage). */
const SQUID_TYPE2 = 'TlRMTVNTUAACAAAACQAJAK6qqqoGgggA523k55E2REAAAAAAAAA6AFdPUktHUk9VUA==';
const noKerberos = () => ({ error: 'is not installed' });

function authenticator(url: string, onauthenticated?: (s: string, p: string) => void): ProxyAuthenticator {
  return new ProxyAuthenticator(parseProxy(url, '--proxy'), { kerberos: noKerberos, ...(onauthenticated ? { onauthenticated } : {}) });
}

async function rejects(p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  let message = '';
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ProxyAuthError, `expected ProxyAuthError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_PROXY_AUTH');
    message = err.message;
    for (const re of patterns) assert.match(err.message, re);
    return true;
  });
  return message;
}

describe('Proxy-Authenticate parsing', () => {
  const cases: Array<[string[], Array<[string, string]>]> = [
    [['NTLM'], [['NTLM', '']]],
    [['Negotiate', 'NTLM', 'Basic realm="corp proxy"'], [['Negotiate', ''], ['NTLM', ''], ['Basic', 'realm="corp proxy"']]],
    [['Basic realm="a, b", charset="UTF-8", NTLM'], [['Basic', 'realm="a, b", charset="UTF-8"'], ['NTLM', '']]],
    [['negotiate YIIabc=='], [['Negotiate', 'YIIabc==']]],
    [[`NTLM ${SQUID_TYPE2}`], [['NTLM', SQUID_TYPE2]]],
    [['Digest realm="x", nonce="y"'], [['Digest', 'realm="x", nonce="y"']]],
    [[], []],
  ];
  for (const [values, expected] of cases) {
    test(JSON.stringify(values), () => assert.deepEqual([...parseChallenges(values)], expected));
  }

  test('DOMAIN\\user splits; user@domain and a bare user do not', () => {
    assert.deepEqual(splitDomainUser('CORP\\carol'), { domain: 'CORP', user: 'carol' });
    assert.deepEqual(splitDomainUser('carol@corp.example'), { domain: '', user: 'carol@corp.example' });
    assert.deepEqual(splitDomainUser('carol'), { domain: '', user: 'carol' });
  });
});

describe('choosing the scheme from the 407 (curl --proxy-anyauth)', () => {
  test('the first request carries no credentials until a scheme is known', async () => {
    assert.equal(await authenticator('http://pat:pw@proxy:3128').handshake().first(), undefined);
  });

  test('Basic: one header; a second 407 is a rejection naming Basic and the user, not the password', async () => {
    const h = authenticator('http://pat:s3cret-pw@proxy:3128').handshake();
    assert.equal(await h.next(parseChallenges(['Basic realm="corp"'])), `Basic ${Buffer.from('pat:s3cret-pw').toString('base64')}`);
    const message = await rejects(h.next(parseChallenges(['Basic realm="corp"'])), /rejected Basic authentication as user "pat" \(HTTP 407\)/);
    assert.ok(!message.includes('s3cret'));
  });

  test('NTLM: type 1, then type 3 (NTLMv2) for the challenge on the same handshake; squid\'s sloppy type 2 is accepted', async () => {
    const h = authenticator('http://CORP%5Ccarol:pw@proxy:3128').handshake();
    const type1 = await h.next(parseChallenges(['NTLM', 'Basic realm="corp"']));
    assert.match(type1, /^NTLM TlRMTVNTUAABAAAA/, 'NTLM is preferred over Basic');
    const type3 = await h.next(parseChallenges([`NTLM ${SQUID_TYPE2}`]));
    assert.match(type3, /^NTLM TlRMTVNTUAADAAAA/);
    const msg = Buffer.from(type3.slice(5), 'base64');
    const field = (at: number): Buffer => msg.subarray(msg.readUInt32LE(at + 4), msg.readUInt32LE(at + 4) + msg.readUInt16LE(at));
    assert.ok(field(20).length > 24, 'an NTLMv2 response (longer than the 24 bytes of NTLMv1)');
    assert.match(field(36).toString('utf16le') + field(36).toString('latin1'), /carol/);
    assert.match(field(28).toString('utf16le') + field(28).toString('latin1'), /CORP/);
  });

  test('NTLM: a 407 after our type 3 is one error naming NTLM and DOMAIN\\user, never the password', async () => {
    const h = authenticator('http://CORP%5Ccarol:Hunter2!@proxy:3128').handshake();
    await h.next(parseChallenges(['NTLM']));
    await h.next(parseChallenges([`NTLM ${SQUID_TYPE2}`]));
    const message = await rejects(h.next(parseChallenges(['NTLM'])), /rejected NTLM authentication as CORP\\carol \(HTTP 407\)/, /domain, user name and password/);
    assert.ok(!message.includes('Hunter2'));
  });

  test('NTLM: a malformed challenge is a clear error, not a crash', async () => {
    const h = authenticator('http://CORP%5Ccarol:pw@proxy:3128').handshake();
    await h.next(parseChallenges(['NTLM']));
    await rejects(h.next(parseChallenges([`NTLM ${Buffer.from('not an ntlm message').toString('base64')}`])), /NTLM authentication failed: the proxy sent a malformed NTLM challenge/);
  });

  test('no credentials for NTLM: the error says which scheme the proxy wants and where credentials go', async () => {
    await rejects(authenticator('http://proxy:3128').handshake().next(parseChallenges(['NTLM'])), /offers NTLM/, /no credentials are set/, /REVERSE_PROXY_PROXY_USER/, /DOMAIN%5Cuser/);
  });

  test('Negotiate only, kerberos module missing: the error says what to install', async () => {
    await rejects(authenticator('http://proxy:3128').handshake().next(parseChallenges(['Negotiate'])), /offers Negotiate/, /"kerberos" module is not installed/, /libkrb5-dev/, /npm rebuild kerberos/);
  });

  test('Negotiate and NTLM offered, no usable Kerberos here: NTLM with the credentials', async () => {
    const h = authenticator('http://CORP%5Ccarol:pw@proxy:3128').handshake();
    assert.match(await h.next(parseChallenges(['Negotiate', 'NTLM'])), /^NTLM /);
  });

  test('only unsupported schemes: says so', async () => {
    await rejects(authenticator('http://u:p@proxy:3128').handshake().next(parseChallenges(['Digest realm="x"'])), /offers Digest/, /none of them is supported/);
  });

  test('the scheme that worked is remembered: the next connection authenticates on its first request, and it is announced once', async () => {
    const announced: string[] = [];
    const auth = authenticator('http://CORP%5Ccarol:pw@proxy:3128', (s, p) => announced.push(`${s} ${p}`));
    const h = auth.handshake();
    await h.next(parseChallenges(['NTLM']));
    await h.next(parseChallenges([`NTLM ${SQUID_TYPE2}`]));
    h.succeeded();
    assert.equal(auth.scheme, 'NTLM');
    assert.match((await auth.handshake().first()) ?? '', /^NTLM TlRMTVNTUAABAAAA/);
    const again = auth.handshake();
    await again.first();
    await again.next(parseChallenges([`NTLM ${SQUID_TYPE2}`]));
    again.succeeded();
    assert.deepEqual(announced, ['NTLM CORP\\carol']);
  });

  test('a proxy that keeps challenging is cut off after a few rounds', async () => {
    const h = authenticator('http://proxy:3128').handshake();
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) await h.next(parseChallenges(['Negotiate']));
    };
    await rejects(loop());
  });
});

describe('forwarding mode with a connection-bound scheme', () => {
  test('is refused with an error naming the scheme and saying what works (https gateway / CONNECT)', () => {
    const route = new ProxyRoute('p', parseProxy('http://CORP%5Ccarol:pw@proxy:3128', '--proxy'), {}, () => undefined);
    assert.equal(route.forwardRefusal(), undefined, 'nothing known yet: forwarding is tried');
    route.auth!.scheme = 'NTLM';
    const err = route.forwardRefusal();
    assert.ok(err instanceof ProxyAuthError);
    assert.match(err.message, /authenticates with NTLM, which this client supports through CONNECT tunnels only/);
    assert.match(err.message, /https:\/\/ gateway/);
  });
});
