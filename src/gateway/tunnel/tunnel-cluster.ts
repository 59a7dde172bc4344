/**
 * What the tunnel side asks of a scale-out cluster (gateway/cluster/, docs/scale-out.md),
 * and nothing more: whether a `register` may go ahead given what the other replicas hold
 * (name ownership, the per-user cap, a resume of a session another replica held). Without
 * `--redis` there is no cluster and registers are decided locally alone.
 */
import type { RegisterEnvelope } from '../../protocol/envelope.js';
import type { TunnelErrorCode } from '../../protocol/error-codes.js';
import type { Principal } from '../http/auth.js';

export type Admission = { kind: 'refused'; code: TunnelErrorCode; message: string } | { kind: 'go' };

export interface TunnelCluster {
  /**
   * Before the registry decides a register: refuse it, or let it go ahead — after making
   * room (a session of the same name and subject on another replica is ended there) or
   * after taking over a session another replica held (it is then in the registry to resume).
   */
  admit(principal: Principal, reg: RegisterEnvelope): Promise<Admission>;
}

/**
 * What must outlive the replica for a tunnel session to resume on another one
 * (gateway/cluster/session-journal.ts): frames queued for the client, the client's acks,
 * and the last seq delivered from it. Reliable-mode sessions only.
 */
export interface SessionJournal {
  queued(seq: number, body: string): void;
  acked(peerAck: number): void;
  delivered(seq: number): void;
}
