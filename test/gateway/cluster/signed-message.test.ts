/**
 * What replicas send each other is signed and addressed (gateway/cluster/signed-message.ts):
 * without the secret nothing is accepted, and a message for another replica, a stale one
 * or an altered one is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterKey, REPLAY_WINDOW_MS, sign, verify } from '../../../src/gateway/cluster/signed-message.js';

const key = clusterKey('the-shared-cluster-secret');
const now = 1_800_000_000_000;
const msg = { t: 'xreq', from: 'A', to: 'B', ts: now, principal: { subject: 'carol', isAdmin: false } };

describe('signed cluster messages', () => {
  it('a message signed with the cluster key verifies at its addressee', () => {
    const v = verify<typeof msg>(key, sign(key, msg), 'B', now);
    assert.ok(v.ok);
    assert.deepEqual(v.msg, msg);
  });

  it('refused: another key, another addressee, outside the replay window, altered, or not signed at all', () => {
    const text = sign(key, msg);
    assert.deepEqual(verify(clusterKey('another-secret'), text, 'B', now), { ok: false, reason: 'bad signature' });
    assert.deepEqual(verify(key, text, 'C', now), { ok: false, reason: 'addressed to another replica' });
    assert.deepEqual(verify(key, text, 'B', now + REPLAY_WINDOW_MS + 1), { ok: false, reason: 'outside the replay window' });
    // Acting as an admin by editing the JSON breaks the MAC.
    assert.deepEqual(verify(key, text.replace('"isAdmin":false', '"isAdmin":true'), 'B', now), { ok: false, reason: 'bad signature' });
    assert.deepEqual(verify(key, JSON.stringify(msg), 'B', now), { ok: false, reason: 'not a signed message' });
  });
});
