/**
 * `Mcp-Param-{Name}` headers (S/…/streamable-http, "Custom Headers from Tool Parameters"):
 * a tool may mark primitive arguments with `x-mcp-header` in its inputSchema, and clients
 * must mirror those arguments into headers so intermediaries can route on them. Whoever
 * reads the body must check that the headers match it (-32020 otherwise) — the gateway
 * reads the body, so it checks, against the tool's schema as last listed through it.
 */
import { decodeHeaderValue } from '../../protocol/mcp-modern.js';

export interface HeaderDeclaration {
  /** `{Name}` of `Mcp-Param-{Name}`. */
  name: string;
  /** The chain of `properties` keys from the schema root to the argument. */
  path: string[];
  numeric: boolean;
}

/** RFC 9110 token characters (the constraint on `x-mcp-header` values). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Nested `properties` levels searched for declarations (schemas are depth-bounded on entry anyway). */
const MAX_PATH = 16;

/**
 * The header declarations of one tool; undefined when a declaration breaks the spec's
 * constraints (the spec has clients drop such a tool; the gateway then checks nothing).
 */
export function declarationsOf(inputSchema: unknown): HeaderDeclaration[] | undefined {
  const out: HeaderDeclaration[] = [];
  const seen = new Set<string>();
  const stack: Array<{ schema: unknown; path: string[] }> = [{ schema: inputSchema, path: [] }];
  while (stack.length > 0) {
    const { schema, path } = stack.pop()!;
    const props = isObj(schema) && isObj(schema.properties) ? schema.properties : undefined;
    if (!props || path.length >= MAX_PATH) continue;
    for (const [key, sub] of Object.entries(props)) {
      if (!isObj(sub)) continue;
      const header = sub['x-mcp-header'];
      if (header !== undefined) {
        const type = sub.type;
        if (typeof header !== 'string' || !TOKEN.test(header) || seen.has(header.toLowerCase())) return undefined;
        if (type !== 'string' && type !== 'integer' && type !== 'boolean') return undefined;
        seen.add(header.toLowerCase());
        out.push({ name: header, path: [...path, key], numeric: type === 'integer' });
      }
      stack.push({ schema: sub, path: [...path, key] });
    }
  }
  return out;
}

/**
 * A sentence saying which header disagrees with the arguments, or undefined when all
 * agree. `header(name)` reads `Mcp-Param-{name}` (header names are case-insensitive).
 */
export function checkParamHeaders(decls: readonly HeaderDeclaration[], args: unknown, header: (name: string) => string | undefined): string | undefined {
  for (const d of decls) {
    const value = valueAt(args, d.path);
    if (value === undefined || value === null) continue; // the client omits it; a stray header is ignored
    const body = primitive(value);
    if (body === undefined) continue;
    const raw = header(d.name);
    if (raw === undefined) return `argument ${d.path.join('.')} is in the body but the Mcp-Param-${d.name} header is missing`;
    const decoded = decodeHeaderValue(raw.trim());
    if (decoded === undefined) return `the Mcp-Param-${d.name} header carries an invalid =?base64?…?= value`;
    const same = d.numeric ? Number(decoded) === Number(body) && decoded.trim() !== '' : decoded === body;
    if (!same) return `the Mcp-Param-${d.name} header says "${decoded}" but argument ${d.path.join('.')} is "${body}"`;
  }
  return undefined;
}

/** Declarations per tool name of one server, learned from the `tools/list` answers passing through. */
export class ToolHeaderIndex {
  private readonly tools = new Map<string, HeaderDeclaration[]>();

  /** One page of a tools/list result. */
  learn(result: unknown): void {
    const tools = isObj(result) && Array.isArray(result.tools) ? result.tools : [];
    for (const t of tools) {
      if (!isObj(t) || typeof t.name !== 'string') continue;
      const decls = declarationsOf(t.inputSchema);
      if (decls && decls.length > 0) this.tools.set(t.name, decls);
      else this.tools.delete(t.name);
    }
  }

  get(tool: string): readonly HeaderDeclaration[] {
    return this.tools.get(tool) ?? [];
  }

  /** tools/list_changed, or a new server process: what we knew may be stale. */
  clear(): void {
    this.tools.clear();
  }
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isObj(node)) return undefined;
    node = node[key];
  }
  return node;
}

function primitive(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v))) return String(v);
  return undefined;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
