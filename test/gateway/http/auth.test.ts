import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, decodeJwt } from 'jose';
import { mintToken, verifyToken, TokenError, DEFAULT_TOKEN_EXP_MINUTES } from '../../../src/gateway/http/auth.js';

const secret = 'test-secret-0123456789';
const cfg = { secret };

async function rejects(header: string | undefined, reason: TokenError['reason'], c = cfg): Promise<void> {
  await assert.rejects(verifyToken(header, c), (err: unknown) => {
    assert.ok(err instanceof TokenError, `expected TokenError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.code, 'ERR_AUTH_REJECTED');
    if (header) assert.ok(!err.message.includes(header.replace(/^Bearer\s+/i, '')), 'the token never appears in the message');
    return true;
  });
}

test('mint + verify roundtrip with ContextForge claims', async () => {
  const token = await mintToken({ username: 'alice@example.com', secret });
  const claims = decodeJwt(token);
  assert.equal(claims.sub, 'alice@example.com');
  assert.equal(claims.username, 'alice@example.com');
  assert.equal(claims.iss, 'mcpgateway');
  assert.equal(claims.aud, 'mcpgateway-api');
  assert.equal(typeof claims.jti, 'string');
  assert.equal(claims.exp! - claims.iat!, DEFAULT_TOKEN_EXP_MINUTES * 60);
  assert.equal(claims.is_admin, undefined);
  assert.deepEqual(await verifyToken(`Bearer ${token}`, cfg), { subject: 'alice@example.com', isAdmin: false });
});

test('admin flag', async () => {
  const token = await mintToken({ username: 'root', secret, admin: true });
  assert.deepEqual(await verifyToken(`Bearer ${token}`, cfg), { subject: 'root', isAdmin: true });
});

test('expMinutes 0 mints a token without exp (ContextForge behaviour)', async () => {
  const token = await mintToken({ username: 'bob', secret, expMinutes: 0 });
  assert.equal(decodeJwt(token).exp, undefined);
  assert.equal((await verifyToken(`Bearer ${token}`, cfg)).subject, 'bob');
});

test('subject falls back to username, then email', async () => {
  const key = new TextEncoder().encode(secret);
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('mcpgateway').setAudience('mcpgateway-api').sign(key);
  assert.equal((await verifyToken(`Bearer ${await sign({ username: 'u1' })}`, cfg)).subject, 'u1');
  assert.equal((await verifyToken(`Bearer ${await sign({ email: 'e@x' })}`, cfg)).subject, 'e@x');
  await rejects(`Bearer ${await sign({})}`, 'invalid_claims');
});

test('expired', async () => {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ username: 'old' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('old')
    .setIssuer('mcpgateway')
    .setAudience('mcpgateway-api')
    .setIssuedAt(now - 7200)
    .setExpirationTime(now - 3600)
    .sign(new TextEncoder().encode(secret));
  await rejects(`Bearer ${token}`, 'expired');
});

test('wrong secret', async () => {
  const token = await mintToken({ username: 'alice', secret: 'another-secret' });
  await rejects(`Bearer ${token}`, 'bad_signature');
});

test('wrong audience', async () => {
  const token = await mintToken({ username: 'alice', secret, audience: 'someone-else' });
  await rejects(`Bearer ${token}`, 'wrong_audience');
});

test('wrong issuer', async () => {
  const token = await mintToken({ username: 'alice', secret, issuer: 'evil' });
  await rejects(`Bearer ${token}`, 'wrong_issuer');
});

test('custom issuer and audience verify when configured', async () => {
  const token = await mintToken({ username: 'alice', secret, issuer: 'me', audience: 'you' });
  assert.equal((await verifyToken(`Bearer ${token}`, { secret, issuer: 'me', audience: 'you' })).subject, 'alice');
});

test('missing header', async () => {
  await rejects(undefined, 'missing');
  await rejects('', 'missing');
});

test('malformed', async () => {
  const token = await mintToken({ username: 'alice', secret });
  await rejects(`Basic ${Buffer.from('a:b').toString('base64')}`, 'malformed');
  await rejects(token, 'malformed'); // no "Bearer "
  await rejects('Bearer not.a.jwt', 'malformed');
  await rejects('Bearer abc', 'malformed');
});
