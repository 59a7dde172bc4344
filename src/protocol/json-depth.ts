/**
 * A bound on how deeply a peer's JSON may nest. JSON.parse copes with any depth, but
 * what comes after recurses (JSON.stringify, structuredClone, schema validators): 5,000
 * levels inside `params` ended as "Maximum call stack size exceeded". Every entry point
 * checks parsed input here, without recursion, and refuses deeper messages with a clear
 * error (docs/gateway.md, "Limits").
 */

/** Levels of objects and arrays one JSON-RPC message may nest (the message itself is level 1). */
export const MAX_JSON_DEPTH = 128;

/** Whether `value` nests objects/arrays more than `max` levels deep. Iterative: depth is attacker-controlled. */
export function exceedsDepth(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item === 'object' && item !== null) {
          values.push(item as object);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        if (typeof item === 'object' && item !== null) {
          values.push(item);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

export function tooDeepMessage(what: string): string {
  return `${what} is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`;
}
