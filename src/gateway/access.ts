/**
 * Who may do what with a tunnel session. One place, so the ownership rules that come
 * later (per-server ACLs, teams) change here and nowhere else.
 */
import type { Principal } from './auth.js';

interface Owned {
  readonly owner: string;
}

/** Listing and the catalog: the owner and admins. */
export function canSee(principal: Principal, session: Owned): boolean {
  return principal.isAdmin || principal.subject === session.owner;
}

/** Deleting a session or sending it raw JSON-RPC through the admin API. */
export function canManage(principal: Principal, session: Owned): boolean {
  return principal.isAdmin || principal.subject === session.owner;
}

/** Using a server through its MCP endpoint. For now any authenticated user may (seam for ACLs). */
export function canUse(_principal: Principal, _session: Owned): boolean {
  return true;
}
