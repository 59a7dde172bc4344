/**
 * `resources/subscribe` shared by many MCP clients on one tunneled server. The server sees
 * one subscriber per URI (the gateway): the first client's subscribe goes upstream, later
 * ones are answered here; the unsubscribe goes upstream when the last subscriber of a URI
 * leaves (or disconnects). `notifications/resources/updated` is delivered only to the
 * clients subscribed to its URI — a stdio server cannot tell its clients apart, so without
 * this table every client would see every other client's updates.
 */
export class ResourceSubscriptions {
  private readonly byUri = new Map<string, Set<string>>();

  /** Add `clientId` to `uri`; true when it is the URI's first subscriber (subscribe upstream). */
  add(clientId: string, uri: string): boolean {
    let set = this.byUri.get(uri);
    const first = set === undefined || set.size === 0;
    if (!set) this.byUri.set(uri, (set = new Set()));
    set.add(clientId);
    return first;
  }

  /** Remove `clientId` from `uri`; true when that left the URI with no subscriber (unsubscribe upstream). */
  remove(clientId: string, uri: string): boolean {
    const set = this.byUri.get(uri);
    if (!set?.delete(clientId)) return false;
    if (set.size > 0) return false;
    this.byUri.delete(uri);
    return true;
  }

  /** A client left: the URIs nobody is subscribed to any more. */
  removeClient(clientId: string): string[] {
    const emptied: string[] = [];
    for (const uri of [...this.byUri.keys()]) if (this.remove(clientId, uri)) emptied.push(uri);
    return emptied;
  }

  subscribers(uri: string): ReadonlySet<string> {
    return this.byUri.get(uri) ?? new Set();
  }

  /** Every URI with at least one subscriber (re-subscribed on a fresh tunnel session). */
  uris(): string[] {
    return [...this.byUri.keys()];
  }
}
