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

/**
 * Using a server through its MCP endpoint: its owner (the token subject that registered
 * it) and admins; every authenticated user when the gateway runs with `--open-servers`.
 */
export function canUse(principal: Principal, session: Owned, openServers = false): boolean {
  return openServers || principal.isAdmin || principal.subject === session.owner;
}
