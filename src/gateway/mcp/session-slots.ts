/**
 * `--max-mcp-sessions-per-user`: how many long-lived MCP holdings one token subject may
 * have at once, over all servers and both eras — a 2025 session, a 2026-07-28
 * `subscriptions/listen` stream, or a 2026-07-28 call parked for its MRTR retry each hold
 * one slot. A slot is taken before anything awaits, so concurrent requests cannot both
 * take the last one.
 */
export class SessionSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly limit: number) {}

  /** Slots `subject` holds now. */
  count(subject: string): number {
    return this.held.get(subject) ?? 0;
  }

  /** A slot, as its release function (safe to call twice); undefined when none is left. */
  take(subject: string): (() => void) | undefined {
    const n = this.count(subject);
    if (n >= this.limit) return undefined;
    this.held.set(subject, n + 1);
    let taken = true;
    return () => {
      if (!taken) return;
      taken = false;
      const left = this.count(subject) - 1;
      if (left > 0) this.held.set(subject, left);
      else this.held.delete(subject);
    };
  }
}
