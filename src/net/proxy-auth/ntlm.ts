/**
 * NTLM (v2 when the proxy's challenge asks for it) proxy authentication. The message
 * formats come from @ewsjs/ntlm-client (maintained fork of node-ntlm-client, pure JS; its
 * 3.x computes MD4 and DES itself, since OpenSSL 3 — Node 17+ — refuses `md4`). We only
 * drive it: type 1 → the proxy's type 2 → type 3, all on one kept-alive connection.
 */
import os from 'node:os';
import ntlm from '@ewsjs/ntlm-client';
import type { ProxyCredentials } from './credentials.js';
import type { AuthSession } from './session.js';

/** `DOMAIN\user` → domain + user; `user@domain` and a bare `user` go as they are. */
export function splitDomainUser(user: string): { domain: string; user: string } {
  const i = user.indexOf('\\');
  return i > 0 ? { domain: user.slice(0, i), user: user.slice(i + 1) } : { domain: '', user };
}

/**
 * Decode the proxy's type 2 message, tolerantly where curl is: the target name is not
 * used (the domain comes from the user name), so a target-name field pointing outside
 * the message (squid's ntlm_fake_auth sends an uninitialised offset) is dropped instead
 * of failing. The answer is always NTLMv2 (no LM/NTLMv1 responses, no DES), with the
 * proxy's target info block when it sent one.
 */
function readType2(param: string): ntlm.Type2Message {
  const buf = Buffer.from(param, 'base64');
  if (buf.length >= 32) {
    const length = buf.readUInt16LE(12);
    const offset = buf.readUInt32LE(16);
    if (length > 0 && (offset < 32 || offset + length > buf.length)) buf.fill(0, 12, 20);
  }
  const message = ntlm.decodeType2Message(buf.toString('base64'));
  message.version = 2;
  message.targetInfo ??= { buffer: Buffer.alloc(0) };
  return message;
}

/** NetBIOS-style workstation name: ASCII, upper case, at most 15 characters. */
function workstation(): string {
  return os.hostname().split('.')[0]!.replace(/[^A-Za-z0-9-]/g, '').slice(0, 15).toUpperCase() || 'WORKSTATION';
}

export function ntlmSession(credentials: ProxyCredentials): AuthSession {
  const { domain, user } = splitDomainUser(credentials.user);
  const host = workstation();
  let state: 'new' | 'negotiated' | 'authenticated' = 'new';
  return {
    scheme: 'NTLM',
    principal: domain ? `${domain}\\${user}` : user,
    initial() {
      state = 'negotiated';
      return Promise.resolve(ntlm.createType1Message(host, domain));
    },
    respond(param) {
      // A bare `NTLM` after our type 3 (or instead of a type 2) is the proxy saying no.
      if (state !== 'negotiated' || param === '') return Promise.resolve(undefined);
      state = 'authenticated';
      try {
        const challenge = readType2(param);
        // Without a domain in the user name, NTLMv2 uses the proxy's target name.
        return Promise.resolve(ntlm.createType3Message(challenge, user, credentials.password, host, domain || undefined));
      } catch (err) {
        // The library reads offsets and lengths from the proxy's message: anything odd throws.
        return Promise.reject(new Error(`the proxy sent a malformed NTLM challenge (${(err as Error).message.slice(0, 80)})`));
      }
    },
  };
}
